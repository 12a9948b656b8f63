//! The one place that turns log records into bytes and back.
//!
//! Every stored value starts with a format byte that names its kind and encoding, so the
//! encoding can change later without rewriting the log: a reader dispatches on the byte
//! and old records stay readable forever. Decoding a damaged or unknown record is a typed
//! error, never a panic.
//!
//! A block (the value under one `B` key) frames the events of one group commit, or a slice
//! of it, so that a torn or damaged record is detected and named:
//!
//! ```text
//! header:  FORMAT_BLOCK_V1 | count u32 | first_position u64 | previous_hash [32]
//! items:   body_len u32 | body (bincode EventBodyV1) | hash [32]      (count times)
//! trailer: BLOCK_END_MAGIC [4] | count u32
//! ```
//!
//! Integers are little-endian. `hash = SHA-256(previous_hash ‖ body)` chains every event
//! to the one before it, across blocks.

use bincode::{BorrowDecode, Decode, Encode};
use sha2::{Digest, Sha256};

use super::envelope::{Envelope, Hash};

/// Format byte of an event block, version 1.
pub const FORMAT_BLOCK_V1: u8 = 0xB1;
/// Format byte of an idempotency record, version 1.
pub const FORMAT_IDEMPOTENCY_V1: u8 = 0x11;
/// Format byte of a head or verified-mark record, version 1.
pub const FORMAT_HEAD_V1: u8 = 0x41;
/// Format byte of a slot of the head record file, version 1.
pub const FORMAT_HEAD_RECORD_V1: u8 = 0x48;
/// The bytes of a head-record slot covered by its checksum: format, sequence, position, hash.
const HEAD_RECORD_CHECKED_BYTES: usize = 1 + 8 + 8 + 32;
/// The bytes of one head-record slot: the checked bytes and their SHA-256.
pub const HEAD_RECORD_SLOT_BYTES: usize = HEAD_RECORD_CHECKED_BYTES + 32;
/// Format byte of a payload encoded with bincode's serde mode, standard configuration.
pub const FORMAT_PAYLOAD_BINCODE_V1: u8 = 0x51;
/// The most memory one decoded payload may claim, in bytes. bincode counts the in-memory
/// size of decoded collections (a 200-line roster claims far more than its ~14 KiB of
/// bytes), so this bounds a damaged length field, not the stored size.
pub const PAYLOAD_DECODED_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Format byte of a projection checkpoint (bincode serde mode, standard configuration).
pub const FORMAT_CHECKPOINT_V1: u8 = 0xC1;
/// Format byte of a projection checkpoint without its rule events, which are stored once
/// per change beside it (bincode serde mode, standard configuration).
pub const FORMAT_CHECKPOINT_V2: u8 = 0xC2;
/// Format byte of the rule events a [`FORMAT_CHECKPOINT_V2`] checkpoint refers to.
pub const FORMAT_CHECKPOINT_RULES_V1: u8 = 0xC3;
/// The largest decoded checkpoint, in bytes.
pub const CHECKPOINT_BYTES_MAX: usize = 256 * 1024 * 1024;
/// Marks the end of a block, so a truncated block is told apart from a short one.
pub const BLOCK_END_MAGIC: [u8; 4] = *b"FLBE";
/// The largest block value, in bytes; sled moves values over 128 KiB to blob files that
/// it never fsyncs, so blocks stay well below that.
pub const BLOCK_BYTES_MAX: usize = 64 * 1024;
/// The largest encoded event body, in bytes.
pub const BODY_BYTES_MAX: usize = 20 * 1024;

const BLOCK_HEADER_BYTES: usize = 1 + 4 + 8 + 32;
const BLOCK_TRAILER_BYTES: usize = 4 + 4;
const ITEM_OVERHEAD_BYTES: usize = 4 + 32;

