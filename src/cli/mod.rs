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
//! - `bench_crash.rs`: `fundledger bench crash`.
//! - `bench_grpc.rs`: `fundledger bench grpc`.
//! - `bench_projections.rs`: `fundledger bench projections`.
//! - `token.rs`: `fundledger token hash`, the access config line of a token.

mod bench;
mod bench_crash;
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

/// Exit code: the store is damaged (a broken chain, a log shorter than its head record,
/// data the storage engine reads as corrupt): restore it from a copy.
pub const EXIT_CORRUPT: u8 = 3;
/// Exit code: the command could not run (any other failure).
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

/// Refuses a data directory that holds no log: `verify`, `rebuild` and `export` read a
/// store, and must not create an empty one at a mistyped path and report on it.
fn existing_store(path: &std::path::Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        crate::log::Log::exists(path),
        "no event log in {} (no sled `db` file there): check --data; this command reads a \
         store and never creates one",
        path.display()
    );
    Ok(())
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

/// The exit code for an error: [`EXIT_CORRUPT`] if anything in its chain says the stored
/// log is damaged ([`crate::log::Error::is_damage`]), else [`EXIT_FAILURE`].
pub fn exit_code(error: &anyhow::Error) -> u8 {
    let damaged = error
        .chain()
        .any(|cause| log_error_of(cause).is_some_and(crate::log::Error::is_damage));
    if damaged { EXIT_CORRUPT } else { EXIT_FAILURE }
}

/// The log error an error of the chain is or wraps transparently (the books' errors show
/// their log error as themselves, so the chain does not list it apart).
fn log_error_of<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a crate::log::Error> {
    use crate::projections::{ExecuteError, ProjectionError};
    let of_projection = |error: &'a ProjectionError| match error {
        ProjectionError::Log(error) => Some(error),
        _ => None,
    };
    if let Some(error) = cause.downcast_ref::<crate::log::Error>() {
        return Some(error);
    }
    if let Some(error) = cause.downcast_ref::<ProjectionError>() {
        return of_projection(error);
    }
    match cause.downcast_ref::<ExecuteError>()? {
        ExecuteError::Log(error) => Some(error),
        ExecuteError::Projection(error) => of_projection(error),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::log::{Error, Head};
    use crate::projections::{ExecuteError, ProjectionError};

    fn truncated() -> Error {
        Error::Truncated {
            recorded: Head {
                position: 400,
                hash: [1; 32],
            },
            found: 222,
        }
    }

    /// A damaged store exits 3 however the damage is wrapped; a failure to run exits 1.
    #[test]
    fn damage_exits_3_and_a_failure_to_run_exits_1() {
        let damaged = [
            anyhow::Error::new(truncated()).context("opening the log"),
            anyhow::Error::new(Error::from(sled::Error::Corruption { at: None, bt: () })),
            anyhow::Error::new(ProjectionError::Log(truncated())).context("opening the books"),
            anyhow::Error::new(ExecuteError::Projection(ProjectionError::Log(truncated()))),
        ];
        for error in &damaged {
            assert_eq!(exit_code(error), EXIT_CORRUPT, "{error:#}");
        }
        let failed = [
            anyhow::Error::new(Error::Io(std::io::Error::other("disk full"))),
            anyhow::Error::new(Error::WriterStopped).context("appending"),
            anyhow::anyhow!("no such file"),
        ];
        for error in &failed {
            assert_eq!(exit_code(error), EXIT_FAILURE, "{error:#}");
        }
    }
}
