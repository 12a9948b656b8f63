//! `fundledger bench crash`: the service seen from outside across crashes. It runs
//! `fundledger serve` as a child process, lets concurrent gRPC clients send idempotent
//! commands, kills the child with SIGKILL at a moment of its choosing, starts it again on
//! the same data, and so on; at the end it opens the store itself and checks that every
//! command the service acknowledged is in the log at the position it was acknowledged
//! with, and that the hash chain holds.
//!
//! SIGKILL keeps the operating system's page cache: this shows atomicity, recovery and the
//! acknowledgement protocol across process death, not what a power cut would lose.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::api::client::{
    CommandHeader, CommandServiceClient, EmployerCategory, RegisterEmployerRequest,
};
use crate::domain::scenarios::SplitMix;
use crate::log::{Log, LogConfig};
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long a restarted service may take to answer health SERVING.
pub const RESTART_SECONDS_MAX: u64 = 120;
/// How often a restarting service's health is asked.
const HEALTH_POLL_MILLISECONDS: u64 = 20;

/// What `bench crash` does.
#[derive(Debug, Clone)]
pub struct Options {
    /// Kill/restart cycles.
    pub cycles: u32,
    /// Concurrent clients.
    pub clients: usize,
    /// The shortest and longest time the clients run before the kill, in milliseconds.
    pub run_milliseconds: (u64, u64),
    /// The data directory (a temporary one if `None`).
    pub data: Option<PathBuf>,
}

/// What the cycles came to.
#[derive(Debug, Default)]
struct Tally {
    acknowledged: Vec<(String, u64)>,
    refused: u64,
    restarts: Vec<Duration>,
}

/// Runs the cycles and prints cycles, acknowledged commands, lost ones, verify failures
/// and restart times. An error if any acknowledged command was lost or the chain broke.
pub async fn crash_bench(options: &Options) -> anyhow::Result<()> {
    let temporary = tempfile::tempdir()?;
    let data = options
        .data
        .clone()
        .unwrap_or_else(|| temporary.path().join("data"));
    let executable = std::env::current_exe()?;
    let tally = Arc::new(Mutex::new(Tally::default()));
    // The kill moments: the same on every run.
    let mut moments = SplitMix::new(17);
    println!(
        "bench crash: {} cycles of serve + {} clients + SIGKILL, data in {}",
        options.cycles,
        options.clients,
        data.display()
    );
    for cycle in 0..options.cycles {
        let port = free_port()?;
        let started = Instant::now();
        let mut child = spawn_serve(&executable, &data, port)?;
        wait_serving(&mut child, port).await?;
        lock(&tally).restarts.push(started.elapsed());
        let stop = Arc::new(AtomicBool::new(false));
        let mut clients = Vec::with_capacity(options.clients);
        for client in 0..options.clients {
            clients.push(tokio::spawn(run_client(
                port,
                format!("crash-{cycle}-{client}"),
                Arc::clone(&stop),
                Arc::clone(&tally),
            )));
        }
        let (shortest, longest) = options.run_milliseconds;
        let run = moments.between(
            i64::try_from(shortest).unwrap_or(i64::MAX),
            i64::try_from(longest).unwrap_or(i64::MAX),
        );
        tokio::time::sleep(Duration::from_millis(u64::try_from(run).unwrap_or(0))).await;
        // SIGKILL: the service gets no chance to flush, close or say goodbye.
        child.kill()?;
        child.wait()?;
        stop.store(true, Ordering::Release);
        for client in clients {
            client.await?;
        }
    }
    let tally = std::mem::take(&mut *lock(&tally));
    let (lost, verify_failures, head) = check_store(&data, &tally.acknowledged)?;
    print_figures(options.cycles, &tally, lost, verify_failures, head);
    if lost > 0 || verify_failures > 0 {
        anyhow::bail!("{lost} acknowledged commands lost, {verify_failures} verify failures");
    }
    Ok(())
}

