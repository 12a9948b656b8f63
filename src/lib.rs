//! fundledger: an event-sourced ledger for the merged maternity insurance (生育保险) and
//! employee basic medical insurance (职工基本医疗保险) fund of Chinese pooling regions.
//!
//! # Layout
//! - [`domain`]: rulebook, commands, events, decisions, postings, money. Pure; no I/O.
//! - [`log`]: the durable, hash-chained event log on sled.
//! - [`projections`]: read models folded from the log, as of any date.
//! - [`api`]: the tonic gRPC services.
//! - [`cli`]: the command-line entry points behind the `fundledger` binary.

#![deny(clippy::unwrap_used, clippy::expect_used, unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod cli;
pub mod domain;
pub mod log;
pub mod projections;
