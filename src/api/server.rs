//! Builds the tonic server: our services, health, reflection (v1 and v1alpha), limits,
//! and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_stream::wrappers::TcpListenerStream;

use super::admin::Admin;
use super::events::Events;
use super::proto::{
    self, admin_service_server::AdminServiceServer, event_service_server::EventServiceServer,
};
use crate::log::Log;

/// The largest gRPC message accepted or sent, in bytes.
pub const GRPC_MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// The most requests served at once per connection.
pub const GRPC_CONCURRENCY_PER_CONNECTION_MAX: usize = 256;
/// How long one request may take.
pub const GRPC_REQUEST_TIMEOUT_SECONDS: u64 = 60;

/// Serves on `listen` until ctrl-c or SIGTERM, then lets in-flight calls finish and closes
/// the log (the writer drains and fsyncs).
pub async fn serve(log: Arc<Log>, listen: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(address = %listener.local_addr()?, "fundledger serving gRPC");
    serve_with_shutdown(Arc::clone(&log), listener, shutdown_signal()).await?;
    log.shutdown()?;
    tracing::info!(head = %log.head(), "fundledger stopped");
    Ok(())
}

/// Serves on an already bound listener until `shutdown` completes.
pub async fn serve_with_shutdown(
    log: Arc<Log>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
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
    let events = EventServiceServer::new(Events::new(Arc::clone(&log)))
        .max_decoding_message_size(GRPC_MESSAGE_BYTES_MAX)
        .max_encoding_message_size(GRPC_MESSAGE_BYTES_MAX);
    let admin = AdminServiceServer::new(Admin::new(log))
        .max_decoding_message_size(GRPC_MESSAGE_BYTES_MAX)
        .max_encoding_message_size(GRPC_MESSAGE_BYTES_MAX);
    tonic::transport::Server::builder()
        .concurrency_limit_per_connection(GRPC_CONCURRENCY_PER_CONNECTION_MAX)
        .timeout(Duration::from_secs(GRPC_REQUEST_TIMEOUT_SECONDS))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(events)
        .add_service(admin)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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
