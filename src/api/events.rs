//! `EventService`: the raw event log, read by position, stream or type, and streamed live.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::access::{self, Right};
use super::proto::{self, event_service_server::EventService};
use super::status;
use crate::log::{self, EVENT_TYPE_BYTES_MAX, Envelope, Log, STREAM_ID_BYTES_MAX};

/// The most events one `ReadEvents` call returns.
pub const READ_EVENTS_LIMIT_MAX: u32 = 10_000;
/// The events one `ReadEvents` call returns when the request says 0.
pub const READ_EVENTS_LIMIT_DEFAULT: u32 = 1000;
/// The most events one `ReadEvents` call examines: a filtered read pages through a large
/// log instead of scanning all of it in one call.
pub const READ_EVENTS_SCAN_MAX: u64 = 100_000;
/// The most subscriptions served at once, over all connections.
pub const SUBSCRIPTIONS_MAX: usize = 256;
/// The events a subscription reads from the log at a time.
pub const SUBSCRIBE_READ_BATCH_EVENTS_MAX: u64 = 128;
/// The events queued per subscription for a slow client before the reader waits.
pub const SUBSCRIBE_CHANNEL_EVENTS_MAX: usize = 128;

const _: () = assert!(READ_EVENTS_LIMIT_DEFAULT <= READ_EVENTS_LIMIT_MAX);
const _: () = assert!(READ_EVENTS_LIMIT_MAX as u64 <= READ_EVENTS_SCAN_MAX);
// A subscription holds at most one batch and one channel of events: with payloads of at most
// 16 KiB that bounds all subscriptions together to about 1 GiB in the worst case.
const _: () = assert!(
    SUBSCRIPTIONS_MAX as u64
        * (SUBSCRIBE_READ_BATCH_EVENTS_MAX + SUBSCRIBE_CHANNEL_EVENTS_MAX as u64)
        * log::PAYLOAD_BYTES_MAX as u64
        <= 1 << 30
);

/// The live subscriptions, counted against [`SUBSCRIPTIONS_MAX`].
#[derive(Debug, Clone)]
pub struct Subscriptions {
    permits: Arc<Semaphore>,
}

impl Default for Subscriptions {
    fn default() -> Self {
        Subscriptions {
            permits: Arc::new(Semaphore::new(SUBSCRIPTIONS_MAX)),
        }
    }
}

impl Subscriptions {
    /// How many subscriptions are being served.
    pub fn active(&self) -> usize {
        SUBSCRIPTIONS_MAX - self.permits.available_permits()
    }

    fn admit(&self) -> Result<OwnedSemaphorePermit, Status> {
        Arc::clone(&self.permits).try_acquire_owned().map_err(|_| {
            Status::resource_exhausted(format!(
                "the server already serves {SUBSCRIPTIONS_MAX} subscriptions; retry later"
            ))
        })
    }
}

/// Serves the event log.
#[derive(Debug, Clone)]
pub struct Events {
    log: Arc<Log>,
    subscriptions: Subscriptions,
    stop: watch::Receiver<bool>,
}

