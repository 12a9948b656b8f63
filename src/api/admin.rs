//! `AdminService`: integrity checks and figures about the store.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::proto::{self, admin_service_server::AdminService};
use super::status;
use crate::log::Log;

/// Serves the operators' and auditors' administrative calls.
#[derive(Debug, Clone)]
pub struct Admin {
    log: Arc<Log>,
}

impl Admin {
    /// A service over `log`.
    pub fn new(log: Arc<Log>) -> Self {
        Admin { log }
    }
}

#[tonic::async_trait]
impl AdminService for Admin {
    #[tracing::instrument(skip_all)]
    async fn verify_log(
        &self,
        _request: Request<proto::VerifyLogRequest>,
    ) -> Result<Response<proto::VerifyLogResponse>, Status> {
        let log = Arc::clone(&self.log);
        let report = tokio::task::spawn_blocking(move || log.verify(None, &mut |_| {}))
            .await
            .map_err(|error| Status::internal(format!("verify task failed: {error}")))?
            .map_err(status::from_log)?;
        Ok(Response::new(proto::VerifyLogResponse {
            head_position: report.head.position,
            head_hash: hex::encode(report.head.hash),
            events_verified: report.events_verified,
        }))
    }
}
