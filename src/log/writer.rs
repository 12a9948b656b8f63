//! The one writer thread: group commit, optimistic concurrency, idempotency, durability.
//!
//! It drains queued appends (up to [`APPEND_BATCH_COMMANDS_MAX`] commands or
//! [`APPEND_BATCH_EVENTS_MAX`] events, waiting at most the configured group-commit wait),
//! checks each command against the stream versions and idempotency records, stages the
//! accepted ones into one sled batch and applies it. The syncer thread then calls sled's
//! `flush()` and fsyncs sled's file itself (sled 0.34's flush uses `sync_file_range`,
//! which is not power-loss durable), and only then makes the new head visible and
//! acknowledges every waiter. The two overlap: while a flush waits for the disk the writer
//! stages the next group commit (checks, encodes and hashes it), and while the fsync runs
//! it applies it; one flush and fsync cover every commit applied before they began. (sled's
//! flush holds its tree lock for reading while it waits, so the writer's `apply_batch`
//! waits for it, and sled reads queue behind the waiting writer: during appends a read can
//! wait up to one flush.) A storage failure poisons the log: nothing after it is
//! acknowledged.
//!
//! A small group commit writes its own stream-index entries when the index is level with
//! the head; otherwise the index is written behind the writer by the indexer thread
//! ([`super::indexer`]). The writer knows every stream version the index does not yet
//! hold from its `unindexed` map, so version checks are exact without waiting for it.

use std::fs::File;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::codec::{self, BlockWriter, EventBodyRefV1, IdempotencyRecord};
use super::envelope::{
    AppendRequest, Appended, Committed, EventStamp, ExpectedVersion, Hash, Head,
};
use super::error::{Error, Result};
use super::head_record::Recorder;
use super::keys;
use super::store::Shared;

/// The writer's maps: a fast hasher (seeded per map, so stream ids chosen by callers cannot
/// be aimed at one bucket), as hashing stream ids was a tenth of the writer's time.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// The writer's stream-version cache.
pub(crate) type VersionCache = lru::LruCache<String, u64, foldhash::fast::RandomState>;

/// The most commands one group commit takes.
pub const APPEND_BATCH_COMMANDS_MAX: usize = 4096;
/// The most events one group commit takes (a single command may bring up to
/// [`super::envelope::COMMAND_EVENTS_MAX`]).
pub const APPEND_BATCH_EVENTS_MAX: usize = 20_000;
/// How many appends may wait in the queue before callers are held back.
pub const APPEND_QUEUE_DEPTH_MAX: usize = 8192;
/// How many streams' current versions the writer keeps in memory (least recently used
/// first out); the rest are looked up in the stream index.
pub const STREAM_VERSION_CACHE_MAX: usize = 1 << 18;
/// How far the stream index may fall behind the head, in events, before the writer waits
/// for it; this bounds the writer's `unindexed` map.
pub const INDEX_LAG_EVENTS_MAX: u64 = 2_000_000;
/// The most events a group commit indexes itself (when the index is level with the head).
/// An index entry costs sled about as much as the rest of the event, so under load the
/// indexer thread writes them on the other core while the writer goes on (measured with
/// 64 concurrent appenders: writer CPU 14 µs per event instead of 24 with inline entries);
/// at low load a lone command indexes itself and the next read need not wait.
pub const INLINE_INDEX_EVENTS_MAX: usize = 16;
/// How far the index must advance before the writer prunes its `unindexed` map.
const UNINDEXED_PRUNE_EVENTS: u64 = 1 << 16;

const _: () = assert!(super::envelope::COMMAND_EVENTS_MAX <= APPEND_BATCH_EVENTS_MAX);
// The writer waits for the index to come within INDEX_LAG_EVENTS_MAX of the applied head,
// and the index only reaches durable events: the commits waiting for the syncer (its
// queue, the batch it is fsyncing, the one being sent) must fit well inside that lag.
const _: () =
    assert!(((SYNC_QUEUE_DEPTH + 2) * APPEND_BATCH_EVENTS_MAX) as u64 <= INDEX_LAG_EVENTS_MAX / 4);