const _: () = assert!(
    BLOCK_BYTES_MAX < 128 * 1024,
    "blocks stay out of sled's blob files"
);
const _: () = assert!(
    BLOCK_HEADER_BYTES + ITEM_OVERHEAD_BYTES + BODY_BYTES_MAX + BLOCK_TRAILER_BYTES
        <= BLOCK_BYTES_MAX,
    "one event of the largest size fits in a block"
);

type BodyConfig = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<BODY_BYTES_MAX>,
>;

fn body_config() -> BodyConfig {
    bincode::config::standard().with_limit::<BODY_BYTES_MAX>()
}

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The format byte is not one this build knows.
    #[error("unknown format byte {found:#04x} (expected {expected:#04x})")]
    UnknownFormat {
        /// The byte found.
        found: u8,
        /// The byte expected here.
        expected: u8,
    },
    /// The record ended early.
    #[error("record truncated: {0}")]
    Truncated(&'static str),
    /// The record is malformed.
    #[error("record malformed: {0}")]
    Malformed(String),
}

/// The hashed part of a stored event, schema version 1. Field order is the encoding:
/// never reorder or remove; a new schema is a new struct and a new format byte.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct EventBodyV1 {
    /// Global position.
    pub position: u64,
    /// Stream id.
    pub stream_id: String,
    /// Version within the stream.
    pub stream_version: u64,
    /// Event type name.
    pub event_type: String,
    /// Payload schema version.
    pub schema_version: u16,
    /// Business date as `year * 10000 + month * 100 + day`.
    pub business_date: i32,
    /// Recorded time in microseconds since the Unix epoch.
    pub recorded_at_micros: i64,
    /// Command id.
    pub command_id: String,
    /// Actor.
    pub actor: String,
    /// Opaque payload.
    pub payload: Vec<u8>,
}

/// Encodes a date as `yyyymmdd`.
pub fn date_to_number(date: jiff::civil::Date) -> i32 {
    i32::from(date.year()) * 10_000 + i32::from(date.month()) * 100 + i32::from(date.day())
}

/// Decodes a `yyyymmdd` date.
pub fn date_from_number(number: i32) -> Result<jiff::civil::Date, CodecError> {
    let year = i16::try_from(number / 10_000)
        .map_err(|_| CodecError::Malformed(format!("date {number} out of range")))?;
    let month = i8::try_from(number / 100 % 100)
        .map_err(|_| CodecError::Malformed(format!("date {number} out of range")))?;
    let day = i8::try_from(number % 100)
        .map_err(|_| CodecError::Malformed(format!("date {number} out of range")))?;
    jiff::civil::Date::new(year, month, day)
        .map_err(|error| CodecError::Malformed(format!("date {number}: {error}")))
}

/// [`EventBodyV1`] borrowing its text and payload, for the append path and for scans: the
/// same fields in the same order, so it encodes to the same bytes, and decodes from them,
/// without copying them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, BorrowDecode)]
pub struct EventBodyRefV1<'a> {
    /// Global position.
    pub position: u64,
    /// Stream id.
    pub stream_id: &'a str,
    /// Version within the stream.
    pub stream_version: u64,
    /// Event type name.
    pub event_type: &'a str,
    /// Payload schema version.
    pub schema_version: u16,
    /// Business date as `yyyymmdd`.
    pub business_date: i32,
    /// Recorded time in microseconds since the Unix epoch.
    pub recorded_at_micros: i64,
    /// Command id.
    pub command_id: &'a str,
    /// Actor.
    pub actor: &'a str,
    /// Opaque payload.
    pub payload: &'a [u8],
}

/// Encodes an event body.
pub fn encode_body(body: &EventBodyRefV1<'_>) -> Result<Vec<u8>, CodecError> {
    bincode::encode_to_vec(body, body_config())
        .map_err(|error| CodecError::Malformed(format!("event body does not encode: {error}")))
}

