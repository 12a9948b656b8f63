//! Builds the tonic server: our services behind the authenticator, health, reflection (v1
//! and v1alpha), TLS, limits, and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::{Router, TcpIncoming};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tonic_health::server::HealthReporter;

use super::access::{AccessConfig, AccessMode, Authenticator};
use super::admin::Admin;
use super::commands::Commands;
use super::events::{Events, Subscriptions};
use super::proto::{
    self, admin_service_server::AdminServiceServer, command_service_server::CommandServiceServer,
    event_service_server::EventServiceServer, query_service_server::QueryServiceServer,
};
use super::queries::Queries;
use crate::log::Log;
use crate::projections::Ledger;

/// The largest gRPC message accepted or sent, in bytes.
pub const GRPC_MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// The most requests served at once per connection.
pub const GRPC_CONCURRENCY_PER_CONNECTION_MAX: usize = 256;
/// How long one request may take to answer (a stream's later messages are not bounded).
pub const GRPC_REQUEST_TIMEOUT_SECONDS: u64 = 60;
/// How often an idle connection is pinged: a subscriber that vanished without closing its
/// connection is noticed, and its subscription freed, within interval + timeout.
pub const GRPC_KEEPALIVE_INTERVAL_SECONDS: u64 = 30;
/// How long a keepalive ping may go unanswered before the connection is closed.
pub const GRPC_KEEPALIVE_TIMEOUT_SECONDS: u64 = 20;
/// The largest certificate or key file read, in bytes.
pub const TLS_FILE_BYTES_MAX: u64 = 1024 * 1024;

/// How often health re-reads which regions' books are damaged.
pub const BOOKS_HEALTH_INTERVAL_MILLISECONDS: u64 = 1000;

/// How long a shutdown waits for in-flight calls and streams before it gives up on them.
pub const SHUTDOWN_GRACE_SECONDS: u64 = 10;

/// How the server authenticates callers, protects the wire and shuts down.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The accepted tokens. `None`: local trust, every caller holds every right, and only a
    /// loopback address is served.
    pub access: Option<AccessConfig>,
    /// TLS for the listener. `None`: plaintext.
    pub tls: Option<TlsConfig>,
    /// The ledger behind `CommandService` and `QueryService`. `None`: only the log's
    /// services (events, admin) are served.
    pub ledger: Option<Arc<Ledger>>,
    /// How long a shutdown waits for in-flight calls before it stops waiting for them (a
    /// health `Watch` stream, for one, never ends on its own).
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            access: None,
            tls: None,
            ledger: None,
            shutdown_grace: Duration::from_secs(SHUTDOWN_GRACE_SECONDS),
        }
    }
}

/// The server's certificate and key, and for mutual TLS the CA that signs client
/// certificates; all PEM.
#[derive(Clone)]
pub struct TlsConfig {
    certificate: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TlsConfig")
            .field("mutual", &self.client_ca.is_some())
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// A config from PEM bytes.
    pub fn from_pem(certificate: Vec<u8>, key: Vec<u8>, client_ca: Option<Vec<u8>>) -> Self {
        TlsConfig {
            certificate,
            key,
            client_ca,
        }
    }

    /// Reads the PEM files.
    pub fn load(
        certificate: &Path,
        key: &Path,
        client_ca: Option<&Path>,
    ) -> Result<Self, ServeError> {
        Ok(TlsConfig {
            certificate: read_pem(certificate)?,
            key: read_pem(key)?,
            client_ca: client_ca.map(read_pem).transpose()?,
        })
    }

    fn to_tonic(&self) -> ServerTlsConfig {
        let config =
            ServerTlsConfig::new().identity(Identity::from_pem(&self.certificate, &self.key));
        match &self.client_ca {
            Some(ca) => config.client_ca_root(Certificate::from_pem(ca)),
            None => config,
        }
    }
}

fn read_pem(path: &Path) -> Result<Vec<u8>, ServeError> {
    let error = |source| ServeError::TlsFile {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(error)?.len();
    if size > TLS_FILE_BYTES_MAX {
        return Err(error(std::io::Error::other(format!(
            "larger than {TLS_FILE_BYTES_MAX} bytes"
        ))));
    }
    std::fs::read(path).map_err(error)
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Local trust was asked for on an address other hosts can reach.
    #[error(
        "refusing to serve {address} without an access config: local trust gives every \
         caller every right, so it is only for loopback addresses (pass --access-config, \
         or listen on 127.0.0.1)"
    )]
    LocalTrustNotLoopback {
        /// The address asked for.
        address: SocketAddr,
    },
    /// Binding or inspecting the listener failed.
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    /// A certificate or key file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The transport failed (bad TLS material, or a failure while serving).
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The reflection service could not be built.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The log failed to close cleanly.
    #[error("closing the log: {0}")]
    Log(#[from] crate::log::Error),
}

