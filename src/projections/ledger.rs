//! The ledger service: a command in, its events appended, the books read back. It loads
//! the streams a decision reads, decides under the rulebook as known at the head, and
//! appends with the streams' versions as expected versions, retrying a bounded number of
//! times on a conflict.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use super::books::TrialError;
use super::engine::{ProjectionError, Projector};
use super::stored::{self, DecodeError};
use crate::domain::state::evolve_recorded;
use crate::domain::{Command, Event, RegionId, Rejection, State, decide};
use crate::log::{
    self, AppendRequest, Envelope, EventRef, ExpectedVersion, Hash, Log, NewEvent, codec,
};

/// How many times a command is decided again after a version conflict.
pub const COMMAND_ATTEMPTS_MAX: u32 = 5;
/// The command id of the genesis rulebook load.
pub const GENESIS_COMMAND_ID: &str = "genesis";
/// How many bytes of decoded events the stream cache holds, over all streams (each event
/// counted as twice its payload, for the stored bytes and the decoded event, plus
/// [`CACHED_EVENT_OVERHEAD_BYTES`]).
pub const STREAM_CACHE_BYTES_MAX: usize = 64 * 1024 * 1024;
/// What a cached event is counted at beyond its payload: the envelope's fields.
pub const CACHED_EVENT_OVERHEAD_BYTES: usize = 256;
/// Streams longer than this are read from the log each time instead of cached.
pub const CACHED_STREAM_EVENTS_MAX: usize = 4096;

/// Who sent a command and how to recognise a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandMeta {
    /// The idempotency key.
    pub command_id: String,
    /// The caller.
    pub actor: String,
    /// A digest of the whole request: the same id with another digest is refused.
    pub request_digest: Hash,
    /// Versions the caller expects of streams; a mismatch is a version conflict.
    pub expected: Vec<(String, ExpectedVersion)>,
}

/// What a command appended.
#[derive(Debug, Clone)]
pub struct Executed {
    /// True when the command id was seen before and nothing new was appended.
    pub replayed: bool,
    /// The events with their envelopes.
    pub events: Vec<(Envelope, Event)>,
}

/// Why a command was not executed; nothing was appended in any case.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The domain refused it.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The log failed or refused (conflict, invalid, idempotency).
    #[error(transparent)]
    Log(#[from] log::Error),
    /// The books could not be read.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// A stored event did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A decided event did not encode.
    #[error("event does not encode: {0}")]
    Encode(String),
    /// A decided event would not read back from the log as it was decided: appending it
    /// would leave an event that no reader or fold can take, for ever.
    #[error(
        "the {event_type} this command would append does not read back from the log ({reason}); nothing was appended"
    )]
    Unreadable {
        /// The event's type.
        event_type: String,
        /// What failed.
        reason: String,
    },
    /// The command's events would not fold into the books.
    #[error("the events of this command would not fold into the books: {0}; nothing was appended")]
    Unfoldable(#[from] TrialError),
    /// The streams kept moving under the command.
    #[error("the command's streams changed {attempts} times while it was decided; try again")]
    Contended {
        /// How many attempts were made.
        attempts: u32,
    },
}

/// What a decision was loaded from.
struct Loaded {
    state: State,
    expectations: Vec<(String, ExpectedVersion)>,
    expected_head: Option<u64>,
}

/// A stream's first events, decoded; shared by the readers that fold it.
type CachedEvents = Arc<Vec<Arc<(Envelope, Event)>>>;

/// Decoded events of recently read streams. Stored events never change, so a cached
/// prefix of a stream stays true; a reader folds it and reads only what came after.
struct StreamCache {
    /// Each stream's cached prefix and what it is counted at.
    streams: lru::LruCache<String, (CachedEvents, usize)>,
    bytes: usize,
}

impl StreamCache {
    fn new() -> Self {
        StreamCache {
            streams: lru::LruCache::unbounded(),
            bytes: 0,
        }
    }

    fn get(&mut self, stream: &str) -> Option<CachedEvents> {
        self.streams
            .get(stream)
            .map(|(events, _)| Arc::clone(events))
    }

