//! `AdminService`: integrity checks and figures about the store.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tonic::{Request, Response, Status};

use super::access::{self, Right};
use super::events::{SUBSCRIPTIONS_MAX, Subscriptions};
use super::proto::{self, admin_service_server::AdminService};
use super::status;
use crate::log::{Head, Log};
use crate::projections::{Ledger, RebuildProgress};

/// The most chain verifications run at once: each reads the whole log.
pub const VERIFY_CONCURRENT_MAX: usize = 1;

/// Serves the operators' and auditors' administrative calls.
#[derive(Debug, Clone)]
pub struct Admin {
    log: Arc<Log>,
    subscriptions: Subscriptions,
    verifications: Arc<Semaphore>,
    started: Instant,
    ledger: Option<Arc<Ledger>>,
}

/// The most progress messages a rebuild stream buffers for a slow reader.
pub const REBUILD_PROGRESS_CHANNEL_MAX: usize = 64;

impl Admin {
    /// A service over `log`, reporting on `subscriptions`.
    pub fn new(log: Arc<Log>, subscriptions: Subscriptions) -> Self {
        Admin {
            log,
            subscriptions,
            verifications: Arc::new(Semaphore::new(VERIFY_CONCURRENT_MAX)),
            started: Instant::now(),
            ledger: None,
        }
    }

    /// The same service, with the ledger whose books it rebuilds and checkpoints.
    pub fn with_ledger(self, ledger: Option<Arc<Ledger>>) -> Self {
        Admin { ledger, ..self }
    }

    fn ledger(&self) -> Result<Arc<Ledger>, Status> {
        self.ledger
            .clone()
            .ok_or_else(|| Status::unimplemented("this server serves the log only, no books"))
    }
}

/// The regions whose books are damaged at the head (see [`crate::projections::Damage`]).
pub fn damaged_books(ledger: &Ledger) -> Result<Vec<proto::DamagedBooks>, Status> {
    let books = ledger
        .projector()
        .current()
        .map_err(status::from_projection)?;
    Ok(books
        .damaged()
        .into_iter()
        .map(|(region, damage)| proto::DamagedBooks {
            region,
            position: damage.position,
            reason: damage.reason,
        })
        .collect())
}

fn progress_message(progress: RebuildProgress) -> proto::RebuildProgress {
    proto::RebuildProgress {
        generation: progress.generation,
        position: progress.position,
        head: progress.head,
        events_per_second: progress.events_per_second,
        eta_seconds: progress.eta_seconds,
        done: progress.done,
    }
}

/// The trusted head of a `VerifyLog` request, if any.
fn trusted_head(text: &str, head: Head) -> Result<Option<Head>, Status> {
    if text.is_empty() {
        return Ok(None);
    }
    let trusted: Head = text
        .parse()
        .map_err(|error| Status::invalid_argument(format!("trusted_head: {error}")))?;
    if trusted.position > head.position {
        return Err(Status::failed_precondition(format!(
            "trusted_head: position {} lies beyond the log's head at {}",
            trusted.position, head.position
        )));
    }
    Ok(Some(trusted))
}

#[tonic::async_trait]
impl AdminService for Admin {
    #[tracing::instrument(skip_all, fields(caller, trusted_head))]
    async fn verify_log(
        &self,
        request: Request<proto::VerifyLogRequest>,
    ) -> Result<Response<proto::VerifyLogResponse>, Status> {
        access::authorize(&request, Right::VerifyLog)?;
        let request = request.into_inner();
        tracing::Span::current().record("trusted_head", request.trusted_head.as_str());
        let trusted = trusted_head(&request.trusted_head, self.log.head())?;
        let permit = Arc::clone(&self.verifications)
            .try_acquire_owned()
            .map_err(|_| Status::resource_exhausted("a verification is already running"))?;
        let log = Arc::clone(&self.log);
        let report = tokio::task::spawn_blocking(move || {
            let report = log.verify(trusted, &mut |_| {});
            drop(permit);
            report
        })
        .await
        .map_err(|error| Status::internal(format!("verify task failed: {error}")))?
        .map_err(status::from_log)?;
        tracing::info!(head = %report.head, events = report.events_verified, "log verified");
        Ok(Response::new(proto::VerifyLogResponse {
            head_position: report.head.position,
            head_hash: hex::encode(report.head.hash),
            events_verified: report.events_verified,
            from_position: report.from_position,
            head: report.head.to_string(),
        }))
    }

