//! `fundledger bench …`: benchmarks that print figures (events/s, latency percentiles).
//! They measure; they assert nothing, so a noisy machine cannot make a test flaky.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::log::{AppendRequest, Log, LogConfig, NewEvent, OpenCheck, digest};

/// Arguments of `fundledger bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Which benchmark.
    #[command(subcommand)]
    which: Bench,
}

/// The benchmarks.
#[derive(Debug, clap::Subcommand)]
enum Bench {
    /// Durable appends (batches of 1000; 64 concurrent single-event appenders) and replay.
    Log(LogBench),
    /// Commands over gRPC on loopback: concurrent clients, each sending enrollments.
    Grpc(GrpcBench),
    /// A synthetic history through the command path, then a full rebuild of the books and
    /// as-of / as-known query latency.
    Projections(ProjectionsBench),
    /// Kill/restart cycles of `serve` (SIGKILL) under concurrent gRPC clients; then every
    /// acknowledged command is looked up in the store and the chain verified.
    Crash(CrashBench),
}

/// Options of `bench crash`.
#[derive(Debug, clap::Args)]
struct CrashBench {
    /// Kill/restart cycles.
    #[arg(long, default_value_t = 20)]
    cycles: u32,
    /// Concurrent clients sending commands.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// The shortest time the clients run before the kill, in milliseconds.
    #[arg(long, default_value_t = 200)]
    min_run_ms: u64,
    /// The longest time the clients run before the kill, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    max_run_ms: u64,
    /// Keep the store in this directory (default: a temporary one, removed afterwards).
    #[arg(long)]
    data: Option<PathBuf>,
}

/// Options of `bench projections`.
#[derive(Debug, clap::Args)]
struct ProjectionsBench {
    /// How many events to generate.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Persons per migration command (one event each).
    #[arg(long, default_value_t = 1000)]
    batch: u64,
    /// How many queries of each kind to time.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Keep the store in this directory and reuse it: the history is generated only up to
    /// `--events` (default: a temporary directory, removed afterwards).
    #[arg(long)]
    data: Option<PathBuf>,
}

/// Options of `bench grpc`.
#[derive(Debug, clap::Args)]
struct GrpcBench {
    /// Concurrent clients, each with its own connection.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Commands each client sends, one after the other.
    #[arg(long, default_value_t = 200)]
    commands_per_client: usize,
}

/// Options of `bench log`.
#[derive(Debug, clap::Args)]
struct LogBench {
    /// Events appended in batches of `--batch` events.
    #[arg(long, default_value_t = 1_000_000)]
    batched_events: u64,
    /// Events per batch command.
    #[arg(long, default_value_t = 1000)]
    batch: u64,
    /// Threads submitting batch commands at once. Group commit merges their batches (up to
    /// 20 batches a commit), and flushes and fsyncs overlap the next commit, so fewer
    /// submitters than three commits' worth leave the writer waiting for acknowledgements.
    #[arg(long, default_value_t = 64)]
    submitters: u64,
    /// Events appended by the concurrent single-event appenders, in total.
    #[arg(long, default_value_t = 200_000)]
    single_events: u64,
    /// How many concurrent single-event appenders.
    #[arg(long, default_value_t = 64)]
    appenders: u64,
    /// Run the single-event appenders as OS threads, each blocked on its append, instead of
    /// tasks on a two-worker tokio runtime as the gRPC service's handlers are: waking 64
    /// threads costs more CPU than waking 64 tasks.
    #[arg(long)]
    appender_threads: bool,
    /// Payload bytes per event (the envelope adds about 60).
    #[arg(long, default_value_t = 90)]
    payload_bytes: usize,
    /// Where to put the store (default: a temporary directory, removed afterwards).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Events the concurrent single-event appenders append on a fresh store in each round of
    /// the head-record phase, once with the head record and once without (0: skip it).
    #[arg(long, default_value_t = 64_000)]
    head_record_events: u64,
    /// Rounds of the head-record phase; with and without alternate, so that a drift of the
    /// shared machine falls on both.
    #[arg(long, default_value_t = 3)]
    head_record_rounds: u64,
}

