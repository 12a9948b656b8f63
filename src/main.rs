//! The `fundledger` binary: see `fundledger --help`.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc (its v2 line), not the system allocator: with glibc's, the log's writer blocked
/// on malloc's arena locks when it freed what the threads submitting appends had allocated
/// (seen as context switches inside `free` under load). Measured with `bench`: 64
/// concurrent appenders 32-34k -> 36-41k events/s, 15-25% less CPU per append; mimalloc's
/// v3 line made `Enroll` over gRPC slower than glibc, so v2 it is. It costs memory: a 10M
/// rebuild peaks at 640-680 MiB instead of 515-545.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = fundledger::cli::Cli::parse();
    fundledger::cli::init_tracing();
    match fundledger::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fundledger: {error:#}");
            ExitCode::from(fundledger::cli::exit_code(&error))
        }
    }
}
