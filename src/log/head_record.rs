//! The head record: the log's own durable note of how far it reached, kept outside sled.
//!
//! sled 0.34 recovers to the last record of its own log whose checksum holds. That is right
//! for a torn tail and wrong for a byte damaged in the middle of its file, after which it
//! opens a shorter log without a word (or, with the file's first byte flipped, an empty
//! one). So every head the syncer acknowledges (after sled's flush and fsync) is also
//! written here and fsynced, by the recorder thread ([`Recorder`]), at most
//! [`HEAD_RECORD_LAG_MAX`] later; every open compares the recovered log with the record
//! ([`check`]) and refuses a log that ends before it ([`Error::Truncated`]) or whose event
//! at the recorded position has another hash ([`Error::Corrupt`]).
//!
//! The file ([`HEAD_RECORD_FILE`] in the data directory) holds two fixed slots, a page
//! apart, written alternately: each a checksummed [`codec::HeadRecordSlot`] with a sequence
//! number, so a torn write of one slot leaves the other, one write older, valid. An older
//! head is never a false alarm: the log may be ahead of its record (a crash between sled's
//! fsync and the record's), never behind it. So the record is written only with a head
//! sled already holds durably, and it never goes back.
//!
//! It must never decide anything about events: it only says how far the log reached.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::codec::{self, HEAD_RECORD_SLOT_BYTES, HeadRecordSlot};
use super::envelope::{GENESIS_HASH, Hash, Head};
use super::error::{Error, Result};

/// The head record's file name, in the data directory.
pub const HEAD_RECORD_FILE: &str = "head.record";
/// How many slots the record alternates between.
const SLOT_COUNT: u64 = 2;
/// Where each slot starts after the one before: a page apart, so that a torn write of one
/// page cannot touch the other slot.
const SLOT_STRIDE_BYTES: u64 = 4096;

const _: () = assert!(
    HEAD_RECORD_SLOT_BYTES as u64 <= SLOT_STRIDE_BYTES,
    "a slot fits in its page"
);

/// The open head record: its file and the newest head it holds.
#[derive(Debug)]
pub(crate) struct HeadRecord {
    file: File,
    /// The sequence number of the newest valid slot.
    sequence: u64,
    head: Head,
}

fn slot_offset(sequence: u64) -> u64 {
    (sequence % SLOT_COUNT) * SLOT_STRIDE_BYTES
}

fn encode(sequence: u64, head: Head) -> [u8; HEAD_RECORD_SLOT_BYTES] {
    codec::encode_head_record_slot(&HeadRecordSlot {
        sequence,
        position: head.position,
        hash: head.hash,
    })
}

impl HeadRecord {
    /// Reads the record in `directory`: `None` if there is none, its newest valid slot
    /// otherwise. A record with no valid slot is refused ([`Error::Undecodable`]): how far
    /// the log reached can no longer be told.
    pub fn load(directory: &Path) -> Result<Option<HeadRecord>> {
        let path = directory.join(HEAD_RECORD_FILE);
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let mut newest: Option<HeadRecordSlot> = None;
        let mut reasons = Vec::new();
        for sequence in 0..SLOT_COUNT {
            let mut bytes = [0u8; HEAD_RECORD_SLOT_BYTES];
            let decoded = file
                .read_exact_at(&mut bytes, slot_offset(sequence))
                .map_err(|error| error.to_string())
                .and_then(|()| {
                    codec::decode_head_record_slot(&bytes).map_err(|error| error.to_string())
                });
            match decoded {
                Ok(slot) if newest.is_none_or(|kept| slot.sequence > kept.sequence) => {
                    newest = Some(slot);
                }
                Ok(_) => {}
                Err(reason) => reasons.push(format!("slot {sequence}: {reason}")),
            }
        }
        let Some(newest) = newest else {
            return Err(Error::Undecodable {
                key: format!("head record {}", path.display()),
                reason: reasons.join("; "),
            });
        };
        Ok(Some(HeadRecord {
            file,
            sequence: newest.sequence,
            head: Head {
                position: newest.position,
                hash: newest.hash,
            },
        }))
    }

