//! The event log: durable, atomic, hash-chained appends on sled, and the reads back.
//!
//! It owns the envelope, the codec, group commit, reads, verification and recovery. It
//! stores envelopes around opaque payloads and never interprets them: no policy lives here.
//!
//! # Guarantees
//! - An append is acknowledged only after its batch is applied, flushed and fsynced.
//! - A command's events, its idempotency record and the new head commit atomically, in one
//!   sled batch, under optimistic concurrency on stream versions.
//! - The stream index is derived: a small commit made while the index is level writes its
//!   own entries; otherwise the indexer writes them behind the writer, entry by entry then
//!   its mark, and resumes from the mark after a crash; stream reads wait for it.
//! - Positions are dense from 1; every event's hash chains to the one before it.
//! - Readers never see past the last acknowledged position.
//! - The acknowledged head is also kept outside sled, in the head record, at most
//!   [`HEAD_RECORD_LAG_MAX`] behind; an open refuses a log that ends before it or differs
//!   at it.
//!
//! # Layout
//! - `envelope.rs`: what is stored and what callers hand in; limits.
//! - `codec.rs`: the one module that turns records into bytes (format bytes, framing).
//! - `keys.rs`: the key layout of the single sled tree.
//! - `writer.rs`: the writer thread (group commit) and the syncer thread (fsync, then
//!   acknowledgement).
//! - `indexer.rs`: the indexer thread that writes the stream index behind the writer.
//! - `store.rs`: the [`Log`] handle: open, recover, append, read.
//! - `head_record.rs`: the head record, a small file beside sled's that keeps the
//!   acknowledged head, so an open refuses a log that damage has shortened.
//! - `verify.rs`: chain verification.
//! - `error.rs`: [`Error`].

pub mod codec;
mod envelope;
mod error;
mod head_record;
mod indexer;
mod keys;
mod store;
mod verify;
mod writer;

pub use envelope::{
    AppendRequest, Appended, COMMAND_EVENTS_MAX, COMMAND_ID_BYTES_MAX, Committed,
    EVENT_TYPE_BYTES_MAX, Envelope, EventRef, EventStamp, ExpectedVersion, GENESIS_HASH, Hash,
    Head, NewEvent, PAYLOAD_BYTES_MAX, STREAM_ID_BYTES_MAX,
};
pub use error::{Error, Result};
pub use head_record::{HEAD_RECORD_FILE, HEAD_RECORD_LAG_MAX};
pub use indexer::INDEX_BATCH_EVENTS_MAX;
pub use store::{
    BlockScan, EventIter, INDEX_DEFER_EVENTS_MAX, INDEX_DEFER_IDLE, Log, LogConfig, OpenCheck,
    SLED_SEGMENT_BYTES, ScannedBlock, StreamIter, VERIFY_MARK_LAG_EVENTS, decode_block, digest,
    open_sled_waiting,
};
pub use verify::{VERIFY_PROGRESS_EVENTS, VerifyReport};
pub use writer::{
    APPEND_BATCH_COMMANDS_MAX, APPEND_BATCH_EVENTS_MAX, APPEND_QUEUE_DEPTH_MAX,
    INDEX_LAG_EVENTS_MAX, INLINE_INDEX_EVENTS_MAX,
};
