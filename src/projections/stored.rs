//! The stored form of domain events: what goes into a log envelope's payload.
//!
//! The stored schema is separate from the domain event so that the domain can change
//! without rewriting the log: `StoredEvent::V1` wraps today's event; a later schema is a
//! new variant appended below, never reordered, with its conversion to the domain event.

use serde::{Deserialize, Serialize};

use crate::domain::Event;
use crate::log::{Envelope, EventRef, NewEvent, codec};

/// The payload schema version written today.
pub const STORED_SCHEMA_VERSION: u16 = 1;

/// Every stored schema of a domain event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredEvent {
    /// Schema 1.
    V1(Event),
}

/// Why a stored event could not be turned back into a domain event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event at position {position} ({event_type}) does not decode: {reason}")]
pub struct DecodeError {
    /// Where.
    pub position: u64,
    /// Its type name.
    pub event_type: String,
    /// What failed (a damaged record, an unbalanced posting set, an unknown schema).
    pub reason: String,
}

/// The envelope contents for a domain event.
pub fn to_new_event(event: &Event) -> Result<NewEvent, codec::CodecError> {
    Ok(NewEvent {
        stream_id: event.stream_id(),
        event_type: event.event_type().to_owned(),
        schema_version: STORED_SCHEMA_VERSION,
        business_date: event.business_date(),
        payload: codec::encode_payload(&StoredEvent::V1(event.clone()))?,
    })
}

/// The domain event inside an envelope.
pub fn from_envelope(envelope: &Envelope) -> Result<Event, DecodeError> {
    from_event_ref(&EventRef {
        position: envelope.position,
        stream_id: &envelope.stream_id,
        event_type: &envelope.event_type,
        schema_version: envelope.schema_version,
        business_date: envelope.business_date,
        payload: &envelope.payload,
    })
}

/// The domain event inside a stored event borrowed from its block.
pub fn from_event_ref(stored_event: &EventRef<'_>) -> Result<Event, DecodeError> {
    let error = |reason: String| DecodeError {
        position: stored_event.position,
        event_type: stored_event.event_type.to_owned(),
        reason,
    };
    if stored_event.schema_version != STORED_SCHEMA_VERSION {
        return Err(error(format!(
            "unknown schema version {}",
            stored_event.schema_version
        )));
    }
    let stored: StoredEvent =
        codec::decode_payload(stored_event.payload).map_err(|reason| error(reason.to_string()))?;
    match stored {
        StoredEvent::V1(event) => {
            if event.event_type() != stored_event.event_type {
                return Err(error(format!("payload is a {}", event.event_type())));
            }
            Ok(event)
        }
    }
}
