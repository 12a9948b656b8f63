//! The command-line entry points behind the `fundledger` binary: clap commands that wire
//! the library together. Nothing here is needed by a library user.
//!
//! # Layout
//! - `serve.rs`: `fundledger serve`, the gRPC service.
//! - `demo.rs`: `fundledger demo`, the canonical scenarios over gRPC and their reports.
//! - `verify.rs`: `fundledger verify`, the chain check.
//! - `rebuild.rs`: `fundledger rebuild`, offline projection rebuild with progress.
//! - `export.rs`: `fundledger export`, events as JSON lines, reports as CSV.
//! - `bench.rs`: `fundledger bench …`, the benchmarks that print figures.
//! - `bench_grpc.rs`: `fundledger bench grpc`.
//! - `bench_projections.rs`: `fundledger bench projections`.
//! - `token.rs`: `fundledger token hash`, the access config line of a token.

mod bench;
mod bench_grpc;
mod bench_projections;
mod demo;
mod export;
mod rebuild;
mod serve;
mod token;
mod verify;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Exit code: the log is corrupt (a verify or an open found a broken chain).
pub const EXIT_CORRUPT: u8 = 3;
/// Exit code: any other failure.
pub const EXIT_FAILURE: u8 = 1;

/// fundledger: the event-sourced ledger of the merged maternity and employee basic medical
/// insurance fund.
#[derive(Debug, Parser)]
#[command(name = "fundledger", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC service on an embedded sled store.
    Serve(serve::ServeArgs),
    /// Run the five canonical regional scenarios against a temporary server over gRPC and
    /// print each region's report as of its key dates.
    Demo(demo::DemoArgs),
    /// Recompute the log's hash chain and print the head digest.
    Verify(verify::VerifyArgs),
    /// Replay the log into a new generation of the books (service stopped), with progress.
    Rebuild(rebuild::RebuildArgs),
    /// Export events as JSON lines, or a region report as CSV.
    Export(export::ExportArgs),
    /// Run a benchmark and print its figures.
    Bench(bench::BenchArgs),
    /// Make access config entries: `token hash` reads a token from standard input and
    /// prints its `argon2 = "..."` line.
    Token(token::TokenArgs),
}

/// The data directory option shared by the subcommands.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDir {
    /// The sled data directory.
    #[arg(long = "data", env = "FUNDLEDGER_DATA", default_value = "./data")]
    pub path: PathBuf,
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Rebuild(args) => rebuild::run(args),
        Command::Export(args) => export::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Token(args) => token::run(args),
    }
}

/// The exit code for an error: [`EXIT_CORRUPT`] for a broken chain, else [`EXIT_FAILURE`].
pub fn exit_code(error: &anyhow::Error) -> u8 {
    match error.downcast_ref::<crate::log::Error>() {
        Some(crate::log::Error::Corrupt { .. }) => EXIT_CORRUPT,
        _ => EXIT_FAILURE,
    }
}