    #[tracing::instrument(skip_all, fields(caller))]
    async fn stats(
        &self,
        request: Request<proto::StatsRequest>,
    ) -> Result<Response<proto::StatsResponse>, Status> {
        access::authorize(&request, Right::ReadStats)?;
        let log = Arc::clone(&self.log);
        let ledger = self.ledger.clone();
        let (head, head_event, size, damaged) = tokio::task::spawn_blocking(move || {
            let head = log.head();
            let damaged = ledger.map(|ledger| damaged_books(&ledger)).transpose();
            (head, log.get(head.position), log.size_on_disk(), damaged)
        })
        .await
        .map_err(|error| Status::internal(format!("stats task failed: {error}")))?;
        let head_event = head_event.map_err(status::from_log)?;
        let size = size.map_err(status::from_log)?;
        let damaged_books = damaged?.unwrap_or_default();
        Ok(Response::new(proto::StatsResponse {
            head_position: head.position,
            head_hash: hex::encode(head.hash),
            head: head.to_string(),
            head_recorded_at: head_event
                .map(|event| event.recorded_at.to_string())
                .unwrap_or_default(),
            size_on_disk_bytes: size,
            subscriptions_active: u32::try_from(self.subscriptions.active()).unwrap_or(u32::MAX),
            subscriptions_max: u32::try_from(SUBSCRIPTIONS_MAX).unwrap_or(u32::MAX),
            uptime_seconds: self.started.elapsed().as_secs(),
            damaged_books,
        }))
    }

    type RebuildProjectionStream =
        tokio_stream::wrappers::ReceiverStream<Result<proto::RebuildProgress, Status>>;

    #[tracing::instrument(skip_all, fields(caller))]
    async fn rebuild_projection(
        &self,
        request: Request<proto::RebuildProjectionRequest>,
    ) -> Result<Response<Self::RebuildProjectionStream>, Status> {
        access::authorize(&request, Right::Rebuild)?;
        let ledger = self.ledger()?;
        let (sender, receiver) = tokio::sync::mpsc::channel(REBUILD_PROGRESS_CHANNEL_MAX);
        tokio::task::spawn_blocking(move || {
            let outcome = ledger.projector().rebuild(&mut |progress| {
                // A reader that went away does not stop the rebuild.
                let _ = sender.try_send(Ok(progress_message(progress)));
            });
            match outcome {
                Ok(done) => {
                    tracing::info!(
                        generation = done.generation,
                        events = done.position,
                        "books rebuilt"
                    );
                    let _ = sender.blocking_send(Ok(progress_message(done)));
                }
                Err(error) => {
                    tracing::error!(%error, "rebuild failed; the current generation stays");
                    let _ = sender.blocking_send(Err(status::from_projection(error)));
                }
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            receiver,
        )))
    }

    #[tracing::instrument(skip_all, fields(caller))]
    async fn checkpoint(
        &self,
        request: Request<proto::CheckpointRequest>,
    ) -> Result<Response<proto::CheckpointResponse>, Status> {
        access::authorize(&request, Right::Rebuild)?;
        let ledger = self.ledger()?;
        let (position, generation) = tokio::task::spawn_blocking(move || {
            let position = ledger.projector().checkpoint_now()?;
            Ok((position, ledger.projector().generation()))
        })
        .await
        .map_err(|error| Status::internal(format!("checkpoint task failed: {error}")))?
        .map_err(status::from_projection)?;
        Ok(Response::new(proto::CheckpointResponse {
            position,
            generation,
        }))
    }
}
