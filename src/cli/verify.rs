//! `fundledger verify`: recompute the hash chain and print the head digest.

use std::time::Instant;

use anyhow::Context;

use crate::log::{Head, Log, LogConfig, OpenCheck};

/// Arguments of `fundledger verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    data: super::DataDir,
    /// Start from a head digest exported earlier (`POSITION:HASH`) instead of position 1.
    #[arg(long)]
    trusted: Option<Head>,
}

/// Verifies the chain, printing progress to stderr and the head digest to stdout.
pub fn run(args: VerifyArgs) -> anyhow::Result<()> {
    super::existing_store(&args.data.path)?;
    let mut config = LogConfig::new(&args.data.path);
    config.open_check = OpenCheck::Tail;
    let log = Log::open(&config)
        .with_context(|| format!("opening the log in {}", args.data.path.display()))?;
    let head = log.head().position;
    let started = Instant::now();
    let report = log.verify(args.trusted, &mut |position| {
        eprintln!("verified {position} / {head}");
    })?;
    let seconds = started.elapsed().as_secs_f64();
    println!("head {}", report.head);
    println!(
        "verified {} events from position {} in {seconds:.2} s",
        report.events_verified, report.from_position
    );
    Ok(())
}