/// Decodes an event body, refusing trailing bytes.
pub fn decode_body(bytes: &[u8]) -> Result<EventBodyV1, CodecError> {
    let (body, read): (EventBodyV1, usize) = bincode::decode_from_slice(bytes, body_config())
        .map_err(|error| CodecError::Malformed(format!("event body: {error}")))?;
    all_read(bytes, read)?;
    Ok(body)
}

/// Refuses an event body of which only `read` bytes were decoded.
fn all_read(bytes: &[u8], read: usize) -> Result<(), CodecError> {
    if read != bytes.len() {
        return Err(CodecError::Malformed(format!(
            "event body has {} trailing bytes",
            bytes.len() - read
        )));
    }
    Ok(())
}

/// Decodes an event body borrowing its text and payload from `bytes`, refusing trailing
/// bytes.
pub fn decode_body_borrowed(bytes: &[u8]) -> Result<EventBodyRefV1<'_>, CodecError> {
    let (body, read): (EventBodyRefV1<'_>, usize) =
        bincode::borrow_decode_from_slice(bytes, body_config())
            .map_err(|error| CodecError::Malformed(format!("event body: {error}")))?;
    all_read(bytes, read)?;
    Ok(body)
}

/// The chain hash of an event: SHA-256 over the previous hash and the encoded body.
pub fn chain_hash(previous_hash: &Hash, body: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(previous_hash);
    hasher.update(body);
    hasher.finalize().into()
}

/// Builds the envelope of a decoded body.
pub fn envelope_from_body(
    body: EventBodyV1,
    previous_hash: Hash,
    hash: Hash,
) -> Result<Envelope, CodecError> {
    let recorded_at = jiff::Timestamp::from_microsecond(body.recorded_at_micros)
        .map_err(|error| CodecError::Malformed(format!("recorded time: {error}")))?;
    Ok(Envelope {
        position: body.position,
        stream_id: body.stream_id,
        stream_version: body.stream_version,
        event_type: body.event_type,
        schema_version: body.schema_version,
        business_date: date_from_number(body.business_date)?,
        recorded_at,
        command_id: body.command_id,
        actor: body.actor,
        payload: body.payload,
        previous_hash,
        hash,
    })
}

/// Accumulates encoded events into one block value.
#[derive(Debug)]
pub struct BlockWriter {
    bytes: Vec<u8>,
    count: u32,
    first_position: u64,
}

impl BlockWriter {
    /// Starts a block whose first event is at `first_position`, chained to `previous_hash`.
    pub fn new(first_position: u64, previous_hash: &Hash) -> Self {
        let mut bytes = Vec::with_capacity(BLOCK_BYTES_MAX);
        bytes.push(FORMAT_BLOCK_V1);
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&first_position.to_le_bytes());
        bytes.extend_from_slice(previous_hash);
        BlockWriter {
            bytes,
            count: 0,
            first_position,
        }
    }

    /// Whether an event body of `body_len` bytes still fits.
    pub fn fits(&self, body_len: usize) -> bool {
        self.bytes.len() + ITEM_OVERHEAD_BYTES + body_len + BLOCK_TRAILER_BYTES <= BLOCK_BYTES_MAX
    }

    /// Adds an event.
    pub fn push(&mut self, body: &[u8], hash: &Hash) {
        debug_assert!(self.fits(body.len()), "a block stays under BLOCK_BYTES_MAX");
        self.bytes
            .extend_from_slice(&(body.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(body);
        self.bytes.extend_from_slice(hash);
        self.count += 1;
    }

    /// How many events the block holds.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The position of the block's last event.
    pub fn last_position(&self) -> u64 {
        self.first_position + u64::from(self.count) - 1
    }

    /// Closes the block and returns its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes[1..5].copy_from_slice(&self.count.to_le_bytes());
        self.bytes.extend_from_slice(&BLOCK_END_MAGIC);
        self.bytes.extend_from_slice(&self.count.to_le_bytes());
        self.bytes
    }
}