    /// Creates the record in `directory` at `head`, which sled holds durably: written to a
    /// temporary file with both slots, fsynced, renamed into place and the directory
    /// fsynced, so a crash leaves no record or a whole one. Later writes overwrite a slot
    /// in place and never change the file's size.
    pub fn create(directory: &Path, head: Head) -> Result<HeadRecord> {
        let temporary = directory.join(format!("{HEAD_RECORD_FILE}.new"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)?;
        file.set_len(SLOT_COUNT * SLOT_STRIDE_BYTES)?;
        for sequence in 0..SLOT_COUNT {
            file.write_all_at(&encode(sequence, head), slot_offset(sequence))?;
        }
        file.sync_all()?;
        std::fs::rename(&temporary, directory.join(HEAD_RECORD_FILE))?;
        File::open(directory)?.sync_all()?;
        Ok(HeadRecord {
            file,
            sequence: SLOT_COUNT - 1,
            head,
        })
    }

    /// The newest head recorded.
    pub fn head(&self) -> Head {
        self.head
    }

    /// Records `head`, which sled holds durably, in the older slot, and fsyncs it.
    pub fn write(&mut self, head: Head) -> std::io::Result<()> {
        assert!(
            head.position >= self.head.position,
            "the head record never goes back"
        );
        let sequence = self.sequence + 1;
        self.file
            .write_all_at(&encode(sequence, head), slot_offset(sequence))?;
        self.file.sync_data()?;
        self.sequence = sequence;
        self.head = head;
        Ok(())
    }
}

/// How long an acknowledged head may go unrecorded at most: the syncer holds back further
/// acknowledgements while the recorder lags longer (see [`Recorder`]).
pub const HEAD_RECORD_LAG_MAX: Duration = Duration::from_millis(100);

/// How long the recorder lets an acknowledged head wait before it writes the newest one, so
/// that one write covers every head acknowledged meanwhile. Writing back to back, its
/// fsyncs competed with sled's for the disk and cost 11-12% of the acknowledged appends
/// per second of 64 concurrent appenders (`fundledger bench log`, two runs on a loaded
/// machine); this bounds them to about 1 / 50 ms.
const HEAD_RECORD_DELAY: Duration = Duration::from_millis(50);

const _: () = assert!(
    HEAD_RECORD_DELAY.as_millis() * 2 <= HEAD_RECORD_LAG_MAX.as_millis(),
    "a delayed write has half the lag bound left to finish in"
);

/// The recorder thread: writes and fsyncs the newest acknowledged head, at most every
/// [`HEAD_RECORD_DELAY`], beside the syncer rather than in its way. Written by the syncer
/// itself between sled's fsync and the acknowledgement, the record's second fsync per group
/// commit cost 54% of the acknowledged appends per second of 64 concurrent appenders
/// (13.9k against 30.1k with `fundledger bench log`). So the syncer only notes each
/// acknowledged head here, and holds back its next acknowledgement while the oldest head
/// not yet recorded was acknowledged more than [`HEAD_RECORD_LAG_MAX`] ago: the record lags
/// the acknowledged head by at most that long (unless the disk stalls, when
/// acknowledgements wait for it).
#[derive(Debug)]
pub(crate) struct Recorder {
    shared: Arc<(Mutex<RecorderState>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the syncer and the recorder thread share.
#[derive(Debug)]
struct RecorderState {
    /// The newest acknowledged head.
    wanted: Head,
    /// The newest head written and fsynced.
    recorded: Head,
    /// When the oldest acknowledged head that no write has taken up yet was acknowledged.
    waiting_since: Option<Instant>,
    /// When the oldest head covered by the write in progress was acknowledged.
    writing_since: Option<Instant>,
    /// Why a write failed, if one did: the recorder stops.
    failed: Option<String>,
    stopping: bool,
}

impl Recorder {
    /// Starts the recorder thread, which owns `record`.
    pub fn spawn(record: HeadRecord) -> std::io::Result<Recorder> {
        let shared = Arc::new((
            Mutex::new(RecorderState {
                wanted: record.head(),
                recorded: record.head(),
                waiting_since: None,
                writing_since: None,
                failed: None,
                stopping: false,
            }),
            Condvar::new(),
        ));
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("log-recorder".to_owned())
            .spawn(move || record_heads(record, &thread_shared))?;
        Ok(Recorder {
            shared,
            thread: Some(thread),
        })
    }

    fn state(&self) -> MutexGuard<'_, RecorderState> {
        self.shared
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes a head just made durable in sled's file and acknowledged.
    pub fn note(&self, head: Head) {
        let mut state = self.state();
        state.wanted = head;
        state.waiting_since.get_or_insert_with(Instant::now);
        drop(state);
        self.shared.1.notify_all();
    }

    /// Waits while the oldest unrecorded head was acknowledged more than
    /// [`HEAD_RECORD_LAG_MAX`] ago; fails once a write of the record failed.
    pub fn keep_within_lag(&self) -> std::result::Result<(), String> {
        let mut state = self.state();
        loop {
            if let Some(reason) = &state.failed {
                return Err(reason.clone());
            }
            match state.writing_since.or(state.waiting_since) {
                Some(since) if since.elapsed() >= HEAD_RECORD_LAG_MAX => {
                    // The recorder notifies after each write.
                    state = self
                        .shared
                        .1
                        .wait(state)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                _ => return Ok(()),
            }
        }
    }

    /// Records the last noted head, stops the thread, and says whether every write held.
    pub fn stop(mut self) -> std::result::Result<(), String> {
        self.state().stopping = true;
        self.shared.1.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            return Err("the head recorder thread panicked".to_owned());
        }
        match self.state().failed.take() {
            Some(reason) => Err(reason),
            None => Ok(()),
        }
    }
}

/// The recorder thread's loop: writes the newest noted head once it is ahead of the record
/// and the oldest unrecorded one has waited [`HEAD_RECORD_DELAY`] (at once on stop); ends
/// on stop once the record holds it.
fn record_heads(mut record: HeadRecord, shared: &(Mutex<RecorderState>, Condvar)) {
    let (lock, changed) = shared;
    let mut state = lock
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        if state.wanted == state.recorded {
            if state.stopping {
                return;
            }
            state = changed
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            continue;
        }
        if let Some(since) = state.waiting_since
            && !state.stopping
            && let Some(left) = HEAD_RECORD_DELAY.checked_sub(since.elapsed())
            && !left.is_zero()
        {
            state = changed
                .wait_timeout(state, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
            continue;
        }
        let head = state.wanted;
        state.writing_since = state.waiting_since.take();
        drop(state);
        let written = record.write(head);
        state = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.writing_since = None;
        match written {
            Ok(()) => state.recorded = head,
            Err(error) => {
                state.failed = Some(format!("writing the head record: {error}"));
                drop(state);
                changed.notify_all();
                return;
            }
        }
        changed.notify_all();
    }
}

/// Checks the log recovered from sled, whose head is `found`, against the `recorded` head:
/// the log must reach the recorded position, with the recorded hash there. `hash_at` reads
/// the stored hash of one position of the log (`None`: not stored).
pub(crate) fn check(
    recorded: Head,
    found: Head,
    hash_at: impl FnOnce(u64) -> Result<Option<Hash>>,
) -> Result<()> {
    if found.position < recorded.position {
        return Err(Error::Truncated {
            recorded,
            found: found.position,
        });
    }
    let stored = if found.position == recorded.position {
        Some(found.hash)
    } else if recorded.position == 0 {
        Some(GENESIS_HASH)
    } else {
        hash_at(recorded.position)?
    };
    match stored {
        Some(hash) if hash == recorded.hash => Ok(()),
        Some(hash) => Err(Error::Corrupt {
            position: recorded.position,
            reason: format!(
                "its stored hash {} differs from the acknowledged head {recorded} in the head \
                 record",
                hex::encode(hash)
            ),
        }),
        None => Err(Error::Corrupt {
            position: recorded.position,
            reason: format!(
                "the acknowledged head {recorded} in the head record is not stored, though the \
                 log reaches {}",
                found.position
            ),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;

    fn head(position: u64, byte: u8) -> Head {
        Head {
            position,
            hash: [byte; 32],
        }
    }

    /// The record reads back the last head written, and after a torn (damaged) write of
    /// the newer slot, the older slot's head: one write older, never none.
    #[test]
    fn a_damaged_slot_leaves_the_other_slot_s_head() {
        let dir = tempfile::tempdir().unwrap();
        assert!(HeadRecord::load(dir.path()).unwrap().is_none());
        let mut record = HeadRecord::create(dir.path(), head(0, 0)).unwrap();
        record.write(head(5, 5)).unwrap();
        record.write(head(9, 9)).unwrap();
        drop(record);
        let record = HeadRecord::load(dir.path()).unwrap().unwrap();
        assert_eq!(record.head(), head(9, 9));
        let sequence = record.sequence;
        drop(record);
        let file = OpenOptions::new()
            .write(true)
            .open(dir.path().join(HEAD_RECORD_FILE))
            .unwrap();
        file.write_all_at(&[0xFF], slot_offset(sequence) + 20)
            .unwrap();
        let record = HeadRecord::load(dir.path()).unwrap().unwrap();
        assert_eq!(record.head(), head(5, 5), "the older slot survives");
        file.write_all_at(&[0xFF], slot_offset(sequence + 1) + 20)
            .unwrap();
        let refused = HeadRecord::load(dir.path());
        assert!(
            matches!(refused, Err(Error::Undecodable { .. })),
            "{refused:?}"
        );
    }

    /// The recorder writes a noted head within the lag bound, and on stop the last one.
    #[test]
    fn the_recorder_records_each_noted_head_within_the_lag_bound() {
        let dir = tempfile::tempdir().unwrap();
        let recorder =
            Recorder::spawn(HeadRecord::create(dir.path(), head(0, 0)).unwrap()).unwrap();
        recorder.note(head(5, 5));
        std::thread::sleep(HEAD_RECORD_LAG_MAX);
        recorder.keep_within_lag().unwrap();
        let recorded = HeadRecord::load(dir.path()).unwrap().unwrap().head();
        assert_eq!(
            recorded,
            head(5, 5),
            "recorded within {HEAD_RECORD_LAG_MAX:?}"
        );
        recorder.note(head(9, 9));
        recorder.stop().unwrap();
        let recorded = HeadRecord::load(dir.path()).unwrap().unwrap().head();
        assert_eq!(recorded, head(9, 9), "the last head is recorded on stop");
    }

    /// A log that ends before the recorded head is refused as truncated, naming both ends.
    #[test]
    fn a_log_shorter_than_the_record_is_refused_as_truncated() {
        let refused = check(head(400, 4), head(222, 2), |_| Ok(None));
        assert!(
            matches!(
                refused,
                Err(Error::Truncated {
                    recorded,
                    found: 222
                }) if recorded == head(400, 4)
            ),
            "{refused:?}"
        );
    }

    /// A log at or past the record must hold the recorded hash at the recorded position.
    #[test]
    fn a_log_with_another_hash_at_the_recorded_head_is_refused() {
        assert!(check(head(400, 4), head(400, 4), |_| Ok(None)).is_ok());
        assert!(check(head(400, 4), head(410, 1), |_| Ok(Some([4; 32]))).is_ok());
        // An empty log's record: the genesis hash, whatever the log holds now.
        let empty = Head {
            position: 0,
            hash: GENESIS_HASH,
        };
        assert!(check(empty, head(410, 1), |_| Ok(None)).is_ok());
        assert!(check(head(0, 7), head(410, 1), |_| Ok(None)).is_err());
        for refused in [
            check(head(400, 4), head(400, 5), |_| Ok(None)),
            check(head(400, 4), head(410, 1), |_| Ok(Some([5; 32]))),
            check(head(400, 4), head(410, 1), |_| Ok(None)),
        ] {
            assert!(
                matches!(refused, Err(Error::Corrupt { position: 400, .. })),
                "{refused:?}"
            );
        }
    }
}
