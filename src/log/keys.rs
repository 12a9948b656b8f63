//! The key layout of the one sled tree that holds the log.
//!
//! Everything lives in one tree so that one `apply_batch` commits a command's events, its
//! idempotency record and the new head atomically. The stream index (`S`, then `X`) is
//! written in the same batch by a small group commit when the index is level with the
//! head, and otherwise behind them by the indexer, one entry at a time, then its mark.
//!
//! | key | value |
//! |---|---|
//! | `B` last_position (u64 BE) | a block of events ([`super::codec`]) |
//! | `S` stream_id `0x00` version (u64 BE) | position (u64 BE) |
//! | `I` command_id | idempotency record |
//! | `T` recorded_micros (u64 BE) last_position (u64 BE) | empty: one per group commit |
//! | `H` | head record: last position, hash, recorded time |
//! | `V` | verified mark: the head as of the last full chain check |
//! | `X` | index mark: the stream index holds every event up to this position |
//!
//! Keying a block by its *last* position lets `range(B p ..)` find the block that holds
//! position `p` with one seek.

/// Prefix of block keys.
pub const BLOCK: u8 = b'B';
/// Prefix of stream-index keys.
pub const STREAM: u8 = b'S';
/// Prefix of idempotency keys.
pub const IDEMPOTENCY: u8 = b'I';
/// Prefix of recorded-time index keys.
pub const TIME: u8 = b'T';
/// The head key.
pub const HEAD: &[u8] = b"H";
/// The verified-mark key.
pub const VERIFIED: &[u8] = b"V";
/// The stream index's mark: every event up to this position (u64 BE) is indexed.
pub const INDEXED: &[u8] = b"X";

/// The key of the block whose last event is at `last_position`.
pub fn block(last_position: u64) -> [u8; 9] {
    let mut key = [BLOCK; 9];
    key[1..].copy_from_slice(&last_position.to_be_bytes());
    key
}

/// The position a block key names, if it is one.
pub fn block_position(key: &[u8]) -> Option<u64> {
    match key {
        [BLOCK, rest @ ..] => <[u8; 8]>::try_from(rest).ok().map(u64::from_be_bytes),
        _ => None,
    }
}

/// The prefix under which a stream's index entries live.
pub fn stream_prefix(stream_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(stream_id.len() + 2);
    key.push(STREAM);
    key.extend_from_slice(stream_id.as_bytes());
    key.push(0);
    key
}

/// The index key of one stream version.
pub fn stream_entry(stream_id: &str, version: u64) -> Vec<u8> {
    let mut key = stream_prefix(stream_id);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// The version a stream index key names.
pub fn stream_entry_version(key: &[u8]) -> Option<u64> {
    let tail = key.len().checked_sub(8)?;
    <[u8; 8]>::try_from(&key[tail..])
        .ok()
        .map(u64::from_be_bytes)
}

/// The idempotency key of a command.
pub fn idempotency(command_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(command_id.len() + 1);
    key.push(IDEMPOTENCY);
    key.extend_from_slice(command_id.as_bytes());
    key
}

/// The recorded-time index key of a group commit.
pub fn time(recorded_micros: u64, last_position: u64) -> [u8; 17] {
    let mut key = [TIME; 17];
    key[1..9].copy_from_slice(&recorded_micros.to_be_bytes());
    key[9..].copy_from_slice(&last_position.to_be_bytes());
    key
}

/// The last position a recorded-time key names.
pub fn time_position(key: &[u8]) -> Option<u64> {
    match key {
        [TIME, rest @ ..] if rest.len() == 16 => {
            <[u8; 8]>::try_from(&rest[8..]).ok().map(u64::from_be_bytes)
        }
        _ => None,
    }
}