/// One queued append and the channel its result goes back on.
pub(crate) struct Job {
    pub request: Arc<AppendRequest>,
    pub reply: oneshot::Sender<Result<Committed>>,
}

/// A stream's latest version and the position of that event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamTip {
    pub version: u64,
    pub position: u64,
}

/// How many applied group commits may wait for the syncer before the writer waits.
const SYNC_QUEUE_DEPTH: usize = 4;

/// A group commit applied, waiting for the flush and fsync that make it durable.
pub(crate) struct Pending {
    /// The head after the commit, if it wrote anything.
    head: Option<Head>,
    /// Whether the commit wrote its own stream-index entries and mark.
    indexed_inline: bool,
    jobs: Vec<Job>,
    outcomes: Vec<Result<Committed>>,
}

/// The channel from the writer to the syncer.
pub(crate) fn sync_queue() -> (
    std::sync::mpsc::SyncSender<Pending>,
    std::sync::mpsc::Receiver<Pending>,
) {
    std::sync::mpsc::sync_channel(SYNC_QUEUE_DEPTH)
}

/// What the writer thread owns.
pub(crate) struct Writer {
    pub shared: Arc<Shared>,
    pub syncer: std::sync::mpsc::SyncSender<Pending>,
    /// Joined when the writer stops, after the syncer has acknowledged everything.
    pub syncer_thread: Option<std::thread::JoinHandle<()>>,
    pub receiver: mpsc::Receiver<Job>,
    pub group_commit_wait: Duration,
    /// The head as applied (it may be ahead of the durable head by what the syncer holds).
    pub head: Head,
    /// The applied head up to which every commit indexed itself inline (0: none).
    pub inline_indexed: u64,
    pub last_recorded_micros: i64,
    /// Versions of indexed streams as applied (durable once the syncer is through),
    /// recently used.
    pub cache: VersionCache,
    /// Every stream with an event the index may not hold yet: its latest applied tip.
    pub unindexed: FastMap<String, StreamTip>,
    /// The indexed position at the last prune of `unindexed`.
    pub pruned_at: u64,
}

/// An empty stream-version cache of [`STREAM_VERSION_CACHE_MAX`] entries.
pub(crate) fn stream_version_cache() -> VersionCache {
    const CAPACITY: std::num::NonZeroUsize =
        match std::num::NonZeroUsize::new(STREAM_VERSION_CACHE_MAX) {
            Some(capacity) => capacity,
            None => panic!("the stream version cache holds at least one stream"),
        };
    lru::LruCache::with_hasher(CAPACITY, foldhash::fast::RandomState::default())
}

impl Writer {
    /// Runs until every sender is dropped and the queue is empty.
    pub fn run(mut self) {
        while let Some(first) = self.receiver.blocking_recv() {
            let jobs = self.drain(first);
            self.commit(jobs);
        }
        tracing::debug!(head = %self.head, "log writer stopped");
        let Writer {
            syncer,
            syncer_thread,
            ..
        } = self;
        drop(syncer);
        if let Some(thread) = syncer_thread
            && thread.join().is_err()
        {
            tracing::error!("the log syncer thread panicked");
        }
    }

    fn drain(&mut self, first: Job) -> Vec<Job> {
        let mut events = first.request.events.len();
        let mut jobs = vec![first];
        let deadline = Instant::now() + self.group_commit_wait;
        loop {
            while jobs.len() < APPEND_BATCH_COMMANDS_MAX {
                match self.receiver.try_recv() {
                    Ok(job) => {
                        events += job.request.events.len();
                        jobs.push(job);
                        if events >= APPEND_BATCH_EVENTS_MAX - super::envelope::COMMAND_EVENTS_MAX {
                            return jobs;
                        }
                    }
                    Err(_) => break,
                }
            }
            let now = Instant::now();
            if jobs.len() >= APPEND_BATCH_COMMANDS_MAX || now >= deadline {
                return jobs;
            }
            std::thread::sleep((deadline - now).min(Duration::from_micros(50)));
        }
    }

