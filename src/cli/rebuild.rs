//! `fundledger rebuild`: replay the whole log into a new generation of the books, with
//! progress, then swap it in. For a running service use `AdminService.RebuildProjection`.

use std::sync::Arc;

use anyhow::Context;

use crate::log::{Log, LogConfig};
use crate::projections::Ledger;

/// Arguments of `fundledger rebuild`.
#[derive(Debug, clap::Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    data: super::DataDir,
}

/// Rebuilds, printing progress lines to stderr and the result to stdout.
pub fn run(args: RebuildArgs) -> anyhow::Result<()> {
    super::existing_store(&args.data.path)?;
    let log = Arc::new(
        Log::open(&LogConfig::new(&args.data.path))
            .with_context(|| format!("opening the log in {}", args.data.path.display()))?,
    );
    let ledger = Ledger::open(
        Arc::clone(&log),
        &args.data.path.join(super::serve::PROJECTIONS_DIRECTORY),
    )
    .context("opening the books")?;
    let projector = ledger.projector();
    let from = projector.generation();
    let done = projector.rebuild(&mut |progress| {
        let percent = if progress.head == 0 {
            100.0
        } else {
            progress.position as f64 * 100.0 / progress.head as f64
        };
        eprintln!(
            "rebuild generation {}: position {} / {} ({percent:.1}%), {:.0} events/s, ETA {:.1} s",
            progress.generation,
            progress.position,
            progress.head,
            progress.events_per_second,
            progress.eta_seconds
        );
    })?;
    println!(
        "rebuilt the books: generation {from} -> {}, {} events at {:.0} events/s",
        done.generation, done.position, done.events_per_second
    );
    log.shutdown()?;
    Ok(())
}
