//! The given / when / then test harness.