/// One event inside a block, still encoded.
#[derive(Debug, Clone, Copy)]
pub struct RawEvent<'a> {
    /// Its position.
    pub position: u64,
    /// The encoded body.
    pub body: &'a [u8],
    /// The stored hash.
    pub hash: Hash,
}

/// Walks the events of one block without decoding their bodies.
#[derive(Debug)]
pub struct BlockCursor<'a> {
    bytes: &'a [u8],
    offset: usize,
    remaining: u32,
    next_position: u64,
    /// How many events the header says the block holds.
    pub count: u32,
    /// The position of the block's first event.
    pub first_position: u64,
    /// The hash the first event chains to.
    pub previous_hash: Hash,
}

fn take<'a>(
    bytes: &'a [u8],
    offset: usize,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], CodecError> {
    let end = offset.checked_add(len).ok_or(CodecError::Truncated(what))?;
    bytes.get(offset..end).ok_or(CodecError::Truncated(what))
}

fn take_array<const N: usize>(
    bytes: &[u8],
    offset: usize,
    what: &'static str,
) -> Result<[u8; N], CodecError> {
    let slice = take(bytes, offset, N, what)?;
    <[u8; N]>::try_from(slice).map_err(|_| CodecError::Truncated(what))
}

impl<'a> BlockCursor<'a> {
    /// Reads a block's header and checks its trailer.
    pub fn open(bytes: &'a [u8]) -> Result<Self, CodecError> {
        let format = *bytes
            .first()
            .ok_or(CodecError::Truncated("block format byte"))?;
        if format != FORMAT_BLOCK_V1 {
            return Err(CodecError::UnknownFormat {
                found: format,
                expected: FORMAT_BLOCK_V1,
            });
        }
        let count = u32::from_le_bytes(take_array(bytes, 1, "block count")?);
        let first_position = u64::from_le_bytes(take_array(bytes, 5, "block first position")?);
        let previous_hash: Hash = take_array(bytes, 13, "block previous hash")?;
        let trailer_at = bytes
            .len()
            .checked_sub(BLOCK_TRAILER_BYTES)
            .filter(|at| *at >= BLOCK_HEADER_BYTES)
            .ok_or(CodecError::Truncated("block trailer"))?;
        let magic: [u8; 4] = take_array(bytes, trailer_at, "block end magic")?;
        let trailer_count =
            u32::from_le_bytes(take_array(bytes, trailer_at + 4, "block end count")?);
        if magic != BLOCK_END_MAGIC || trailer_count != count {
            return Err(CodecError::Malformed(format!(
                "block trailer does not close a block of {count} events"
            )));
        }
        // The last position must be a u64 too, so that walking the block cannot overflow.
        let last_position = first_position.checked_add(u64::from(count).saturating_sub(1));
        if count == 0 || first_position == 0 || last_position.is_none() {
            return Err(CodecError::Malformed(format!(
                "block header names {count} events from position {first_position}"
            )));
        }
        Ok(BlockCursor {
            bytes: &bytes[..trailer_at],
            offset: BLOCK_HEADER_BYTES,
            remaining: count,
            next_position: first_position,
            count,
            first_position,
            previous_hash,
        })
    }

    /// The position of the block's last event, as its header says (`open` checked that it
    /// is a u64, and that `count` is at least one: subtract first, or a block ending at
    /// `u64::MAX` overflows).
    pub fn last_position(&self) -> u64 {
        self.first_position + (u64::from(self.count) - 1)
    }

    /// How many events a reader may reserve room for: the header's count, but never more
    /// than the block's remaining bytes could hold, so a damaged count cannot make a
    /// reader allocate for four billion events.
    pub fn capacity_hint(&self) -> usize {
        let room = self.bytes.len().saturating_sub(self.offset) / ITEM_OVERHEAD_BYTES;
        usize::try_from(self.remaining).map_or(room, |remaining| remaining.min(room))
    }

