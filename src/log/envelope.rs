//! What the log stores and what a caller hands it: envelopes around opaque payloads.

use std::fmt;

/// A SHA-256 digest in the hash chain.
pub type Hash = [u8; 32];

/// The hash before position 1.
pub const GENESIS_HASH: Hash = [0; 32];

/// The longest stream id, in bytes.
pub const STREAM_ID_BYTES_MAX: usize = 200;
/// The longest command id or actor, in bytes.
pub const COMMAND_ID_BYTES_MAX: usize = 200;
/// The longest event type name, in bytes.
pub const EVENT_TYPE_BYTES_MAX: usize = 100;
/// The largest payload of one event, in bytes.
pub const PAYLOAD_BYTES_MAX: usize = 16 * 1024;
/// The most events one command may append; they commit atomically.
pub const COMMAND_EVENTS_MAX: usize = 10_000;

/// One event as stored: the envelope and its opaque payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Global log position, dense from 1.
    pub position: u64,
    /// The stream the event belongs to, such as `person/…` or `fund/…`.
    pub stream_id: String,
    /// The event's version within its stream, dense from 1.
    pub stream_version: u64,
    /// The event type name.
    pub event_type: String,
    /// The schema version of the payload.
    pub schema_version: u16,
    /// The business date the event is effective for.
    pub business_date: jiff::civil::Date,
    /// When the ledger recorded it (server clock; never goes backwards in log order).
    pub recorded_at: jiff::Timestamp,
    /// The idempotency key of the command that appended it.
    pub command_id: String,
    /// Who issued that command.
    pub actor: String,
    /// The encoded domain event; the log does not interpret it.
    pub payload: Vec<u8>,
    /// The hash of the event at `position - 1` ([`GENESIS_HASH`] before position 1).
    pub previous_hash: Hash,
    /// SHA-256 over `previous_hash` and the encoded event.
    pub hash: Hash,
}

/// One stored event borrowed from its block, as [`crate::log::Log::scan_range`] hands it
/// over: the envelope's fields a fold reads, without copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// Global log position.
    pub position: u64,
    /// The stream the event belongs to.
    pub stream_id: &'a str,
    /// The event type name.
    pub event_type: &'a str,
    /// The schema version of the payload.
    pub schema_version: u16,
    /// The business date the event is effective for.
    pub business_date: jiff::civil::Date,
    /// The encoded domain event.
    pub payload: &'a [u8],
}

/// An event a command wants to append: everything but what the log assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The stream to append to.
    pub stream_id: String,
    /// The event type name.
    pub event_type: String,
    /// The schema version of the payload.
    pub schema_version: u16,
    /// The business date the event is effective for.
    pub business_date: jiff::civil::Date,
    /// The encoded domain event.
    pub payload: Vec<u8>,
}

/// What a command expects of a stream's version before its events are appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be at exactly this version (its last event's version).
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream at `actual` (0: no stream) satisfies this expectation.
    pub fn admits(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(expected) => actual == expected,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => formatter.write_str("any version"),
            ExpectedVersion::NoStream => formatter.write_str("no stream yet"),
            ExpectedVersion::Exact(version) => write!(formatter, "version {version}"),
        }
    }
}

/// One command's append: its events, the versions it expects, and its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendRequest {
    /// The idempotency key; permanent.
    pub command_id: String,
    /// A digest of the whole request, so that a reused id with another request is refused.
    pub request_digest: Hash,
    /// Who issued the command.
    pub actor: String,
    /// Version expectations, checked before anything is written.
    pub expectations: Vec<(String, ExpectedVersion)>,
    /// If set, the log must still end at this position when the command is staged: for
    /// decisions that read state no single stream version covers (a region's books).
    pub expected_head: Option<u64>,
    /// The events, appended in this order and atomically.
    pub events: Vec<NewEvent>,
}

/// Where a command's events landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The first position (0 when the command appended nothing).
    pub first_position: u64,
    /// How many events it appended.
    pub count: u32,
    /// True when this was a retry of a command already appended: nothing new was written.
    pub replayed: bool,
}

impl Appended {
    /// The positions the command's events occupy.
    pub fn positions(&self) -> std::ops::Range<u64> {
        self.first_position..self.first_position + u64::from(self.count)
    }
}

/// What the writer stamped on one appended event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventStamp {
    /// The event's version within its stream.
    pub stream_version: u64,
    /// The hash of the event before it in the log.
    pub previous_hash: Hash,
    /// The event's own hash.
    pub hash: Hash,
}

/// An append's outcome with what the writer stamped on each new event, so a caller can
/// build the envelopes without reading them back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The positions.
    pub appended: Appended,
    /// The recorded time of the events (the server clock at the group commit); for a
    /// replayed command, the time of the commit that answered the retry, not the original.
    pub recorded_at: jiff::Timestamp,
    /// One stamp per event, in order; empty when the command was replayed.
    pub stamps: Vec<EventStamp>,
}

impl Committed {
    /// The envelopes of the appended events, from the events as submitted; `None` for a
    /// replayed command (its events are in the log, not in this request).
    pub fn envelopes(&self, request: &AppendRequest) -> Option<Vec<Envelope>> {
        if self.appended.replayed || self.stamps.len() != request.events.len() {
            return None;
        }
        let envelopes = request
            .events
            .iter()
            .zip(&self.stamps)
            .zip(self.appended.positions())
            .map(|((event, stamp), position)| Envelope {
                position,
                stream_id: event.stream_id.clone(),
                stream_version: stamp.stream_version,
                event_type: event.event_type.clone(),
                schema_version: event.schema_version,
                business_date: event.business_date,
                recorded_at: self.recorded_at,
                command_id: request.command_id.clone(),
                actor: request.actor.clone(),
                payload: event.payload.clone(),
                previous_hash: stamp.previous_hash,
                hash: stamp.hash,
            })
            .collect();
        Some(envelopes)
    }
}

/// The last event's position and hash: the digest an auditor keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    /// The last position (0 for an empty log).
    pub position: u64,
    /// Its hash ([`GENESIS_HASH`] for an empty log).
    pub hash: Hash,
}

impl fmt::Display for Head {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.position, hex::encode(self.hash))
    }
}

impl std::str::FromStr for Head {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (position, hash) = text
            .split_once(':')
            .ok_or_else(|| format!("head digest {text:?} is not POSITION:HASH"))?;
        let position = position
            .parse()
            .map_err(|error| format!("head position {position:?}: {error}"))?;
        let bytes = hex::decode(hash).map_err(|error| format!("head hash {hash:?}: {error}"))?;
        let hash = Hash::try_from(bytes.as_slice())
            .map_err(|_| format!("head hash {hash:?} is not 32 bytes"))?;
        Ok(Head { position, hash })
    }
}
