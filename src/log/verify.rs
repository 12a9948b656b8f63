//! Recomputes the hash chain and names the first position where it breaks.

use super::codec::{self, BlockCursor};
use super::envelope::{GENESIS_HASH, Hash, Head};
use super::error::{Error, Result};
use super::keys;

/// How often verification reports progress, in events.
pub const VERIFY_PROGRESS_EVENTS: u64 = 1 << 16;

/// Where a chain check starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyFrom {
    /// Position 1.
    Start,
    /// The head recorded by the last successful full check (position 1 if none).
    VerifiedMark,
    /// A head digest the caller trusts, such as one an auditor exported earlier.
    Trusted(Head),
}

/// What a successful check covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyReport {
    /// The first position whose hash was recomputed.
    pub from_position: u64,
    /// The head the chain leads to.
    pub head: Head,
    /// How many events were recomputed.
    pub events_verified: u64,
}

fn corrupt(position: u64, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        position,
        reason: reason.into(),
    }
}

/// Checks one block on its own: its key, framing and internal chain. Returns the hash of
/// its last event.
pub fn check_block(bytes: &[u8], key_position: u64) -> Result<Hash> {
    let mut cursor =
        BlockCursor::open(bytes).map_err(|error| corrupt(key_position, error.to_string()))?;
    if cursor.last_position() != key_position {
        return Err(corrupt(
            key_position,
            format!(
                "block keyed at {key_position} says it ends at {}",
                cursor.last_position()
            ),
        ));
    }
    let mut previous = cursor.previous_hash;
    loop {
        let position = cursor.next_position();
        match cursor.next_event() {
            Err(error) => return Err(corrupt(position, error.to_string())),
            Ok(None) => return Ok(previous),
            Ok(Some(raw)) => {
                if codec::chain_hash(&previous, raw.body) != raw.hash {
                    return Err(corrupt(
                        raw.position,
                        "stored hash does not match the event",
                    ));
                }
                previous = raw.hash;
            }
        }
    }
}

/// Recomputes the chain from `from` up to `end` (the durable head position).
pub fn verify(
    tree: &sled::Tree,
    end: u64,
    from: VerifyFrom,
    progress: &mut dyn FnMut(u64),
) -> Result<VerifyReport> {
    let trusted = match from {
        VerifyFrom::Start => Head {
            position: 0,
            hash: GENESIS_HASH,
        },
        VerifyFrom::Trusted(head) => head,
        VerifyFrom::VerifiedMark => load_mark(tree)?.unwrap_or_default(),
    };
    if trusted.position > end {
        return Err(corrupt(
            end + 1,
            format!("the trusted head {trusted} lies beyond the log's end at {end}"),
        ));
    }
    let start = trusted.position + 1;
    let mut previous = trusted.hash;
    let mut next = trusted.position.max(1);
    let mut verified = 0u64;
    let blocks = tree.range(&keys::block(next)[..]..=&keys::block(u64::MAX)[..]);
    let mut first_block = true;
    'blocks: for entry in blocks {
        let (key, bytes) = entry?;
        let key_position = keys::block_position(&key).unwrap_or(0);
        let mut cursor =
            BlockCursor::open(&bytes).map_err(|error| corrupt(next, error.to_string()))?;
        // Only the first block may start before `next`: a trusted head can lie inside it.
        let holds_next = cursor.first_position == next
            || (first_block && cursor.first_position <= next && next <= key_position);
        first_block = false;
        if !holds_next || cursor.last_position() != key_position {
            return Err(corrupt(
                next,
                format!(
                    "block keyed at {key_position} holds {}..={} where position {next} was due",
                    cursor.first_position,
                    cursor.last_position()
                ),
            ));
        }
        if cursor.first_position >= start && cursor.previous_hash != previous {
            return Err(corrupt(
                cursor.first_position,
                "block does not chain to the event before it",
            ));
        }
        // The hash stored before each event, for the trusted event's own check.
        let mut stored_previous = cursor.previous_hash;
        loop {
            let position = cursor.next_position();
            let raw = match cursor.next_event() {
                Err(error) => return Err(corrupt(position, error.to_string())),
                Ok(None) => break,
                Ok(Some(raw)) => raw,
            };
            if raw.position > end {
                break 'blocks;
            }
            // The trusted event itself is rehashed too: its stored hash alone would let
            // an altered body at exactly that position pass.
            if raw.position + 1 == start
                && (raw.hash != trusted.hash
                    || codec::chain_hash(&stored_previous, raw.body) != raw.hash)
            {
                return Err(corrupt(
                    raw.position,
                    format!("the stored event differs from the trusted head {trusted}"),
                ));
            }
            stored_previous = raw.hash;
            if raw.position >= start {
                if codec::chain_hash(&previous, raw.body) != raw.hash {
                    return Err(corrupt(
                        raw.position,
                        "stored hash does not match the event",
                    ));
                }
                previous = raw.hash;
                verified += 1;
                if verified.is_multiple_of(VERIFY_PROGRESS_EVENTS) {
                    progress(raw.position);
                }
            }
            next = raw.position + 1;
        }
    }
    let reached = next.saturating_sub(1).max(trusted.position);
    if reached != end {
        return Err(corrupt(
            reached + 1,
            format!("events {}..={end} are missing", reached + 1),
        ));
    }
    progress(end);
    Ok(VerifyReport {
        from_position: start,
        head: Head {
            position: end,
            hash: previous,
        },
        events_verified: verified,
    })
}

/// Checks the chain from the verified mark to `end` and moves the mark there. The mark is
/// the log's own word that every event up to it was hashed and found linked, so an open
/// re-hashes only what came after it.
pub fn advance_mark(tree: &sled::Tree, end: u64) -> Result<VerifyReport> {
    let report = verify(tree, end, VerifyFrom::VerifiedMark, &mut |_| {})?;
    store_mark(tree, report.head)?;
    Ok(report)
}

/// Records `head` as verified.
pub fn store_mark(tree: &sled::Tree, head: Head) -> Result<()> {
    tree.insert(
        keys::VERIFIED,
        codec::encode_head(head.position, &head.hash, 0),
    )?;
    Ok(())
}

/// The head recorded by the last check that covered the chain from position 1.
pub fn load_mark(tree: &sled::Tree) -> Result<Option<Head>> {
    match tree.get(keys::VERIFIED)? {
        None => Ok(None),
        Some(bytes) => {
            let (position, hash, _) =
                codec::decode_head(&bytes).map_err(|error| Error::Undecodable {
                    key: "verified mark".to_owned(),
                    reason: error.to_string(),
                })?;
            Ok(Some(Head { position, hash }))
        }
    }
}
