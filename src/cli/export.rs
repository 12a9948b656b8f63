//! `fundledger export`: the raw events as JSON lines, or a region report as CSV.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::domain::RegionId;
use crate::log::{Envelope, Log, LogConfig, OpenCheck};
use crate::projections::{Ledger, report, stored};

/// Arguments of `fundledger export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    data: super::DataDir,
    /// What to export.
    #[command(subcommand)]
    what: Export,
}

#[derive(Debug, clap::Subcommand)]
enum Export {
    /// Events from a position, one JSON object per line: envelope, hashes and the event.
    Events {
        /// The first position.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// The most events to write.
        #[arg(long, default_value_t = u64::MAX)]
        limit: u64,
    },
    /// A region's balances and lines as of a date, as CSV (`section,name,value`).
    Report {
        /// The region, e.g. `beijing` or `gansu-lanzhou`.
        #[arg(long)]
        region: String,
        /// The business date.
        #[arg(long)]
        as_of: jiff::civil::Date,
        /// The books as they stood at this log position (default: now).
        #[arg(long)]
        known_at: Option<u64>,
    },
}

/// Writes the export to stdout.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    super::existing_store(&args.data.path)?;
    match &args.what {
        Export::Events { from, limit } => export_events(&args.data.path, *from, *limit),
        Export::Report {
            region,
            as_of,
            known_at,
        } => export_report(&args.data.path, region, *as_of, *known_at),
    }
}

/// Writes the events as JSON lines. The log is opened to salvage it ([`LogConfig::salvage`]):
/// from a damaged store every event up to the first unreadable one is written, and then the
/// damage is reported (exit code 3), so an operator can recover what remains.
fn export_events(path: &Path, from: u64, limit: u64) -> anyhow::Result<()> {
    let mut config = LogConfig::new(path);
    config.open_check = OpenCheck::Tail;
    config.salvage = true;
    let log =
        Log::open(&config).with_context(|| format!("opening the log in {}", path.display()))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut written = 0u64;
    let mut read = || -> anyhow::Result<()> {
        for envelope in log.read_range(from, limit) {
            writeln!(out, "{}", event_line(&envelope?))?;
            written += 1;
        }
        Ok(())
    };
    let read = read();
    out.flush()?;
    let damaged = |error: anyhow::Error| {
        error.context(format!(
            "wrote the {written} intact events from position {from} before the damage"
        ))
    };
    match (read, log.take_damage()) {
        (Err(error), _) => Err(damaged(error)),
        (Ok(()), Some(damage)) => Err(damaged(damage.into())),
        (Ok(()), None) => Ok(()),
    }
}

/// One event as a JSON object: envelope, hashes and the decoded event.
fn event_line(envelope: &Envelope) -> serde_json::Value {
    let event = stored::from_envelope(envelope)
        .map(|event| serde_json::to_value(event).unwrap_or_default())
        .unwrap_or_else(|error| serde_json::json!({ "undecodable": error.to_string() }));
    serde_json::json!({
        "position": envelope.position,
        "stream_id": envelope.stream_id,
        "stream_version": envelope.stream_version,
        "event_type": envelope.event_type,
        "schema_version": envelope.schema_version,
        "business_date": envelope.business_date.to_string(),
        "recorded_at": envelope.recorded_at.to_string(),
        "command_id": envelope.command_id,
        "actor": envelope.actor,
        "previous_hash": hex::encode(envelope.previous_hash),
        "hash": hex::encode(envelope.hash),
        "event": event,
    })
}

/// Writes a region's report as CSV.
fn export_report(
    path: &Path,
    region: &str,
    as_of: jiff::civil::Date,
    known_at: Option<u64>,
) -> anyhow::Result<()> {
    let mut config = LogConfig::new(path);
    config.open_check = OpenCheck::Tail;
    let log = Arc::new(
        Log::open(&config).with_context(|| format!("opening the log in {}", path.display()))?,
    );
    // The books of an empty log would be opened by appending the genesis rulebook: a
    // report never writes to the log it reports on.
    anyhow::ensure!(
        log.head().position > 0,
        "the log in {} is empty: there are no books to report",
        path.display()
    );
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let ledger = Ledger::open(
        Arc::clone(&log),
        &path.join(super::serve::PROJECTIONS_DIRECTORY),
    )?;
    let books = ledger.projector().as_known(known_at.unwrap_or(u64::MAX))?;
    let region = RegionId::new(region.to_owned());
    books.undamaged(&region)?;
    let report = report::region_report(&books, &books.rulebook(), &region, as_of)?;
    writeln!(out, "section,name,value")?;
    writeln!(out, "report,region,{}", report.region)?;
    writeln!(out, "report,as_of,{}", report.as_of)?;
    writeln!(out, "report,known_at_position,{}", report.known_at_position)?;
    for line in &report.balances {
        writeln!(out, "balance,{},{}", line.account, line.balance)?;
    }
    let lines = serde_json::to_value(&report.lines)?;
    if let Some(fields) = lines.as_object() {
        for (name, value) in fields {
            let value = value
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string());
            writeln!(out, "lines,{name},{value}")?;
        }
    }
    let statistics = serde_json::to_value(&report.statistics)?;
    if let Some(fields) = statistics.as_object() {
        for (name, value) in fields {
            writeln!(out, "statistics,{name},{value}")?;
        }
    }
    writeln!(
        out,
        "risk,pooled_fund_balance,{}",
        report.risk.pooled_fund_balance
    )?;
    writeln!(out, "risk,band,{}", report.risk.band)?;
    out.flush()?;
    Ok(())
}