    /// Waits while the index lags too far, and forgets tips the index now holds.
    fn keep_index_close(&mut self) -> Result<()> {
        let indexed = self
            .shared
            .wait_index_lag(self.head.position.saturating_sub(INDEX_LAG_EVENTS_MAX))?;
        if indexed >= self.pruned_at + UNINDEXED_PRUNE_EVENTS {
            let cache = &mut self.cache;
            self.unindexed.retain(|stream_id, tip| {
                if tip.position <= indexed {
                    cache.put(stream_id.clone(), tip.version);
                    false
                } else {
                    true
                }
            });
            self.pruned_at = indexed;
        }
        Ok(())
    }

    fn commit(&mut self, jobs: Vec<Job>) {
        if let Some(reason) = self.shared.poisoned() {
            fail_all(jobs, &reason);
            return;
        }
        if let Err(error) = self.keep_index_close() {
            fail_all(jobs, &error.to_string());
            return;
        }
        // The clock is checked before anything is staged: a failure here fails every
        // command of the batch alike.
        let recorded_micros = jiff::Timestamp::now()
            .as_microsecond()
            .max(self.last_recorded_micros);
        let recorded = match RecordedAt::new(recorded_micros) {
            Ok(recorded) => recorded,
            Err(error) => {
                fail_all(jobs, &error.to_string());
                return;
            }
        };
        // A small batch writes its own index entries and mark when the index is level with
        // the head, so readers of the streams it touches need not wait for the indexer.
        let events: usize = jobs.iter().map(|job| job.request.events.len()).sum();
        let inline_index = events <= INLINE_INDEX_EVENTS_MAX
            && (self.inline_indexed == self.head.position
                || self.shared.indexed_if_level() == Some(self.head.position));
        let mut staging = Staging::new(self.head, recorded, inline_index);
        let mut outcomes = Vec::with_capacity(jobs.len());
        let mut known = KnownVersions {
            cache: &mut self.cache,
            unindexed: &self.unindexed,
        };
        for job in &jobs {
            outcomes.push(staging.stage(&self.shared.tree, &mut known, &job.request));
        }
        let staged_any = outcomes
            .iter()
            .any(|outcome| matches!(outcome, Ok(committed) if !committed.appended.replayed));
        let mut written = None;
        if staged_any {
            match self.apply(staging) {
                Ok(head) => written = Some(head),
                Err(error) => {
                    let reason = error.to_string();
                    tracing::error!(%reason, "write failed; the log writer is poisoned");
                    self.shared.poison(&reason);
                    fail_all(jobs, &reason);
                    return;
                }
            }
        }
        tracing::trace!(
            commands = jobs.len(),
            head = self.head.position,
            "group commit applied"
        );
        // Even a commit that wrote nothing goes through the syncer: a replayed command
        // may have read an idempotency record that is not durable yet.
        let pending = Pending {
            head: written,
            indexed_inline: inline_index,
            jobs,
            outcomes,
        };
        if let Err(std::sync::mpsc::SendError(pending)) = self.syncer.send(pending) {
            let reason = "the log syncer has stopped";
            self.shared.poison(reason);
            fail_all(pending.jobs, reason);
        }
    }
}

impl Writer {
    /// Applies and flushes a staged group commit, then moves the writer's head and the
    /// stream tips it knows to what the commit left.
    fn apply(&mut self, mut staging: Staging) -> Result<Head> {
        let tips = std::mem::take(&mut staging.tips);
        let inline_index = staging.index;
        let recorded_micros = staging.recorded.micros;
        let head = staging.apply(&self.shared)?;
        assert!(
            head.position >= self.head.position,
            "log positions never go back"
        );
        for (stream_id, tip) in tips {
            if tip.position == 0 {
                continue;
            }
            if inline_index {
                // Indexed now: an older unindexed tip of the stream must not shadow it.
                self.unindexed.remove(&stream_id);
                self.cache.put(stream_id, tip.version);
            } else {
                self.unindexed.insert(stream_id, tip);
            }
        }
        self.head = head;
        if inline_index {
            self.inline_indexed = head.position;
        }
        self.last_recorded_micros = recorded_micros;
        Ok(head)
    }
}

