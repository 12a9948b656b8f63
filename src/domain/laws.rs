//! Laws (proptest) over the decisions: filled in below.