/// Runs a benchmark.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.which {
        Bench::Log(options) => log_bench(&options),
        Bench::Projections(options) => {
            super::bench_projections::projections_bench(&super::bench_projections::Options {
                events: options.events,
                batch: options.batch,
                queries: options.queries,
                data: options.data,
            })
        }
        Bench::Crash(options) => tokio::runtime::Runtime::new()?.block_on(
            super::bench_crash::crash_bench(&super::bench_crash::Options {
                cycles: options.cycles,
                clients: options.clients,
                run_milliseconds: (options.min_run_ms, options.max_run_ms),
                data: options.data,
            }),
        ),
        Bench::Grpc(options) => tokio::runtime::Runtime::new()?.block_on(
            super::bench_grpc::grpc_bench(options.clients, options.commands_per_client),
        ),
    }
}

fn bench_event(stream: String, payload_bytes: usize, sequence: u64) -> NewEvent {
    let mut payload = format!("{sequence:020}").into_bytes();
    payload.resize(payload_bytes, b'.');
    NewEvent {
        stream_id: stream,
        event_type: "BenchEvent".to_owned(),
        schema_version: 1,
        business_date: jiff::civil::date(2024, 1, 1),
        payload,
    }
}

fn bench_command(id: String, events: Vec<NewEvent>) -> AppendRequest {
    AppendRequest {
        request_digest: digest(id.as_bytes()),
        command_id: id,
        actor: "bench".to_owned(),
        expectations: Vec::new(),
        expected_head: None,
        events,
    }
}

fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(f64::EPSILON)
}

pub(super) fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Waits until the stream index has caught up with the head, and says how long that took:
/// appends are acknowledged before they are indexed (the indexer defers to a burst), so the
/// phase's `events` appended in `appended_in` and then indexed is the sustained figure.
fn wait_for_index(
    log: &Log,
    phase: &str,
    events: u64,
    appended_in: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let head = log.head().position;
    let lag = head - log.indexed_position();
    log.stream_version("bench/index-probe")?;
    let caught_up_in = started.elapsed();
    println!(
        "  stream index: {lag} events behind after the {phase} phase, caught up in {:.2} s; \
         appended and indexed: {:.0} events/s",
        caught_up_in.as_secs_f64(),
        rate(events, appended_in + caught_up_in)
    );
    Ok(())
}

/// CPU seconds (user + system) used so far: by each thread of this process, by thread name
/// (threads of one name summed), and by the whole process (with threads that have ended).
/// Linux only; empty and zero elsewhere.
struct CpuSeconds {
    threads: std::collections::BTreeMap<String, f64>,
    process: f64,
}

impl CpuSeconds {
    fn now() -> CpuSeconds {
        let mut threads = std::collections::BTreeMap::new();
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for task in tasks.flatten() {
                if let Some((name, used)) = stat_cpu_seconds(&task.path().join("stat")) {
                    *threads.entry(name).or_insert(0.0) += used;
                }
            }
        }
        CpuSeconds {
            threads,
            process: process_cpu_seconds(),
        }
    }
}

/// The CPU seconds this process has used, with threads that have ended (0 off Linux).
pub(super) fn process_cpu_seconds() -> f64 {
    stat_cpu_seconds(std::path::Path::new("/proc/self/stat")).map_or(0.0, |(_, used)| used)
}