    /// The position of the event [`BlockCursor::next_event`] reads next.
    pub fn next_position(&self) -> u64 {
        self.next_position
    }

    /// The next event, or `None` at the end; an error if the items do not match the header.
    pub fn next_event(&mut self) -> Result<Option<RawEvent<'a>>, CodecError> {
        if self.remaining == 0 {
            if self.offset != self.bytes.len() {
                return Err(CodecError::Malformed(format!(
                    "block has {} bytes after its last event",
                    self.bytes.len() - self.offset
                )));
            }
            return Ok(None);
        }
        let len = u32::from_le_bytes(take_array(self.bytes, self.offset, "event length")?) as usize;
        if len > BODY_BYTES_MAX {
            return Err(CodecError::Malformed(format!(
                "event length {len} exceeds {BODY_BYTES_MAX}"
            )));
        }
        let body_at = self
            .offset
            .checked_add(4)
            .ok_or(CodecError::Truncated("event body"))?;
        let body = take(self.bytes, body_at, len, "event body")?;
        let hash: Hash = take_array(self.bytes, body_at + len, "event hash")?;
        self.offset += ITEM_OVERHEAD_BYTES + len;
        self.remaining -= 1;
        let position = self.next_position;
        // Saturating: after an event at u64::MAX there is no next one to name.
        self.next_position = self.next_position.saturating_add(1);
        Ok(Some(RawEvent {
            position,
            body,
            hash,
        }))
    }
}

/// An idempotency record: the request digest and where the command's events landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Digest of the original request.
    pub request_digest: Hash,
    /// First position of its events.
    pub first_position: u64,
    /// Number of its events.
    pub count: u32,
}

impl IdempotencyRecord {
    /// Encodes the record.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(1 + 32 + 8 + 4);
        bytes.push(FORMAT_IDEMPOTENCY_V1);
        bytes.extend_from_slice(&self.request_digest);
        bytes.extend_from_slice(&self.first_position.to_le_bytes());
        bytes.extend_from_slice(&self.count.to_le_bytes());
        bytes
    }

    /// Decodes a record.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        expect_format(bytes, FORMAT_IDEMPOTENCY_V1, 1 + 32 + 8 + 4)?;
        Ok(IdempotencyRecord {
            request_digest: take_array(bytes, 1, "request digest")?,
            first_position: u64::from_le_bytes(take_array(bytes, 33, "first position")?),
            count: u32::from_le_bytes(take_array(bytes, 41, "count")?),
        })
    }
}

fn expect_format(bytes: &[u8], expected: u8, len: usize) -> Result<(), CodecError> {
    let found = *bytes.first().ok_or(CodecError::Truncated("format byte"))?;
    if found != expected {
        return Err(CodecError::UnknownFormat { found, expected });
    }
    if bytes.len() != len {
        return Err(CodecError::Malformed(format!(
            "record is {} bytes, expected {len}",
            bytes.len()
        )));
    }
    Ok(())
}

/// Encodes a head record: position, hash and the last recorded time.
pub fn encode_head(position: u64, hash: &Hash, recorded_at_micros: i64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1 + 8 + 32 + 8);
    bytes.push(FORMAT_HEAD_V1);
    bytes.extend_from_slice(&position.to_le_bytes());
    bytes.extend_from_slice(hash);
    bytes.extend_from_slice(&recorded_at_micros.to_le_bytes());
    bytes
}

/// Decodes a head record.
pub fn decode_head(bytes: &[u8]) -> Result<(u64, Hash, i64), CodecError> {
    expect_format(bytes, FORMAT_HEAD_V1, 1 + 8 + 32 + 8)?;
    Ok((
        u64::from_le_bytes(take_array(bytes, 1, "head position")?),
        take_array(bytes, 9, "head hash")?,
        i64::from_le_bytes(take_array(bytes, 41, "head recorded time")?),
    ))
}

