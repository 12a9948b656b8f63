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

    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients {
        let endpoint = endpoint.clone();
        tasks.push(tokio::spawn(async move {
            let mut commands = CommandServiceClient::connect(endpoint).await?;
            let mut latencies = Vec::with_capacity(commands_per_client);
            for index in 0..commands_per_client {
                let begun = Instant::now();
                commands
                    .enroll(EnrollRequest {
                        header: header(format!("bench-enroll-{client}-{index}")),
                        person_id: format!("bench-person-{client}-{index}"),
                        region: "beijing".to_owned(),
                        employer_id: format!("bench-employer-{client}"),
                        kind: PersonKind::Employee as i32,
                        enrolled_on: "2020-02-01".to_owned(),
                    })
                    .await?;
                latencies.push(begun.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(clients * commands_per_client);
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    println!(
        "commands: {} in {:.2} s: {:.0} commands/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
        super::bench::percentile(&latencies, 0.50),
        super::bench::percentile(&latencies, 0.99),
        super::bench::percentile(&latencies, 1.0),
    );
    let _ = stop.send(());
    server.await??;
    log.shutdown()?;
    Ok(())
}