/// The name and CPU seconds (user + system) in a `stat` file of /proc.
fn stat_cpu_seconds(path: &std::path::Path) -> Option<(String, f64)> {
    // Clock ticks per second: 100 on every Linux this runs on (USER_HZ).
    const TICKS: f64 = 100.0;
    let stat = std::fs::read_to_string(path).ok()?;
    // The name is in parentheses and may hold spaces; fields follow the last ')'.
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let name = stat[open + 1..close].to_owned();
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    // After the name: state is field 3 of stat(5), utime 14 and stime 15.
    let ticks = |index: usize| {
        fields
            .get(index - 3)
            .and_then(|value| value.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Some((name, (ticks(14) + ticks(15)) / TICKS))
}

/// Prints the CPU microseconds per event each log thread, and the whole process, spent
/// since `before`.
fn print_thread_cpu(before: &CpuSeconds, events: u64) {
    let after = CpuSeconds::now();
    let per_event = |used: f64| used * 1e6 / events.max(1) as f64;
    let mut parts: Vec<String> = ["log-writer", "log-syncer", "log-indexer"]
        .iter()
        .map(|name| {
            let used = after.threads.get(*name).copied().unwrap_or(0.0)
                - before.threads.get(*name).copied().unwrap_or(0.0);
            format!("{name} {:.2} µs", per_event(used))
        })
        .collect();
    parts.push(format!(
        "process {:.2} µs",
        per_event(after.process - before.process)
    ));
    println!("  CPU per event: {}", parts.join(", "));
}

/// The single-event command `index` of `appender`.
fn single_command(appender: u64, index: u64, payload_bytes: usize) -> AppendRequest {
    let event = bench_event(format!("employer/{appender}"), payload_bytes, index);
    bench_command(format!("single-{appender}-{index}"), vec![event])
}

/// The concurrent phase with one OS thread per appender; returns every append's latency.
fn append_from_threads(
    log: &Arc<Log>,
    options: &LogBench,
    per_appender: u64,
) -> anyhow::Result<Vec<Duration>> {
    let workers: Vec<_> = (0..options.appenders)
        .map(|appender| {
            let log = Arc::clone(log);
            let payload_bytes = options.payload_bytes;
            std::thread::Builder::new()
                .name(APPENDER_THREAD.to_owned())
                .spawn(move || -> anyhow::Result<Vec<Duration>> {
                    let mut latencies = Vec::with_capacity(per_appender as usize);
                    for index in 0..per_appender {
                        let command = single_command(appender, index, payload_bytes);
                        let begun = Instant::now();
                        log.append_blocking(command)?;
                        latencies.push(begun.elapsed());
                    }
                    Ok(latencies)
                })
        })
        .collect::<std::io::Result<_>>()?;
    let mut latencies = Vec::new();
    for worker in workers {
        let joined = worker
            .join()
            .map_err(|_| anyhow::anyhow!("an appender thread panicked"))?;
        latencies.extend(joined?);
    }
    Ok(latencies)
}

/// The concurrent phase with one task per appender on a two-worker tokio runtime; returns
/// every append's latency.
fn append_from_tasks(
    log: &Arc<Log>,
    options: &LogBench,
    per_appender: u64,
) -> anyhow::Result<Vec<Duration>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(APPENDER_THREAD)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let tasks: Vec<_> = (0..options.appenders)
            .map(|appender| {
                let log = Arc::clone(log);
                let payload_bytes = options.payload_bytes;
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(per_appender as usize);
                    for index in 0..per_appender {
                        let command = single_command(appender, index, payload_bytes);
                        let begun = Instant::now();
                        log.append(command).await?;
                        latencies.push(begun.elapsed());
                    }
                    Ok::<_, anyhow::Error>(latencies)
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await??);
        }
        Ok(latencies)
    })
}

/// The name of the appenders' threads (or runtime workers).
const APPENDER_THREAD: &str = "bench-appender";