impl Events {
    /// A service over `log`; its subscriptions end when `stop` turns true (server shutdown).
    pub fn new(log: Arc<Log>, subscriptions: Subscriptions, stop: watch::Receiver<bool>) -> Self {
        Events {
            log,
            subscriptions,
            stop,
        }
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

/// Which events a read or a subscription keeps.
#[derive(Debug, Clone, Default)]
struct EventFilter {
    stream_id: Option<String>,
    event_type: Option<String>,
}

impl EventFilter {
    /// Checks the optional filter fields of a request.
    fn new(stream_id: Option<String>, event_type: Option<String>) -> Result<Self, Status> {
        let check = |field: &str, value: &Option<String>, max: usize| match value {
            Some(text) if text.is_empty() || text.len() > max => Err(Status::invalid_argument(
                format!("{field}: must be 1 to {max} bytes when set"),
            )),
            _ => Ok(()),
        };
        check("stream_id", &stream_id, STREAM_ID_BYTES_MAX)?;
        check("event_type", &event_type, EVENT_TYPE_BYTES_MAX)?;
        Ok(EventFilter {
            stream_id,
            event_type,
        })
    }

    fn admits(&self, envelope: &Envelope) -> bool {
        self.stream_id
            .as_ref()
            .is_none_or(|stream_id| *stream_id == envelope.stream_id)
            && self
                .event_type
                .as_ref()
                .is_none_or(|event_type| *event_type == envelope.event_type)
    }
}

/// A checked `ReadEvents` request.
#[derive(Debug)]
struct ReadQuery {
    from_position: u64,
    limit: usize,
    filter: EventFilter,
    from_stream_version: u64,
}

impl TryFrom<proto::ReadEventsRequest> for ReadQuery {
    type Error = Status;

    fn try_from(request: proto::ReadEventsRequest) -> Result<Self, Status> {
        if request.limit > READ_EVENTS_LIMIT_MAX {
            return Err(Status::invalid_argument(format!(
                "limit: at most {READ_EVENTS_LIMIT_MAX} events per call"
            )));
        }
        if request.stream_id.is_none() && request.from_stream_version != 0 {
            return Err(Status::invalid_argument(
                "from_stream_version: only with stream_id",
            ));
        }
        let limit = match request.limit {
            0 => READ_EVENTS_LIMIT_DEFAULT,
            limit => limit,
        };
        Ok(ReadQuery {
            from_position: request.from_position.max(1),
            limit: limit as usize,
            filter: EventFilter::new(request.stream_id, request.event_type)?,
            from_stream_version: request.from_stream_version.max(1),
        })
    }
}

/// One page of a read, and where the next page starts.
#[derive(Debug, Default)]
struct Page {
    events: Vec<proto::Event>,
    next_position: u64,
    next_stream_version: u64,
}

impl ReadQuery {
    fn admits(&self, envelope: &Envelope) -> bool {
        envelope.position >= self.from_position && self.filter.admits(envelope)
    }

    /// Reads one page; blocking.
    fn run(&self, log: &Log) -> Result<Page, log::Error> {
        let mut page = Page {
            next_position: self.from_position,
            ..Page::default()
        };
        let envelopes: Box<dyn Iterator<Item = log::Result<Envelope>> + '_> =
            match &self.filter.stream_id {
                Some(stream_id) => {
                    page.next_stream_version = self.from_stream_version;
                    Box::new(log.read_stream(
                        stream_id,
                        self.from_stream_version,
                        READ_EVENTS_SCAN_MAX,
                    )?)
                }
                None => Box::new(log.read_range(self.from_position, READ_EVENTS_SCAN_MAX)),
            };
        for envelope in envelopes {
            let envelope = envelope?;
            page.next_position = page.next_position.max(envelope.position + 1);
            if self.filter.stream_id.is_some() {
                page.next_stream_version = envelope.stream_version + 1;
            }
            if self.admits(&envelope) {
                page.events.push(to_proto(envelope));
                if page.events.len() == self.limit {
                    break;
                }
            }
        }
        Ok(page)
    }
}

/// Reads the next batch of a subscription from `from_position`; blocking. Returns the
/// events the filter keeps and the position after the last one read (`from_position`
/// when nothing new is durable).
fn read_batch(
    log: &Log,
    from_position: u64,
    filter: &EventFilter,
) -> Result<(Vec<proto::Event>, u64), log::Error> {
    let mut next = from_position;
    let mut kept = Vec::new();
    for envelope in log.read_range(from_position, SUBSCRIBE_READ_BATCH_EVENTS_MAX) {
        let envelope = envelope?;
        assert_eq!(
            envelope.position, next,
            "a subscription reads dense positions"
        );
        next += 1;
        if filter.admits(&envelope) {
            kept.push(to_proto(envelope));
        }
    }
    Ok((kept, next))
}

/// Feeds one subscription: catch-up in batches, then each new durable head. Ends when the
/// client goes away, the server stops, or the log closes.
async fn run_subscription(
    log: Arc<Log>,
    from_position: u64,
    filter: EventFilter,
    sender: mpsc::Sender<Result<proto::Event, Status>>,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let filter = Arc::new(filter);
    let mut heads = log.watch_head();
    let mut next = from_position.max(1);
    loop {
        // Mark the current head as seen before reading: an append made durable after this
        // line wakes `changed()` below, so none is missed between the read and the wait.
        heads.borrow_and_update();
        let (reader, kept) = (Arc::clone(&log), Arc::clone(&filter));
        let read = tokio::task::spawn_blocking(move || read_batch(&reader, next, &kept)).await;
        let (batch, after) = match read {
            Ok(Ok(read)) => read,
            Ok(Err(error)) => {
                let _ = sender.send(Err(status::from_log(error))).await;
                return;
            }
            Err(error) => {
                let _ = sender
                    .send(Err(Status::internal(format!("read task failed: {error}"))))
                    .await;
                return;
            }
        };
        if after == next {
            tokio::select! {
                changed = heads.changed() => if changed.is_err() { return },
                _ = stop.wait_for(|stopped| *stopped) => return,
                () = sender.closed() => return,
            }
            continue;
        }
        for event in batch {
            tokio::select! {
                sent = sender.send(Ok(event)) => if sent.is_err() { return },
                _ = stop.wait_for(|stopped| *stopped) => return,
            }
        }
        next = after;
    }
}

#[tonic::async_trait]
impl EventService for Events {
    #[tracing::instrument(
        skip_all,
        fields(caller, from_position = request.get_ref().from_position)
    )]
    async fn read_events(
        &self,
        request: Request<proto::ReadEventsRequest>,
    ) -> Result<Response<proto::ReadEventsResponse>, Status> {
        access::authorize(&request, Right::ReadEvents)?;
        let query = ReadQuery::try_from(request.into_inner())?;
        let log = Arc::clone(&self.log);
        let (page, head) = tokio::task::spawn_blocking(move || {
            // The head after the read: no returned event lies beyond it.
            let page = query.run(&log);
            (page, log.head().position)
        })
        .await
        .map_err(|error| Status::internal(format!("read task failed: {error}")))?;
        let page = page.map_err(status::from_log)?;
        Ok(Response::new(proto::ReadEventsResponse {
            events: page.events,
            head_position: head,
            next_position: page.next_position,
            next_stream_version: page.next_stream_version,
        }))
    }

    type SubscribeStream = ReceiverStream<Result<proto::Event, Status>>;

    #[tracing::instrument(
        skip_all,
        fields(caller, from_position = request.get_ref().from_position)
    )]
    async fn subscribe(
        &self,
        request: Request<proto::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        access::authorize(&request, Right::Subscribe)?;
        let request = request.into_inner();
        let filter = EventFilter::new(request.stream_id, request.event_type)?;
        let permit = self.subscriptions.admit()?;
        let (sender, receiver) = mpsc::channel(SUBSCRIBE_CHANNEL_EVENTS_MAX);
        tokio::spawn(
            run_subscription(
                Arc::clone(&self.log),
                request.from_position,
                filter,
                sender,
                self.stop.clone(),
                permit,
            )
            .instrument(tracing::Span::current()),
        );
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}
