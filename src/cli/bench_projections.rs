//! `fundledger bench projections`: writes a synthetic region history through the real
//! command path, then measures a full rebuild of the books (events/s, memory) and as-of /
//! as-known query latency.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::domain::command::assess::AssessContributions;
use crate::domain::command::migrate::{MigrateEnrollments, MigrationRecord};
use crate::domain::command::register_employer::RegisterEmployer;
use crate::domain::{Command, EmployerCategory, EmployerId, Month, PersonId, RegionId, Yuan};
use crate::log::{Log, LogConfig, OpenCheck, digest};
use crate::projections::{CommandMeta, Ledger, report};

const REGION: &str = "gansu-lanzhou";
/// Persons per employer: keeps each employer's stream short.
const PERSONS_PER_EMPLOYER: u64 = 10_000;
/// How often the rebuild's memory is printed, in events.
const RSS_REPORT_EVENTS: u64 = 1_000_000;

fn meta(command_id: String) -> CommandMeta {
    CommandMeta {
        request_digest: digest(command_id.as_bytes()),
        command_id,
        actor: "bench".to_owned(),
        expected: Vec::new(),
    }
}

fn employer_id(index: u64) -> EmployerId {
    EmployerId::new(format!("bench-employer-{index}"))
}

fn register(ledger: &Ledger, employer: u64) -> anyhow::Result<()> {
    let command: Command = RegisterEmployer {
        employer: employer_id(employer),
        region: RegionId::new(REGION),
        category: EmployerCategory::Enterprise,
        name: format!("Bench employer {employer}"),
        registered_on: jiff::civil::date(2018, 1, 2),
        average_monthly_wage: Yuan::parse("wage", "6000")?,
    }
    .into();
    ledger.execute(&command, &meta(format!("bench-register-{employer}")))?;
    Ok(())
}

/// Migrates `batch` persons of one employer (one event each), then assesses them for
/// 2019-10 (one event per 200 persons): the history grows by about `batch` events.
fn grow(ledger: &Ledger, batch_index: u64, batch: u64) -> anyhow::Result<()> {
    let first = batch_index * batch;
    let employer = first / PERSONS_PER_EMPLOYER;
    if first.is_multiple_of(PERSONS_PER_EMPLOYER) {
        register(ledger, employer)?;
    }
    let persons: Vec<PersonId> = (first..first + batch)
        .map(|index| PersonId::new(format!("bench-person-{index}")))
        .collect();
    let migrate: Command = MigrateEnrollments {
        region: RegionId::new(REGION),
        agency: "bench".to_owned(),
        migrated_on: jiff::civil::date(2019, 9, 1),
        records: persons
            .iter()
            .map(|person| MigrationRecord {
                person: person.clone(),
                employer: employer_id(employer),
                held_bmi: true,
                held_maternity: true,
                insured_since: jiff::civil::date(2018, 1, 2),
            })
            .collect(),
    }
    .into();
    ledger.execute(&migrate, &meta(format!("bench-migrate-{batch_index}")))?;
    let assess: Command = AssessContributions {
        employer: employer_id(employer),
        region: RegionId::new(REGION),
        month: Month::new(2019, 10)?,
        persons,
        booked_on: jiff::civil::date(2019, 10, 10),
    }
    .into();
    ledger.execute(&assess, &meta(format!("bench-assess-{batch_index}")))?;
    Ok(())
}

/// This process's resident and peak resident memory, in MiB, from /proc.
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn millis(sorted: &[Duration], fraction: f64) -> f64 {
    super::bench::percentile(sorted, fraction)
}

/// What `bench projections` runs on.
#[derive(Debug)]
pub struct Options {
    /// How many events the history holds.
    pub events: u64,
    /// Persons per migration command.
    pub batch: u64,
    /// Queries of each kind to time.
    pub queries: usize,
    /// A directory to keep and reuse the store in; a temporary one if `None`.
    pub data: Option<PathBuf>,
}

