//! `fundledger bench grpc`: concurrent clients sending commands to a real server on
//! loopback, through the whole path (auth, conversion, decide, durable append).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::client::{
    CommandHeader, CommandServiceClient, EmployerCategory, EnrollRequest, PersonKind,
    RegisterEmployerRequest,
};
use crate::api::{ServerConfig, serve_with_shutdown};
use crate::log::{Log, LogConfig};
use crate::projections::Ledger;
use std::future::Future;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

fn header(command_id: String) -> Option<CommandHeader> {
    Some(CommandHeader {
        command_id,
        expected: Vec::new(),
    })
}

/// Runs the benchmark and prints commands/s and latency percentiles.
pub async fn grpc_bench(clients: usize, commands_per_client: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let log = Arc::new(Log::open(&LogConfig::new(dir.path()))?);
    let (opened, path) = (Arc::clone(&log), dir.path().join("projections"));
    let ledger = tokio::task::spawn_blocking(move || Ledger::open(opened, &path)).await??;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ServerConfig {
        ledger: Some(Arc::new(ledger)),
        ..ServerConfig::default()
    };
    let server = tokio::spawn(serve_with_shutdown(
        Arc::clone(&log),
        listener,
        config,
        async {
            let _ = stopped.await;
        },
    ));
    let endpoint = format!("http://{address}");
    println!("bench grpc: {clients} clients x {commands_per_client} Enroll commands on {address}");

    let mut setup = CommandServiceClient::connect(endpoint.clone()).await?;
    for client in 0..clients {
        setup
            .register_employer(RegisterEmployerRequest {
                header: header(format!("bench-employer-{client}")),
                employer_id: format!("bench-employer-{client}"),
                region: "beijing".to_owned(),
                category: EmployerCategory::Enterprise as i32,
                name: format!("Bench employer {client}"),
                registered_on: "2020-01-01".to_owned(),
                average_monthly_wage: "9000.00".to_owned(),
            })
            .await?;
    }

    let baseline = timed_phase(
        &endpoint,
        clients,
        commands_per_client,
        |channel, _, _| async move {
            HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await?;
            anyhow::Ok(())
        },
    )
    .await?;
    println!("{}", baseline.line("health Check (transport baseline)"));
    let enroll = timed_phase(
        &endpoint,
        clients,
        commands_per_client,
        |channel, client, index| async move {
            CommandServiceClient::new(channel)
                .enroll(EnrollRequest {
                    header: header(format!("bench-enroll-{client}-{index}")),
                    person_id: format!("bench-person-{client}-{index}"),
                    region: "beijing".to_owned(),
                    employer_id: format!("bench-employer-{client}"),
                    kind: PersonKind::Employee as i32,
                    enrolled_on: "2020-02-01".to_owned(),
                })
                .await?;
            anyhow::Ok(())
        },
    )
    .await?;
    println!("{}", enroll.line("Enroll commands"));
    let _ = stop.send(());
    server.await??;
    log.shutdown()?;
    Ok(())
}

/// Latencies of one timed phase and how long it took.
struct Phase {
    latencies: Vec<Duration>,
    elapsed: Duration,
    /// CPU seconds the whole process (server and clients) used.
    cpu_seconds: f64,
}

impl Phase {
    fn line(&self, what: &str) -> String {
        format!(
            "{what}: {} in {:.2} s: {:.0} calls/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
             CPU {:.0} µs per call (server and clients)",
            self.latencies.len(),
            self.elapsed.as_secs_f64(),
            self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON),
            super::bench::percentile(&self.latencies, 0.50),
            super::bench::percentile(&self.latencies, 0.99),
            super::bench::percentile(&self.latencies, 1.0),
            self.cpu_seconds * 1e6 / self.latencies.len().max(1) as f64,
        )
    }
}

/// `clients` tasks, each on its own connection, make `calls_per_client` calls one after
/// the other; every call's latency is kept.
async fn timed_phase<F, Fut>(
    endpoint: &str,
    clients: usize,
    calls_per_client: usize,
    call: F,
) -> anyhow::Result<Phase>
where
    F: Fn(Channel, usize, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let mut channels = Vec::with_capacity(clients);
    for _ in 0..clients {
        channels.push(
            Endpoint::from_shared(endpoint.to_owned())?
                .connect()
                .await?,
        );
    }
    let cpu_before = super::bench::process_cpu_seconds();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for (client, channel) in channels.into_iter().enumerate() {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(calls_per_client);
            for index in 0..calls_per_client {
                let begun = Instant::now();
                call(channel.clone(), client, index).await?;
                latencies.push(begun.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(clients * calls_per_client);
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    let cpu_seconds = super::bench::process_cpu_seconds() - cpu_before;
    latencies.sort_unstable();
    Ok(Phase {
        latencies,
        elapsed,
        cpu_seconds,
    })
}