/// The recorded time of a group commit, checked once: microseconds and the timestamp.
#[derive(Debug, Clone, Copy)]
struct RecordedAt {
    micros: i64,
    timestamp: jiff::Timestamp,
    /// The time-index key's form (the clock is after 1970).
    unsigned: u64,
}

impl RecordedAt {
    fn new(micros: i64) -> Result<Self> {
        let invalid = |rule: String| Error::InvalidAppend {
            field: "recorded_at",
            rule,
        };
        let unsigned = u64::try_from(micros)
            .map_err(|_| invalid("the server clock is before 1970".to_owned()))?;
        let timestamp = jiff::Timestamp::from_microsecond(micros)
            .map_err(|error| invalid(format!("the server clock is out of range: {error}")))?;
        Ok(RecordedAt {
            micros,
            timestamp,
            unsigned,
        })
    }
}

fn fail_all(jobs: Vec<Job>, reason: &str) {
    for job in jobs {
        let _ = job.reply.send(Err(Error::Poisoned(reason.to_owned())));
    }
}

/// The syncer thread: flushes and fsyncs sled's file once for every group commit the
/// writer applied before the flush began, then publishes their heads, hands the newest to
/// the head recorder ([`Recorder`], which keeps the head record at most
/// [`super::head_record::HEAD_RECORD_LAG_MAX`] behind), and acknowledges them in order. A
/// failed flush, fsync or head-record write poisons the log: nothing after it is
/// acknowledged. On stop the recorder records the last head before the syncer ends.
pub(crate) fn sync(
    shared: Arc<Shared>,
    file: File,
    recorder: Option<Recorder>,
    receiver: std::sync::mpsc::Receiver<Pending>,
) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while let Ok(next) = receiver.try_recv() {
            batch.push(next);
        }
        let newest = batch.iter().rev().find_map(|pending| pending.head);
        let synced = match (shared.poisoned(), newest) {
            (Some(reason), _) => Err(reason),
            (None, Some(_)) => flush_and_sync(&shared.tree, &file)
                .and_then(|()| recorder.as_ref().map_or(Ok(()), Recorder::keep_within_lag)),
            (None, None) => Ok(()),
        };
        if let Err(reason) = synced {
            if shared.poisoned().is_none() {
                tracing::error!(%reason, "flush or fsync failed; the log writer is poisoned");
                shared.poison(&reason);
            }
            for pending in batch {
                fail_all(pending.jobs, &reason);
            }
            continue;
        }
        if let (Some(recorder), Some(head)) = (&recorder, newest) {
            recorder.note(head);
        }
        for pending in batch {
            if let Some(head) = pending.head {
                shared.publish(head, pending.indexed_inline);
            }
            for (job, outcome) in pending.jobs.into_iter().zip(pending.outcomes) {
                let _ = job.reply.send(outcome);
            }
        }
    }
    if let Some(Err(reason)) = recorder.map(Recorder::stop) {
        tracing::error!(%reason, "the head record failed");
        shared.poison(&reason);
    }
    tracing::debug!("log syncer stopped");
}

/// Writes sled's buffers to its file (`flush()`, which covers every write applied before
/// the call) and then fsyncs the file: `flush()` alone only uses `sync_file_range`, which
/// is not power-loss durable. Here, not on the writer, because `flush()` waits for the
/// disk: the writer stages the next group commit meanwhile.
fn flush_and_sync(tree: &sled::Tree, file: &File) -> std::result::Result<(), String> {
    tree.flush().map_err(|error| error.to_string())?;
    file.sync_data().map_err(|error| error.to_string())
}

/// Where the writer finds a stream's durable version before asking the index.
struct KnownVersions<'a> {
    cache: &'a mut VersionCache,
    unindexed: &'a FastMap<String, StreamTip>,
}

/// A group commit being built.
struct Staging {
    next_position: u64,
    previous_hash: Hash,
    recorded: RecordedAt,
    /// Stream tips as this batch leaves them; position 0 marks a tip only looked up.
    tips: FastMap<String, StreamTip>,
    commands: FastMap<String, IdempotencyRecord>,
    batch: sled::Batch,
    block: Option<BlockWriter>,
    /// Whether the batch writes the stream-index entries of its events and the mark.
    index: bool,
}