fn lock(tally: &Mutex<Tally>) -> std::sync::MutexGuard<'_, Tally> {
    tally.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A loopback port nobody listens on now.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn spawn_serve(executable: &Path, data: &Path, port: u16) -> std::io::Result<Child> {
    Command::new(executable)
        .arg("serve")
        .arg("--data")
        .arg(data)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
}

/// Waits until the child answers health SERVING; an error if it exits first or takes
/// longer than [`RESTART_SECONDS_MAX`].
async fn wait_serving(child: &mut Child, port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(RESTART_SECONDS_MAX);
    let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))?;
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("serve exited with {status} before it answered");
        }
        if let Ok(channel) = endpoint.connect().await {
            let answer = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await;
            if answer.is_ok_and(|answer| answer.into_inner().status() == ServingStatus::Serving) {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            child.kill()?;
            anyhow::bail!("serve did not answer SERVING within {RESTART_SECONDS_MAX} s");
        }
        tokio::time::sleep(Duration::from_millis(HEALTH_POLL_MILLISECONDS)).await;
    }
}

/// Registers employers one after another, each command with its own id, until `stop`;
/// records each acknowledged command with the position it was acknowledged at.
async fn run_client(port: u16, prefix: String, stop: Arc<AtomicBool>, tally: Arc<Mutex<Tally>>) {
    let Ok(mut commands) = CommandServiceClient::connect(format!("http://127.0.0.1:{port}")).await
    else {
        return;
    };
    for sequence in 0u64.. {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let id = format!("{prefix}-{sequence}");
        let answer = commands
            .register_employer(RegisterEmployerRequest {
                header: Some(CommandHeader {
                    command_id: id.clone(),
                    expected: Vec::new(),
                }),
                employer_id: id.clone(),
                region: "gansu-lanzhou".to_owned(),
                category: EmployerCategory::Enterprise as i32,
                name: "Crash test employer".to_owned(),
                registered_on: "2020-01-02".to_owned(),
                average_monthly_wage: "6000.00".to_owned(),
            })
            .await;
        match answer {
            Ok(reply) => {
                if let Some(event) = reply.into_inner().events.first() {
                    lock(&tally).acknowledged.push((id, event.position));
                }
            }
            // The kill: the connection is gone, this client's cycle is over.
            Err(_) if stop.load(Ordering::Acquire) => return,
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
                ) =>
            {
                return;
            }
            Err(_) => lock(&tally).refused += 1,
        }
    }
}

/// Opens the store after the last kill: counts acknowledged commands whose record is
/// missing or at another position, and verifies the chain. Returns (lost, verify
/// failures, head position).
fn check_store(data: &Path, acknowledged: &[(String, u64)]) -> anyhow::Result<(u64, u64, u64)> {
    let log = Log::open(&LogConfig::new(data))?;
    let mut lost = 0;
    for (id, position) in acknowledged {
        match log.command_record(id)? {
            Some((_, appended)) if appended.first_position == *position => {}
            found => {
                lost += 1;
                eprintln!("lost: {id} acknowledged at {position}, found {found:?}");
            }
        }
    }
    let verify_failures = match log.verify(None, &mut |_| {}) {
        Ok(_) => 0,
        Err(error) => {
            eprintln!("verify failed: {error}");
            1
        }
    };
    Ok((lost, verify_failures, log.head().position))
}

fn print_figures(cycles: u32, tally: &Tally, lost: u64, verify_failures: u64, head: u64) {
    let mut restarts = tally.restarts.clone();
    restarts.sort();
    println!(
        "cycles {cycles}; acknowledged commands {}; lost {lost}; verify failures \
         {verify_failures}; refused {}; log head {head}",
        tally.acknowledged.len(),
        tally.refused
    );
    println!(
        "restart to SERVING: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (first start included)",
        super::bench::percentile(&restarts, 0.50),
        super::bench::percentile(&restarts, 0.99),
        super::bench::percentile(&restarts, 1.0)
    );
}
