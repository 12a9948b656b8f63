//! `EventService`: the raw event log, read by position.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::proto::{self, event_service_server::EventService};
use super::status;
use crate::log::{Envelope, Log};

/// The most events one `ReadEvents` call returns.
pub const READ_EVENTS_LIMIT_MAX: u32 = 10_000;

/// Serves the event log.
#[derive(Debug, Clone)]
pub struct Events {
    log: Arc<Log>,
}

impl Events {
    /// A service over `log`.
    pub fn new(log: Arc<Log>) -> Self {
        Events { log }
    }
}

/// The wire form of a stored event.
pub fn to_proto(envelope: Envelope) -> proto::Event {
    proto::Event {
        position: envelope.position,
        stream_id: envelope.stream_id,
        stream_version: envelope.stream_version,
        event_type: envelope.event_type,
        schema_version: u32::from(envelope.schema_version),
        business_date: envelope.business_date.to_string(),
        recorded_at: envelope.recorded_at.to_string(),
        command_id: envelope.command_id,
        actor: envelope.actor,
        payload: envelope.payload,
        previous_hash: hex::encode(envelope.previous_hash),
        hash: hex::encode(envelope.hash),
    }
}

#[tonic::async_trait]
impl EventService for Events {
    #[tracing::instrument(skip_all, fields(from = request.get_ref().from_position))]
    async fn read_events(
        &self,
        request: Request<proto::ReadEventsRequest>,
    ) -> Result<Response<proto::ReadEventsResponse>, Status> {
        let request = request.into_inner();
        if request.limit > READ_EVENTS_LIMIT_MAX {
            return Err(Status::invalid_argument(format!(
                "limit: at most {READ_EVENTS_LIMIT_MAX} events per call"
            )));
        }
        let limit = if request.limit == 0 {
            1000
        } else {
            request.limit
        };
        let log = Arc::clone(&self.log);
        let (events, head) = tokio::task::spawn_blocking(move || {
            let events = log
                .read_range(request.from_position, u64::from(limit))
                .map(|event| event.map(to_proto))
                .collect::<Result<Vec<_>, _>>();
            (events, log.head().position)
        })
        .await
        .map_err(|error| Status::internal(format!("read task failed: {error}")))?;
        let events = events.map_err(status::from_log)?;
        Ok(Response::new(proto::ReadEventsResponse {
            events,
            head_position: head,
        }))
    }
}