/// The latest version of a stream in the stream index whose event is at or before
/// `up_to` (0: none). The writer asks with `u64::MAX`: it knows what it applied; readers
/// ask with the durable head, as a commit being fsynced may already hold index entries.
pub(crate) fn indexed_version(tree: &sled::Tree, stream_id: &str, up_to: u64) -> Result<u64> {
    for entry in tree.scan_prefix(keys::stream_prefix(stream_id)).rev() {
        let (key, value) = entry?;
        if up_to == u64::MAX || super::store::decode_position(&value)? <= up_to {
            return keys::stream_entry_version(&key).ok_or_else(|| Error::Undecodable {
                key: format!("stream index of {stream_id}"),
                reason: "key too short".to_owned(),
            });
        }
    }
    Ok(0)
}

impl Staging {
    fn new(head: Head, recorded: RecordedAt, index: bool) -> Self {
        Staging {
            next_position: head.position + 1,
            previous_hash: head.hash,
            recorded,
            tips: FastMap::default(),
            commands: FastMap::default(),
            batch: sled::Batch::default(),
            block: None,
            index,
        }
    }

    fn stream_version(
        &mut self,
        tree: &sled::Tree,
        known: &mut KnownVersions<'_>,
        stream_id: &str,
    ) -> Result<u64> {
        if let Some(tip) = self.tips.get(stream_id) {
            return Ok(tip.version);
        }
        let version = if let Some(tip) = known.unindexed.get(stream_id) {
            tip.version
        } else if let Some(version) = known.cache.get(stream_id) {
            *version
        } else {
            let version = indexed_version(tree, stream_id, u64::MAX)?;
            known.cache.put(stream_id.to_owned(), version);
            version
        };
        self.tips.insert(
            stream_id.to_owned(),
            StreamTip {
                version,
                position: 0,
            },
        );
        Ok(version)
    }

    fn idempotency(
        &self,
        tree: &sled::Tree,
        command_id: &str,
    ) -> Result<Option<IdempotencyRecord>> {
        if let Some(record) = self.commands.get(command_id) {
            return Ok(Some(*record));
        }
        match tree.get(keys::idempotency(command_id))? {
            None => Ok(None),
            Some(bytes) => IdempotencyRecord::decode(&bytes)
                .map(Some)
                .map_err(|error| Error::Undecodable {
                    key: format!("idempotency {command_id}"),
                    reason: error.to_string(),
                }),
        }
    }

    /// Refuses the command if the log head or a stream is not where it expects.
    fn check_expectations(
        &mut self,
        tree: &sled::Tree,
        known: &mut KnownVersions<'_>,
        request: &AppendRequest,
    ) -> Result<()> {
        if let Some(expected) = request.expected_head {
            let actual = self.next_position - 1;
            if actual != expected {
                return Err(Error::VersionConflict {
                    stream_id: "(the log head)".to_owned(),
                    expected: ExpectedVersion::Exact(expected),
                    actual,
                });
            }
        }
        for (stream_id, expected) in &request.expectations {
            let actual = self.stream_version(tree, known, stream_id)?;
            if !expected.admits(actual) {
                return Err(Error::VersionConflict {
                    stream_id: stream_id.clone(),
                    expected: *expected,
                    actual,
                });
            }
        }
        Ok(())
    }