/// One slot of the head record file ([`super::head_record`]): which write of the record it
/// was, and the acknowledged head it records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadRecordSlot {
    /// Counts the record's writes; the valid slot with the larger sequence is the record.
    pub sequence: u64,
    /// The acknowledged head position.
    pub position: u64,
    /// The chain hash at that position.
    pub hash: Hash,
}

/// Encodes a head-record slot:
/// `FORMAT_HEAD_RECORD_V1 | sequence u64 | position u64 | hash [32] | SHA-256 of the rest [32]`.
pub fn encode_head_record_slot(slot: &HeadRecordSlot) -> [u8; HEAD_RECORD_SLOT_BYTES] {
    let mut bytes = [0u8; HEAD_RECORD_SLOT_BYTES];
    bytes[0] = FORMAT_HEAD_RECORD_V1;
    bytes[1..9].copy_from_slice(&slot.sequence.to_le_bytes());
    bytes[9..17].copy_from_slice(&slot.position.to_le_bytes());
    bytes[17..HEAD_RECORD_CHECKED_BYTES].copy_from_slice(&slot.hash);
    let checksum: Hash = Sha256::digest(&bytes[..HEAD_RECORD_CHECKED_BYTES]).into();
    bytes[HEAD_RECORD_CHECKED_BYTES..].copy_from_slice(&checksum);
    bytes
}

/// Decodes a head-record slot, refusing one whose checksum does not hold (a torn or damaged
/// write, or a slot never written).
pub fn decode_head_record_slot(bytes: &[u8]) -> Result<HeadRecordSlot, CodecError> {
    expect_format(bytes, FORMAT_HEAD_RECORD_V1, HEAD_RECORD_SLOT_BYTES)?;
    let checksum: Hash = Sha256::digest(&bytes[..HEAD_RECORD_CHECKED_BYTES]).into();
    if bytes[HEAD_RECORD_CHECKED_BYTES..] != checksum {
        return Err(CodecError::Malformed(
            "head record slot checksum does not match".to_owned(),
        ));
    }
    Ok(HeadRecordSlot {
        sequence: u64::from_le_bytes(take_array(bytes, 1, "head record sequence")?),
        position: u64::from_le_bytes(take_array(bytes, 9, "head record position")?),
        hash: take_array(bytes, 17, "head record hash")?,
    })
}

/// Encodes a domain payload with bincode's serde mode behind a format byte.
pub fn encode_payload<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut bytes = vec![FORMAT_PAYLOAD_BINCODE_V1];
    bincode::serde::encode_into_std_write(value, &mut bytes, bincode::config::standard())
        .map_err(|error| CodecError::Malformed(format!("payload does not encode: {error}")))?;
    Ok(bytes)
}

/// Decodes a payload written by [`encode_payload`], refusing trailing bytes.
pub fn decode_payload<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let found = *bytes
        .first()
        .ok_or(CodecError::Truncated("payload format byte"))?;
    if found != FORMAT_PAYLOAD_BINCODE_V1 {
        return Err(CodecError::UnknownFormat {
            found,
            expected: FORMAT_PAYLOAD_BINCODE_V1,
        });
    }
    let config = bincode::config::standard().with_limit::<PAYLOAD_DECODED_BYTES_MAX>();
    let (value, read) = bincode::serde::decode_from_slice(&bytes[1..], config)
        .map_err(|error| CodecError::Malformed(format!("payload: {error}")))?;
    if read != bytes.len() - 1 {
        return Err(CodecError::Malformed(format!(
            "payload has {} trailing bytes",
            bytes.len() - 1 - read
        )));
    }
    Ok(value)
}

/// Encodes a projection checkpoint (the whole books) behind [`FORMAT_CHECKPOINT_V1`].
pub fn encode_checkpoint<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    encode_projection_record(FORMAT_CHECKPOINT_V1, value)
}