/// Serves on `listen` until ctrl-c or SIGTERM, then lets in-flight calls finish and closes
/// the log (the writer drains and fsyncs).
pub async fn serve(
    log: Arc<Log>,
    listen: SocketAddr,
    config: ServerConfig,
) -> Result<(), ServeError> {
    refuse_exposed_local_trust(listen, config.access.as_ref())?;
    let shutdown = shutdown_signal();
    let listener = tokio::net::TcpListener::bind(listen).await?;
    serve_with_shutdown(Arc::clone(&log), listener, config, shutdown).await?;
    log.shutdown()?;
    tracing::info!(head = %log.head(), "fundledger stopped");
    Ok(())
}

/// Refuses local trust (no access config) on an address other hosts can reach. It reads
/// nothing and writes nothing, so a caller can ask before it opens the data directory.
pub fn refuse_exposed_local_trust(
    address: SocketAddr,
    access: Option<&AccessConfig>,
) -> Result<(), ServeError> {
    if access.is_none() && !address.ip().is_loopback() {
        return Err(ServeError::LocalTrustNotLoopback { address });
    }
    Ok(())
}

/// Refuses local trust off loopback, and warns loudly about what is insecure.
fn check_exposure(address: SocketAddr, config: &ServerConfig) -> Result<(), ServeError> {
    refuse_exposed_local_trust(address, config.access.as_ref())?;
    match &config.access {
        None => tracing::warn!(
            %address,
            "LOCAL TRUST: no access config, so EVERY caller holds EVERY RIGHT without a token. \
             Only for development on this machine; pass --access-config for anything else."
        ),
        Some(access) if access.is_empty() => tracing::warn!(
            "the access config holds no token: every call to the ledger will be refused"
        ),
        Some(access) => tracing::info!(tokens = access.len(), "access config loaded"),
    }
    if config.tls.is_none() && config.access.is_some() && !address.ip().is_loopback() {
        tracing::warn!(
            %address,
            "serving without TLS: bearer tokens cross the network in clear text \
             (pass --tls-cert and --tls-key)"
        );
    }
    Ok(())
}

/// Serves on an already bound listener until `shutdown` completes; then health turns
/// NOT_SERVING, subscriptions end, and in-flight calls get `config.shutdown_grace` to
/// finish. After the grace it returns without waiting for the calls left (tonic runs each
/// connection in its own task: they end when the runtime shuts down, as when the
/// `fundledger serve` process exits). Refuses local trust on a non-loopback listener.
pub async fn serve_with_shutdown(
    log: Arc<Log>,
    listener: tokio::net::TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let address = listener.local_addr()?;
    check_exposure(address, &config)?;
    tracing::info!(
        %address,
        tls = config.tls.is_some(),
        mutual_tls = config.tls.as_ref().is_some_and(|tls| tls.client_ca.is_some()),
        "fundledger serving gRPC"
    );
    let (stop, stopped) = watch::channel(false);
    let has_ledger = config.ledger.is_some();
    let (health, router) = router(log, &config, stopped.clone()).await?;
    // Subscriptions never end on their own: tell them to, or the graceful shutdown would
    // wait for them until the grace runs out.
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: health NOT_SERVING, ending subscriptions");
        health.set_not_serving::<EventServiceServer<Events>>().await;
        health.set_not_serving::<AdminServiceServer<Admin>>().await;
        if has_ledger {
            health
                .set_not_serving::<CommandServiceServer<Commands>>()
                .await;
            health
                .set_not_serving::<QueryServiceServer<Queries>>()
                .await;
        }
        health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        stop.send_replace(true);
    };
    let serving = router.serve_with_incoming_shutdown(
        // Nagle's algorithm with delayed ACKs would add ~40 ms to every small reply.
        TcpIncoming::from(listener).with_nodelay(Some(true)),
        shutdown,
    );
    tokio::select! {
        served = serving => served?,
        () = grace_expired(stopped, config.shutdown_grace) => tracing::warn!(
            grace_seconds = config.shutdown_grace.as_secs_f64(),
            "calls still open after the shutdown grace: no longer waiting for them"
        ),
    }
    Ok(())
}