/// What the head record costs: acknowledged single-event appends per second from the
/// concurrent appenders on a fresh store, with the head record and without it (in
/// alternating rounds), in the same run. Without it each group commit has one fsync (sled's
/// file); with it, two (sled's file, then the record).
fn head_record_cost(options: &LogBench) -> anyhow::Result<()> {
    let per_appender = options.head_record_events / options.appenders.max(1);
    let appends = per_appender * options.appenders;
    if appends == 0 || options.head_record_rounds == 0 {
        return Ok(());
    }
    let parent = options.data.as_deref().and_then(std::path::Path::parent);
    let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..options.head_record_rounds {
        // Which of the pair runs first alternates, so neither always meets a warmer cache.
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for with_record in order {
            let directory = match parent {
                Some(parent) => tempfile::tempdir_in(parent)?,
                None => tempfile::tempdir()?,
            };
            let mut config = LogConfig::new(directory.path().join("bench"));
            config.open_check = OpenCheck::Tail;
            config.head_record = with_record;
            let log = Arc::new(Log::open(&config)?);
            let started = Instant::now();
            append_from_tasks(&log, options, per_appender)?;
            rates[usize::from(!with_record)].push(rate(appends, started.elapsed()));
            log.shutdown()?;
        }
    }
    // Each round's pair ran back to back: the median of their ratios cancels the drift of a
    // shared machine better than the ratio of the medians.
    let mut costs: Vec<f64> = rates[0]
        .iter()
        .zip(&rates[1])
        .map(|(with, without)| (1.0 - with / without.max(f64::EPSILON)) * 100.0)
        .collect();
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let listed = |rates: &[f64]| {
        rates
            .iter()
            .map(|rate| format!("{rate:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (with, without) = (listed(&rates[0]), listed(&rates[1]));
    let (with_median, without_median) = (median(&mut rates[0]), median(&mut rates[1]));
    println!(
        "head record: {} appender tasks x {per_appender} single-event commands on a fresh store, \
         {} rounds: with the record {with} (median {with_median:.0}) acknowledged appends/s, \
         without {without} (median {without_median:.0}); the record costs {:.1}% (median of \
         the rounds' pairs)",
        options.appenders,
        options.head_record_rounds,
        median(&mut costs)
    );
    Ok(())
}

fn log_bench(options: &LogBench) -> anyhow::Result<()> {
    head_record_cost(options)?;
    let temporary = tempfile::tempdir()?;
    let path = options
        .data
        .clone()
        .unwrap_or_else(|| temporary.path().join("bench"));
    let mut config = LogConfig::new(&path);
    config.open_check = OpenCheck::Tail;
    let log = Arc::new(Log::open(&config)?);
    println!("bench log: store {}", path.display());

    // The commands are built before the clock starts: the figure is the log's, not the
    // cost of formatting a million requests on the same two cores.
    let batches = options.batched_events / options.batch.max(1);
    let step = options.submitters.max(1);
    let commands: Vec<Vec<AppendRequest>> = (0..step)
        .map(|submitter| {
            (submitter..batches)
                .step_by(step as usize)
                .map(|batch| {
                    let events = (0..options.batch)
                        .map(|index| {
                            let sequence = batch * options.batch + index;
                            bench_event(
                                format!("person/{}", sequence % 100_000),
                                options.payload_bytes,
                                sequence,
                            )
                        })
                        .collect();
                    bench_command(format!("batch-{batch}"), events)
                })
                .collect()
        })
        .collect();
    let cpu_before = CpuSeconds::now();
    let started = Instant::now();
    let submitters: Vec<_> = commands
        .into_iter()
        .map(|commands| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || -> anyhow::Result<()> {
                for command in commands {
                    log.append_blocking(command)?;
                }
                Ok(())
            })
        })
        .collect();
    for submitter in submitters {
        submitter
            .join()
            .map_err(|_| anyhow::anyhow!("a submitter thread panicked"))??;
    }
    let elapsed = started.elapsed();
    println!(
        "batched append: {} events in commands of {} from {} submitters: {:.0} events/s durable \
         ({:.2} s)",
        batches * options.batch,
        options.batch,
        options.submitters,
        rate(batches * options.batch, elapsed),
        elapsed.as_secs_f64()
    );

    wait_for_index(&log, "batched", batches * options.batch, elapsed)?;
    print_thread_cpu(&cpu_before, batches * options.batch);

    let per_appender = options.single_events / options.appenders.max(1);
    let cpu_before = CpuSeconds::now();
    let started = Instant::now();
    let mut latencies = if options.appender_threads {
        append_from_threads(&log, options, per_appender)?
    } else {
        append_from_tasks(&log, options, per_appender)?
    };
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let singles = per_appender * options.appenders;
    println!(
        "concurrent append: {} appender {} x {per_appender} single-event commands: {:.0} \
         events/s durable; latency p50 {:.2} ms, p99 {:.2} ms",
        options.appenders,
        if options.appender_threads {
            "threads"
        } else {
            "tasks"
        },
        rate(singles, elapsed),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );

    wait_for_index(&log, "concurrent", singles, elapsed)?;
    print_thread_cpu(&cpu_before, singles);

    let head = log.head().position;
    let started = Instant::now();
    let mut payload_bytes = 0u64;
    let scanned = log.scan_range(1, u64::MAX, &mut |event| -> anyhow::Result<()> {
        payload_bytes += event.payload.len() as u64;
        Ok(())
    })?;
    let elapsed = started.elapsed();
    anyhow::ensure!(scanned == head, "the scan saw {scanned} events of {head}");
    std::hint::black_box(payload_bytes);
    println!(
        "replay: {scanned} events scanned borrowed from their blocks (as a projection \
         rebuild reads them): {:.0} events/s",
        rate(scanned, elapsed)
    );
    let started = Instant::now();
    let mut replayed = 0u64;
    for event in log.read_range(1, u64::MAX) {
        let event = event?;
        replayed += 1;
        std::hint::black_box(&event);
    }
    let elapsed = started.elapsed();
    anyhow::ensure!(replayed == head, "replay saw {replayed} events of {head}");
    println!(
        "replay: {replayed} events decoded into owned envelopes: {:.0} events/s",
        rate(replayed, elapsed)
    );

    let started = Instant::now();
    let report = log.verify(None, &mut |_| {})?;
    let elapsed = started.elapsed();
    println!(
        "verify: {} events rehashed: {:.0} events/s; head {}",
        report.events_verified,
        rate(report.events_verified, elapsed),
        report.head
    );
    println!(
        "store size on disk: {:.1} MiB",
        log.size_on_disk()? as f64 / (1024.0 * 1024.0)
    );
    log.shutdown()?;
    drop(log);
    open_times(&path)
}

/// Times opening the store `fundledger serve`'s way (the chain from the verified mark, which
/// the last check left at the head) against a full chain check from position 1, which is
/// what every open of a store never verified by hand cost before the mark followed the head.
fn open_times(path: &std::path::Path) -> anyhow::Result<()> {
    let timed = |check: OpenCheck| -> anyhow::Result<(Duration, u64)> {
        let mut config = LogConfig::new(path);
        config.open_check = check;
        let started = Instant::now();
        let log = Log::open(&config)?;
        let elapsed = started.elapsed();
        let head = log.head().position;
        log.shutdown()?;
        Ok((elapsed, head))
    };
    // The first open after the bench's writes pays sled's recovery: not either check's.
    let (recovery, _) = timed(OpenCheck::Tail)?;
    let (since_mark, head) = timed(OpenCheck::SinceVerified)?;
    let (full, _) = timed(OpenCheck::Full)?;
    println!(
        "open without a chain check, first after the writes: {:.0} ms",
        recovery.as_secs_f64() * 1000.0
    );
    println!(
        "open at {head} events: {:.0} ms from the verified mark (as serve opens); {:.0} ms \
         re-hashing from position 1",
        since_mark.as_secs_f64() * 1000.0,
        full.as_secs_f64() * 1000.0
    );
    Ok(())
}
