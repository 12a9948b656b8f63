//! The `fundledger` binary: see `fundledger --help`.

use std::process::ExitCode;

use clap::Parser;

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