    /// Keeps `events` as the stream's cached prefix if it is longer than what is cached,
    /// then drops the least recently used streams beyond the budget.
    fn offer(&mut self, stream: &str, events: CachedEvents) {
        if events.len() > CACHED_STREAM_EVENTS_MAX {
            return;
        }
        let bytes = events
            .iter()
            .map(|stored| 2 * stored.0.payload.len() + CACHED_EVENT_OVERHEAD_BYTES)
            .sum();
        match self.streams.get_mut(stream) {
            Some((cached, _)) if cached.len() >= events.len() => return,
            Some((cached, counted)) => {
                self.bytes = self.bytes - *counted + bytes;
                (*cached, *counted) = (events, bytes);
            }
            None => {
                self.bytes += bytes;
                self.streams.put(stream.to_owned(), (events, bytes));
            }
        }
        while self.bytes > STREAM_CACHE_BYTES_MAX {
            match self.streams.pop_lru() {
                Some((_, (_, counted))) => self.bytes -= counted,
                None => break,
            }
        }
    }
}

/// The ledger: the log, the books, and the command path between them.
pub struct Ledger {
    log: Arc<Log>,
    projector: Projector,
    streams: Mutex<StreamCache>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Ledger")
            .field("log", &self.log)
            .field("projector", &self.projector)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens the books in `projections_path`; on an empty log, appends the shipped rulebook
    /// as genesis events.
    pub fn open(log: Arc<Log>, projections_path: &Path) -> Result<Ledger, ExecuteError> {
        if log.head().position == 0 {
            append_genesis(&log)?;
        }
        let projector = Projector::open(Arc::clone(&log), projections_path)?;
        Ok(Ledger {
            log,
            projector,
            streams: Mutex::new(StreamCache::new()),
        })
    }

    /// The log.
    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    /// The books projection.
    pub fn projector(&self) -> &Projector {
        &self.projector
    }

    /// Decides and appends a command; a retry of an appended command id returns the
    /// original events.
    ///
    /// The writer recognises a retry when it is appended again, so the log is asked
    /// about the command id only when the command fails: a retry may well fail to decide
    /// now (its person is enrolled already, by itself), and it must still get its
    /// original answer.
    pub fn execute(&self, command: &Command, meta: &CommandMeta) -> Result<Executed, ExecuteError> {
        match self.decide_and_append(command, meta) {
            Ok(executed) => Ok(executed),
            Err(error) => match self.replay(meta) {
                Ok(Some(executed)) => Ok(executed),
                Ok(None) => Err(error),
                // An idempotency conflict is the answer; a failure to look is not, so the
                // command's own error stands.
                Err(conflict @ ExecuteError::Log(log::Error::IdempotencyConflict { .. })) => {
                    Err(conflict)
                }
                Err(lookup) => {
                    tracing::warn!(error = %lookup, command_id = %meta.command_id, "could not look up a failed command's id");
                    Err(error)
                }
            },
        }
    }

    /// The original outcome of an appended command id; a refusal if it came with another
    /// request.
    fn replay(&self, meta: &CommandMeta) -> Result<Option<Executed>, ExecuteError> {
        let Some((digest, appended)) = self.log.command_record(&meta.command_id)? else {
            return Ok(None);
        };
        if digest != meta.request_digest {
            return Err(log::Error::IdempotencyConflict {
                command_id: meta.command_id.clone(),
                first_position: appended.first_position,
            }
            .into());
        }
        Ok(Some(Executed {
            replayed: true,
            events: self.read_events(appended.positions())?,
        }))
    }

