//! The gRPC edge: tonic services, access control, proto <-> domain conversion, `Status`
//! mapping.
//!
//! It holds no business rules: it checks who is calling, converts, calls into the log,
//! projections and domain, and maps their errors to `tonic::Status` in one place.
//!
//! # Layout
//! - `proto`: the generated code (private; clients use [`client`]).
//! - `access.rs`: [`access`]: tokens, roles, scopes, rights, the authenticator.
//! - `events.rs`: `EventService` (`ReadEvents`, `Subscribe`).
//! - `admin.rs`: `AdminService` (`VerifyLog`, `Stats`).
//! - `commands.rs`: `CommandService`, one RPC per domain decision.
//! - `queries.rs`: `QueryService`: reports, lines, persons, employers, rules as of a date.
//! - `convert.rs`: strict proto -> domain conversion.
//! - `status.rs`: the one error mapper.
//! - `server.rs`: [`serve`]: health, reflection, TLS, limits, graceful shutdown.

pub mod access;
mod admin;
mod commands;
mod convert;
mod events;
mod queries;
mod server;
mod status;

#[allow(missing_docs, clippy::all, clippy::unwrap_used, clippy::expect_used)]
mod proto {
    tonic::include_proto!("fundledger.v1");

    /// The encoded descriptor set, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/fundledger_descriptor.bin"));
}

/// The generated client side of the API, for tests, the demo and Rust callers.
pub mod client {
    pub use super::proto::admin_service_client::AdminServiceClient;
    pub use super::proto::command_service_client::CommandServiceClient;
    pub use super::proto::event_service_client::EventServiceClient;
    pub use super::proto::query_service_client::QueryServiceClient;
    pub use super::proto::*;
    pub use super::proto::{
        Event, ReadEventsRequest, ReadEventsResponse, StatsRequest, StatsResponse,
        SubscribeRequest, VerifyLogRequest, VerifyLogResponse,
    };
}

pub use admin::VERIFY_CONCURRENT_MAX;
pub use events::{
    READ_EVENTS_LIMIT_DEFAULT, READ_EVENTS_LIMIT_MAX, READ_EVENTS_SCAN_MAX,
    SUBSCRIBE_CHANNEL_EVENTS_MAX, SUBSCRIBE_READ_BATCH_EVENTS_MAX, SUBSCRIPTIONS_MAX,
};
pub use server::{
    GRPC_CONCURRENCY_PER_CONNECTION_MAX, GRPC_KEEPALIVE_INTERVAL_SECONDS,
    GRPC_KEEPALIVE_TIMEOUT_SECONDS, GRPC_MESSAGE_BYTES_MAX, GRPC_REQUEST_TIMEOUT_SECONDS,
    SHUTDOWN_GRACE_SECONDS, ServeError, ServerConfig, TLS_FILE_BYTES_MAX, TlsConfig,
    refuse_exposed_local_trust, serve, serve_with_shutdown,
};