    /// Checks one command and, if it is accepted, stages its events.
    fn stage(
        &mut self,
        tree: &sled::Tree,
        known: &mut KnownVersions<'_>,
        request: &AppendRequest,
    ) -> Result<Committed> {
        if let Some(record) = self.idempotency(tree, &request.command_id)? {
            if record.request_digest != request.request_digest {
                return Err(Error::IdempotencyConflict {
                    command_id: request.command_id.clone(),
                    first_position: record.first_position,
                });
            }
            return Ok(Committed {
                appended: Appended {
                    first_position: record.first_position,
                    count: record.count,
                    replayed: true,
                },
                recorded_at: self.recorded.timestamp,
                stamps: Vec::new(),
            });
        }
        self.check_expectations(tree, known, request)?;
        // Encode every event before touching the staged batch, so a command either stages
        // whole or not at all.
        let first_position = self.next_position;
        let mut planned = Vec::with_capacity(request.events.len());
        let mut versions: FastMap<&str, u64> = FastMap::default();
        for (offset, event) in request.events.iter().enumerate() {
            let current = match versions.get(event.stream_id.as_str()) {
                Some(version) => *version,
                None => self.stream_version(tree, known, &event.stream_id)?,
            };
            let version = current + 1;
            versions.insert(&event.stream_id, version);
            let body = codec::encode_body(&EventBodyRefV1 {
                position: first_position + offset as u64,
                stream_id: &event.stream_id,
                stream_version: version,
                event_type: &event.event_type,
                schema_version: event.schema_version,
                business_date: codec::date_to_number(event.business_date),
                recorded_at_micros: self.recorded.micros,
                command_id: &request.command_id,
                actor: &request.actor,
                payload: &event.payload,
            })
            .map_err(|error| Error::InvalidAppend {
                field: "events",
                rule: error.to_string(),
            })?;
            planned.push((event, version, body));
        }
        let mut stamps = Vec::with_capacity(planned.len());
        for (event, version, body) in planned {
            let position = self.next_position;
            let hash = codec::chain_hash(&self.previous_hash, &body);
            stamps.push(EventStamp {
                stream_version: version,
                previous_hash: self.previous_hash,
                hash,
            });
            self.push_block_item(position, &body, &hash);
            if self.index {
                self.batch.insert(
                    keys::stream_entry(&event.stream_id, version),
                    &position.to_be_bytes()[..],
                );
            }
            let tip = StreamTip { version, position };
            // The lookup above left a tip for every stream: update it without a new key.
            match self.tips.get_mut(event.stream_id.as_str()) {
                Some(existing) => *existing = tip,
                None => {
                    self.tips.insert(event.stream_id.clone(), tip);
                }
            }
            self.previous_hash = hash;
            self.next_position += 1;
        }
        let count = u32::try_from(request.events.len()).map_err(|_| Error::InvalidAppend {
            field: "events",
            rule: "too many events".to_owned(),
        })?;
        let record = IdempotencyRecord {
            request_digest: request.request_digest,
            first_position,
            count,
        };
        self.batch
            .insert(keys::idempotency(&request.command_id), record.encode());
        self.commands.insert(request.command_id.clone(), record);
        Ok(Committed {
            appended: Appended {
                first_position,
                count,
                replayed: false,
            },
            recorded_at: self.recorded.timestamp,
            stamps,
        })
    }

    fn push_block_item(&mut self, position: u64, body: &[u8], hash: &Hash) {
        if let Some(block) = &self.block
            && !block.fits(body.len())
        {
            self.close_block();
        }
        let previous_hash = self.previous_hash;
        let block = self
            .block
            .get_or_insert_with(|| BlockWriter::new(position, &previous_hash));
        block.push(body, hash);
    }

    fn close_block(&mut self) {
        if let Some(block) = self.block.take() {
            let last = block.last_position();
            self.batch.insert(&keys::block(last)[..], block.finish());
        }
    }

    /// Applies the batch to sled (not yet written to its file: the syncer flushes and
    /// fsyncs it); returns the new head.
    fn apply(mut self, shared: &Shared) -> Result<Head> {
        self.close_block();
        let last_position = self.next_position - 1;
        let head = Head {
            position: last_position,
            hash: self.previous_hash,
        };
        self.batch.insert(
            &keys::time(self.recorded.unsigned, last_position)[..],
            &[][..],
        );
        if self.index {
            self.batch
                .insert(keys::INDEXED, &last_position.to_be_bytes()[..]);
        }
        self.batch.insert(
            keys::HEAD,
            codec::encode_head(last_position, &head.hash, self.recorded.micros),
        );
        shared.tree.apply_batch(self.batch)?;
        Ok(head)
    }
}