    fn decide_and_append(
        &self,
        command: &Command,
        meta: &CommandMeta,
    ) -> Result<Executed, ExecuteError> {
        for _ in 0..COMMAND_ATTEMPTS_MAX {
            let rules = self.projector.rules_at_head()?;
            let Loaded {
                state,
                mut expectations,
                expected_head,
            } = self.load(command)?;
            self.check_expected(meta, &mut expectations)?;
            let events = decide(&state, command, &rules)?;
            if events.is_empty() {
                // Nothing to record: a retry decides the same nothing again.
                return Ok(Executed {
                    replayed: false,
                    events: Vec::new(),
                });
            }
            let new_events = events
                .iter()
                .map(stored::to_new_event)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| ExecuteError::Encode(error.to_string()))?;
            // The command path's invariant: an event is appended only if it reads back as
            // decided and folds into the books. The log is append-only, so one event that
            // fails either would stop its readers for ever.
            let folded = read_back(&events, &new_events)?;
            self.projector.try_fold(&folded)??;
            let request = Arc::new(AppendRequest {
                command_id: meta.command_id.clone(),
                request_digest: meta.request_digest,
                actor: meta.actor.clone(),
                expectations,
                expected_head,
                events: new_events,
            });
            match self.log.commit_blocking(Arc::clone(&request)) {
                Ok(committed) => {
                    let events = match committed.envelopes(&request) {
                        // The events as decided, in the envelopes the writer stamped.
                        Some(envelopes) => envelopes.into_iter().zip(events).collect(),
                        None => self.read_events(committed.appended.positions())?,
                    };
                    return Ok(Executed {
                        replayed: committed.appended.replayed,
                        events,
                    });
                }
                Err(log::Error::VersionConflict { stream_id, .. }) => {
                    tracing::debug!(%stream_id, command_id = %meta.command_id, "version conflict; deciding again");
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(ExecuteError::Contended {
            attempts: COMMAND_ATTEMPTS_MAX,
        })
    }

    /// Folds the streams a decision reads into a state, with the versions it read as the
    /// append's expectations.
    fn load(&self, command: &Command) -> Result<Loaded, ExecuteError> {
        let mut loaded = Loaded {
            state: State::new(),
            expectations: Vec::new(),
            expected_head: None,
        };
        for stream in command.reads() {
            if let Some(region) = stream.strip_prefix("ledger/") {
                // A decision that reads a region's books (the fund-merger steps) appends only
                // if no event landed after the books it read: no stream version covers them.
                let region = RegionId::new(region);
                let books = self.projector.current()?;
                loaded
                    .state
                    .ledgers
                    .insert(region.clone(), books.domain_ledger(&region));
                loaded.expected_head = Some(books.position());
                continue;
            }
            let version = self.load_stream(&mut loaded.state, &stream)?;
            let expected = if version == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact(version)
            };
            loaded.expectations.push((stream, expected));
        }
        Ok(loaded)
    }

    /// Checks the versions the caller expects against what was loaded (or the log), and
    /// adds the ones on streams the decision does not read to the append's expectations.
    fn check_expected(
        &self,
        meta: &CommandMeta,
        expectations: &mut Vec<(String, ExpectedVersion)>,
    ) -> Result<(), ExecuteError> {
        for (stream, expected) in &meta.expected {
            let loaded = expectations.iter().find(|(read, _)| read == stream);
            let actual = match loaded {
                Some((_, ExpectedVersion::Exact(version))) => *version,
                Some(_) => 0,
                None => self.log.stream_version(stream)?,
            };
            if !expected.admits(actual) {
                return Err(log::Error::VersionConflict {
                    stream_id: stream.clone(),
                    expected: *expected,
                    actual,
                }
                .into());
            }
            if loaded.is_none() {
                expectations.push((stream.clone(), *expected));
            }
        }
        Ok(())
    }

    /// Folds a stream into `state`; returns the version folded (its durable version).
    pub fn load_stream(&self, state: &mut State, stream: &str) -> Result<u64, ExecuteError> {
        let (_, version) = self.fold_stream(state, stream, u64::MAX, &mut |_, _| {})?;
        Ok(version)
    }

    /// Folds a stream's events up to log position `position` into `state` (the stream as
    /// known then), handing each to `visit`; returns the last position folded (0: none).
    pub fn load_stream_until(
        &self,
        state: &mut State,
        stream: &str,
        position: u64,
        visit: &mut dyn FnMut(&Envelope, &Event),
    ) -> Result<u64, ExecuteError> {
        let (last, _) = self.fold_stream(state, stream, position, visit)?;
        Ok(last)
    }

    /// Folds the stream's durable events up to log position `position`: the cached prefix,
    /// then whatever the log holds after it. Returns the last position and the last
    /// version folded.
    fn fold_stream(
        &self,
        state: &mut State,
        stream: &str,
        position: u64,
        visit: &mut dyn FnMut(&Envelope, &Event),
    ) -> Result<(u64, u64), ExecuteError> {
        let shared = self.stream_cache().get(stream);
        let cached = shared.as_deref().map(Vec::as_slice).unwrap_or_default();
        let (mut last, mut version) = (0, 0);
        // Versions are dense from 1: the cache holds versions 1..=len.
        for stored in cached {
            let (envelope, event) = stored.as_ref();
            if envelope.position > position {
                return Ok((last, version));
            }
            evolve_recorded(state, event, envelope.position);
            visit(envelope, event);
            (last, version) = (envelope.position, envelope.stream_version);
        }
        let mut read = Vec::new();
        for envelope in self
            .log
            .read_stream(stream, cached.len() as u64 + 1, u64::MAX)?
        {
            let envelope = envelope?;
            let expected = (cached.len() + read.len()) as u64 + 1;
            if envelope.stream_version != expected {
                return Err(log::Error::Corrupt {
                    position: envelope.position,
                    reason: format!(
                        "stream {stream} has version {} where {expected} was due",
                        envelope.stream_version
                    ),
                }
                .into());
            }
            let event = stored::from_envelope(&envelope)?;
            let past = envelope.position > position;
            if !past {
                evolve_recorded(state, &event, envelope.position);
                visit(&envelope, &event);
                (last, version) = (envelope.position, envelope.stream_version);
            }
            read.push(Arc::new((envelope, event)));
            if past {
                break;
            }
        }
        if !read.is_empty() {
            let mut events = Vec::with_capacity(cached.len() + read.len());
            events.extend_from_slice(cached);
            events.extend(read);
            self.stream_cache().offer(stream, Arc::new(events));
        }
        Ok((last, version))
    }

    fn stream_cache(&self) -> std::sync::MutexGuard<'_, StreamCache> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_events(
        &self,
        positions: std::ops::Range<u64>,
    ) -> Result<Vec<(Envelope, Event)>, ExecuteError> {
        let count = positions.end.saturating_sub(positions.start);
        // The count may come from a stored idempotency record: reserve no more than one
        // command can append, whatever a damaged record claims.
        let reserved = usize::try_from(count).map_or(0, |count| count.min(log::COMMAND_EVENTS_MAX));
        let mut events = Vec::with_capacity(reserved);
        for envelope in self.log.read_range(positions.start, count) {
            let envelope = envelope?;
            let event = stored::from_envelope(&envelope)?;
            events.push((envelope, event));
        }
        Ok(events)
    }
}

