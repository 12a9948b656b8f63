//! Projections (to come).