/// Completes `grace` after the stop signal; never if the server ends first.
async fn grace_expired(mut stopped: watch::Receiver<bool>, grace: Duration) {
    if stopped.wait_for(|stopped| *stopped).await.is_err() {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(grace).await;
}

/// Our services behind the authenticator, health, reflection, limits and TLS.
async fn router(
    log: Arc<Log>,
    config: &ServerConfig,
    stopped: watch::Receiver<bool>,
) -> Result<(HealthReporter, Router), ServeError> {
    let authenticator = Authenticator::new(match &config.access {
        Some(access) => AccessMode::Tokens(Arc::new(access.clone())),
        None => AccessMode::LocalTrust,
    });
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<EventServiceServer<Events>>().await;
    health.set_serving::<AdminServiceServer<Admin>>().await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let subscriptions = Subscriptions::default();
    let books_stopped = stopped.clone();
    let events = EventServiceServer::new(Events::new(
        Arc::clone(&log),
        subscriptions.clone(),
        stopped,
    ))
    .max_decoding_message_size(GRPC_MESSAGE_BYTES_MAX)
    .max_encoding_message_size(GRPC_MESSAGE_BYTES_MAX);
    let admin =
        AdminServiceServer::new(Admin::new(log, subscriptions).with_ledger(config.ledger.clone()))
            .max_decoding_message_size(GRPC_MESSAGE_BYTES_MAX)
            .max_encoding_message_size(GRPC_MESSAGE_BYTES_MAX);
    let ledger_services = config.ledger.as_ref().map(|ledger| {
        let commands = CommandServiceServer::new(Commands::new(Arc::clone(ledger)))
            .max_decoding_message_size(GRPC_MESSAGE_BYTES_MAX)
            .max_encoding_message_size(GRPC_MESSAGE_BYTES_MAX);
        let queries = QueryServiceServer::new(Queries::new(Arc::clone(ledger)))
            .max_decoding_message_size(GRPC_MESSAGE_BYTES_MAX)
            .max_encoding_message_size(GRPC_MESSAGE_BYTES_MAX);
        (
            InterceptedService::new(commands, authenticator.clone()),
            InterceptedService::new(queries, authenticator.clone()),
        )
    });
    if ledger_services.is_some() {
        health.set_serving::<CommandServiceServer<Commands>>().await;
        health.set_serving::<QueryServiceServer<Queries>>().await;
    }
    if let Some(ledger) = &config.ledger {
        tokio::spawn(show_books_health(
            Arc::clone(ledger),
            health.clone(),
            books_stopped,
        ));
    }
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = &config.tls {
        builder = builder.tls_config(tls.to_tonic())?;
    }
    let router = builder
        .concurrency_limit_per_connection(GRPC_CONCURRENCY_PER_CONNECTION_MAX)
        .timeout(Duration::from_secs(GRPC_REQUEST_TIMEOUT_SECONDS))
        .http2_keepalive_interval(Some(Duration::from_secs(GRPC_KEEPALIVE_INTERVAL_SECONDS)))
        .http2_keepalive_timeout(Some(Duration::from_secs(GRPC_KEEPALIVE_TIMEOUT_SECONDS)))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(InterceptedService::new(events, authenticator.clone()))
        .add_service(InterceptedService::new(admin, authenticator))
        .add_optional_service(
            ledger_services
                .as_ref()
                .map(|(commands, _)| commands.clone()),
        )
        .add_optional_service(ledger_services.map(|(_, queries)| queries));
    Ok((health, router))
}

/// Shows each region's books in health as the service `fundledger.books.<region>`:
/// SERVING, or NOT_SERVING once they are damaged (`Stats` names the position and reason;
/// an event of unknown region that did not decode damages every region). Re-read every
/// [`BOOKS_HEALTH_INTERVAL_MILLISECONDS`] until the server stops.
async fn show_books_health(
    ledger: Arc<Ledger>,
    health: HealthReporter,
    mut stopped: watch::Receiver<bool>,
) {
    let mut shown = std::collections::BTreeMap::<String, bool>::new();
    loop {
        let reading = Arc::clone(&ledger);
        let read = tokio::task::spawn_blocking(move || reading.projector().region_damage()).await;
        match read {
            Ok(Ok(regions)) => {
                for (region, damage) in regions {
                    let (region, damaged) = (region.to_string(), damage.is_some());
                    if shown.get(&region) == Some(&damaged) {
                        continue;
                    }
                    let status = if damaged {
                        tonic_health::ServingStatus::NotServing
                    } else {
                        tonic_health::ServingStatus::Serving
                    };
                    health
                        .set_service_status(format!("fundledger.books.{region}"), status)
                        .await;
                    shown.insert(region, damaged);
                }
            }
            Ok(Err(error)) => tracing::warn!(%error, "could not read the books for health"),
            Err(error) => tracing::warn!(%error, "the books' health task failed"),
        }
        tokio::select! {
            _ = stopped.wait_for(|stopped| *stopped) => return,
            () = tokio::time::sleep(Duration::from_millis(BOOKS_HEALTH_INTERVAL_MILLISECONDS)) => {}
        }
    }
}

/// The future that ends on ctrl-c or SIGTERM. The SIGTERM handler is installed here, when
/// the future is made (before the listener serves), not when it is first polled: a SIGTERM
/// that came between the "serving" log line and that first poll killed the process without
/// closing the log.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let ctrl_c = async {
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::error!(%error, "cannot listen for ctrl-c");
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let terminate = async {
            match terminate {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(error) => {
                    tracing::error!(%error, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => tracing::info!("ctrl-c: shutting down"),
            () = terminate => tracing::info!("SIGTERM: shutting down"),
        }
    }
}
