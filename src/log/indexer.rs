//! The indexer thread: writes the stream index behind the writer.
//!
//! One sled key per event is the costliest write sled 0.34 makes, so the writer's hot path
//! stores only blocks and idempotency records (a commit of a few events, made while the
//! index is level with the head, indexes itself); this thread reads the durable blocks and
//! writes `S` entries followed by the `X` mark of how far it got. The index is derived
//! data: after a crash it resumes from its mark, and the writer rebuilds its map of
//! unindexed stream tips from the same point.

use std::sync::Arc;

use super::codec::{self, BlockCursor};
use super::error::{Error, Result};
use super::keys;
use super::store::Shared;

/// The most events one index batch covers.
pub const INDEX_BATCH_EVENTS_MAX: u64 = 4096;

/// The indexed-position mark stored with the index (0 if none).
pub fn load_mark(tree: &sled::Tree) -> Result<u64> {
    match tree.get(keys::INDEXED)? {
        None => Ok(0),
        Some(bytes) => <[u8; 8]>::try_from(bytes.as_ref())
            .map(u64::from_be_bytes)
            .map_err(|_| Error::Undecodable {
                key: "index mark".to_owned(),
                reason: "not 8 bytes".to_owned(),
            }),
    }
}

/// Calls `visit(stream_id, version, position)` for every event in `from..=to`.
pub fn scan_streams(
    tree: &sled::Tree,
    from: u64,
    to: u64,
    visit: &mut dyn FnMut(&str, u64, u64),
) -> Result<()> {
    if from > to {
        return Ok(());
    }
    for entry in tree.range(&keys::block(from)[..]..=&keys::block(u64::MAX)[..]) {
        let (key, bytes) = entry?;
        let key_position = keys::block_position(&key).unwrap_or(0);
        let corrupt = |position, reason: String| Error::Corrupt { position, reason };
        let mut cursor =
            BlockCursor::open(&bytes).map_err(|error| corrupt(key_position, error.to_string()))?;
        loop {
            let position = cursor.next_position();
            let raw = match cursor.next_event() {
                Ok(Some(raw)) => raw,
                Ok(None) => break,
                Err(error) => return Err(corrupt(position, error.to_string())),
            };
            if raw.position > to {
                return Ok(());
            }
            if raw.position >= from {
                let body = codec::decode_body_borrowed(raw.body)
                    .map_err(|error| corrupt(raw.position, error.to_string()))?;
                visit(body.stream_id, body.stream_version, raw.position);
            }
        }
    }
    Ok(())
}

/// Indexes `from..=to`, then moves the mark.
///
/// Entries go in one insert at a time, not as one batch: sled 0.34's `apply_batch` holds a
/// process-wide write lock for the whole batch, which would stall the writer's group
/// commits behind thousands of index inserts. Entries are idempotent and sled recovers a
/// prefix of its operations, so a mark that survives a crash implies its entries did.
fn index_range(tree: &sled::Tree, from: u64, to: u64) -> Result<()> {
    let mut failure = None;
    scan_streams(tree, from, to, &mut |stream_id, version, position| {
        if failure.is_none()
            && let Err(error) = tree.insert(
                keys::stream_entry(stream_id, version),
                &position.to_be_bytes()[..],
            )
        {
            failure = Some(error);
        }
    })?;
    if let Some(error) = failure {
        return Err(error.into());
    }
    tree.insert(keys::INDEXED, &to.to_be_bytes()[..])?;
    Ok(())
}

/// Runs until the log stops and the index has caught up with the durable head.
pub(crate) fn run(shared: Arc<Shared>) {
    let mut indexed = 0;
    while let Some((mark, durable)) = shared.wait_for_unindexed() {
        // The writer moves the mark itself only while the index is level with the head,
        // so it never writes inside a range this thread is indexing.
        let to = durable.min(mark + INDEX_BATCH_EVENTS_MAX);
        if let Err(error) = index_range(&shared.tree, mark + 1, to) {
            tracing::error!(%error, "the stream indexer failed; stream reads will fail");
            shared.index_failed(error.to_string());
            return;
        }
        indexed = to;
        shared.set_indexed(indexed);
    }
    tracing::debug!(indexed, "stream indexer stopped");
}