/// Decodes a checkpoint written by [`encode_checkpoint`].
pub fn decode_checkpoint<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_projection_record(FORMAT_CHECKPOINT_V1, bytes)
}

/// Encodes a projection record (bincode serde mode, standard configuration) behind
/// `format`, one of the projection format bytes.
pub fn encode_projection_record<T: serde::Serialize>(
    format: u8,
    value: &T,
) -> Result<Vec<u8>, CodecError> {
    let mut bytes = vec![format];
    bincode::serde::encode_into_std_write(value, &mut bytes, bincode::config::standard())
        .map_err(|error| CodecError::Malformed(format!("checkpoint does not encode: {error}")))?;
    Ok(bytes)
}

/// The format byte heading a stored record.
pub fn record_format(bytes: &[u8]) -> Result<u8, CodecError> {
    bytes
        .first()
        .copied()
        .ok_or(CodecError::Truncated("format byte"))
}

/// Decodes a projection record written by [`encode_projection_record`] with `format`,
/// refusing another format byte and trailing bytes.
pub fn decode_projection_record<T: serde::de::DeserializeOwned>(
    format: u8,
    bytes: &[u8],
) -> Result<T, CodecError> {
    let found = record_format(bytes)?;
    if found != format {
        return Err(CodecError::UnknownFormat {
            found,
            expected: format,
        });
    }
    let config = bincode::config::standard().with_limit::<CHECKPOINT_BYTES_MAX>();
    let (value, read) = bincode::serde::decode_from_slice(&bytes[1..], config)
        .map_err(|error| CodecError::Malformed(format!("checkpoint: {error}")))?;
    if read != bytes.len() - 1 {
        return Err(CodecError::Malformed(
            "checkpoint has trailing bytes".to_owned(),
        ));
    }
    Ok(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;

    /// The borrowed body written on append decodes as the owned schema-1 body it mirrors.
    #[test]
    fn borrowed_body_encodes_as_the_owned_body() {
        let payload = vec![1u8, 2, 3, 0, 255];
        let borrowed = EventBodyRefV1 {
            position: 42,
            stream_id: "person/110101199001011234",
            stream_version: 7,
            event_type: "PersonEnrolled",
            schema_version: 1,
            business_date: 20200131,
            recorded_at_micros: 1_700_000_000_000_000,
            command_id: "c-1",
            actor: "tax-bureau",
            payload: &payload,
        };
        let bytes = encode_body(&borrowed).unwrap();
        let owned = decode_body(&bytes).unwrap();
        assert_eq!(
            owned,
            EventBodyV1 {
                position: 42,
                stream_id: "person/110101199001011234".to_owned(),
                stream_version: 7,
                event_type: "PersonEnrolled".to_owned(),
                schema_version: 1,
                business_date: 20200131,
                recorded_at_micros: 1_700_000_000_000_000,
                command_id: "c-1".to_owned(),
                actor: "tax-bureau".to_owned(),
                payload: payload.clone(),
            }
        );
        assert_eq!(
            bincode::encode_to_vec(&owned, body_config()).unwrap(),
            bytes
        );
        assert_eq!(decode_body_borrowed(&bytes).unwrap(), borrowed);
    }

    /// A head-record slot round-trips, and any one flipped bit makes it refused.
    #[test]
    fn head_record_slot_refuses_every_flipped_bit() {
        let slot = HeadRecordSlot {
            sequence: 7,
            position: 400,
            hash: [0xAB; 32],
        };
        let bytes = encode_head_record_slot(&slot);
        assert_eq!(decode_head_record_slot(&bytes), Ok(slot));
        for byte in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes;
                damaged[byte] ^= 1 << bit;
                assert!(
                    decode_head_record_slot(&damaged).is_err(),
                    "a flip of bit {bit} of byte {byte} is detected"
                );
            }
        }
        assert!(decode_head_record_slot(&[0u8; HEAD_RECORD_SLOT_BYTES]).is_err());
    }
}
