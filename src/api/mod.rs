//! The gRPC edge: tonic services, proto <-> domain conversion, `Status` mapping.
//!
//! It holds no business rules: it converts, calls into the log, projections and domain,
//! and maps their errors to `tonic::Status` in one place.
//!
//! # Layout
//! - `proto`: the generated code (private).
//! - `events.rs`: `EventService`.
//! - `admin.rs`: `AdminService`.
//! - `status.rs`: the one error mapper.
//! - `server.rs`: [`serve`]: health, reflection, limits, graceful shutdown.

mod admin;
mod events;
mod server;
mod status;

#[allow(missing_docs, clippy::all, clippy::unwrap_used, clippy::expect_used)]
mod proto {
    tonic::include_proto!("fundledger.v1");

    /// The encoded descriptor set, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/fundledger_descriptor.bin"));
}

pub use server::{GRPC_MESSAGE_BYTES_MAX, serve, serve_with_shutdown};