/// Reads each encoded event back as the log will hand it out — its business date through
/// the envelope's encoding, the whole payload, and the books' view of it — and checks that
/// it is the event decided. Returns the books' views, for a trial fold.
fn read_back(events: &[Event], new_events: &[NewEvent]) -> Result<Vec<Event>, ExecuteError> {
    events
        .iter()
        .zip(new_events)
        .map(|(event, new_event)| {
            let unreadable = |reason: String| ExecuteError::Unreadable {
                event_type: new_event.event_type.clone(),
                reason,
            };
            let number = codec::date_to_number(new_event.business_date);
            let business_date =
                codec::date_from_number(number).map_err(|error| unreadable(error.to_string()))?;
            if business_date != new_event.business_date {
                return Err(unreadable(format!(
                    "its business date {} reads back as {business_date}",
                    new_event.business_date
                )));
            }
            let stored_event = EventRef {
                position: 0,
                stream_id: &new_event.stream_id,
                event_type: &new_event.event_type,
                schema_version: new_event.schema_version,
                business_date,
                payload: &new_event.payload,
            };
            let decoded =
                stored::from_event_ref(&stored_event).map_err(|error| unreadable(error.reason))?;
            if decoded != *event {
                return Err(unreadable("it reads back as another event".to_owned()));
            }
            stored::for_books(&stored_event).map_err(|error| unreadable(error.reason))
        })
        .collect()
}

/// Appends the shipped rulebook as genesis events, in commands of at most the log's limit.
fn append_genesis(log: &Log) -> Result<(), ExecuteError> {
    let rules = crate::domain::Rulebook::shipped()
        .map_err(|error| ExecuteError::Encode(error.to_string()))?;
    let events = rules
        .genesis_events()
        .iter()
        .map(stored::to_new_event)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| ExecuteError::Encode(error.to_string()))?;
    for (index, chunk) in events.chunks(log::COMMAND_EVENTS_MAX).enumerate() {
        let command_id = if index == 0 {
            GENESIS_COMMAND_ID.to_owned()
        } else {
            format!("{GENESIS_COMMAND_ID}-{index}")
        };
        log.append_blocking(AppendRequest {
            request_digest: log::digest(command_id.as_bytes()),
            command_id,
            actor: "fundledger".to_owned(),
            expectations: Vec::new(),
            expected_head: None,
            events: chunk.to_vec(),
        })?;
    }
    tracing::info!(
        events = events.len(),
        "appended the shipped rulebook as genesis events"
    );
    Ok(())
}