/// Writes the history through the command path until the log holds `events` events. The
/// command ids are deterministic, so on a store generated before, the commands already
/// appended are recognised as retries and the history only grows to `events`.
fn generate(ledger: &Ledger, events: u64, batch: u64) -> anyhow::Result<()> {
    let log = ledger.log();
    let before = log.head().position;
    let started = Instant::now();
    let mut batch_index = 0;
    while log.head().position < events {
        grow(ledger, batch_index, batch)?;
        batch_index += 1;
        if batch_index % 100 == 0 {
            eprintln!("  generated {} events", log.head().position);
        }
    }
    let head = log.head().position;
    if head == before {
        println!("reused a history of {head} events");
        return Ok(());
    }
    println!(
        "generated {} events through the command path in {:.1} s ({:.0} events/s)",
        head - before,
        started.elapsed().as_secs_f64(),
        (head - before) as f64 / started.elapsed().as_secs_f64()
    );
    log.stream_version("bench/wait-for-index")?;
    Ok(())
}

/// Runs the benchmark.
pub fn projections_bench(options: &Options) -> anyhow::Result<()> {
    let temporary;
    let path = match &options.data {
        Some(path) => path.clone(),
        None => {
            temporary = tempfile::tempdir()?;
            temporary.path().to_path_buf()
        }
    };
    let events = options.events;
    let batch = options.batch;
    let queries = options.queries;
    let mut config = LogConfig::new(&path);
    config.open_check = OpenCheck::Tail;
    let log = Arc::new(Log::open(&config)?);
    let ledger = Ledger::open(
        Arc::clone(&log),
        &path.join(super::serve::PROJECTIONS_DIRECTORY),
    )?;
    println!("bench projections: {events} events in {REGION}, {batch} persons per command");
    generate(&ledger, events, batch)?;
    let head = log.head().position;
    let (rss, peak) = memory_mib();
    println!("memory before the rebuild: RSS {rss:.0} MiB (peak so far {peak:.0} MiB)");

    let started = Instant::now();
    let mut next_report = RSS_REPORT_EVENTS;
    let done = ledger.projector().rebuild(&mut |progress| {
        if progress.position >= next_report {
            next_report = progress.position + RSS_REPORT_EVENTS;
            let (rss, _) = memory_mib();
            eprintln!(
                "  rebuild at {}: {:.0} events/s so far, RSS {rss:.0} MiB",
                progress.position, progress.events_per_second
            );
        }
    })?;
    let elapsed = started.elapsed();
    let (rss, peak) = memory_mib();
    println!(
        "full rebuild: {} events in {:.2} s: {:.0} events/s; RSS after {rss:.0} MiB, peak {peak:.0} MiB",
        done.position,
        elapsed.as_secs_f64(),
        done.position as f64 / elapsed.as_secs_f64()
    );

    let region = RegionId::new(REGION);
    let mut as_of = Vec::with_capacity(queries);
    let mut as_known = Vec::with_capacity(queries);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..queries {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let date = jiff::civil::date(2019, 1, 1)
            .checked_add(jiff::Span::new().days((seed % 730) as i64))
            .unwrap_or(jiff::civil::date(2019, 12, 31));
        let begun = Instant::now();
        let books = ledger.projector().current()?;
        std::hint::black_box(report::region_report(
            &books,
            &books.rulebook(),
            &region,
            date,
        )?);
        as_of.push(begun.elapsed());
        let position = 1 + seed % head;
        let begun = Instant::now();
        let books = ledger.projector().as_known(position)?;
        std::hint::black_box(report::region_report(
            &books,
            &books.rulebook(),
            &region,
            date,
        )?);
        as_known.push(begun.elapsed());
    }
    as_of.sort_unstable();
    as_known.sort_unstable();
    println!(
        "as-of query (books at the head, report for a random date): p50 {:.2} ms, p99 {:.2} ms",
        millis(&as_of, 0.5),
        millis(&as_of, 0.99)
    );
    println!(
        "as-known query (books at a random position, from its checkpoint): p50 {:.2} ms, p99 {:.2} ms",
        millis(&as_known, 0.5),
        millis(&as_known, 0.99)
    );
    log.shutdown()?;
    Ok(())
}
