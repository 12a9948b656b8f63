//! The `fundledger` binary.
fn main() {}
