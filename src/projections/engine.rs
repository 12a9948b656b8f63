//! The projector: keeps the books at the log's head, answers "as known at P" from the
//! nearest checkpoint, and rebuilds into a new generation while the old one answers.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::books::{BOOKS_VERSION, Books, BooksCheckpoint, Damage, FoldError, TrialError};
use super::stored::{self, DecodeError};
use crate::domain::Event;
use crate::domain::RegionId;
use crate::domain::Rulebook;
use crate::log::{self, EventRef, Log, codec};

/// A checkpoint is written every this many positions: an as-known query replays at most
/// this many events less one after its checkpoint.
pub const CHECKPOINT_EVENTS: u64 = 1024;
/// The largest stored piece of a checkpoint (sled keeps values over 128 KiB in blob files
/// it never fsyncs).
pub const CHECKPOINT_CHUNK_BYTES_MAX: usize = 60 * 1024;
/// How many checkpoints a rebuild stores in one sled batch. Its generation answers nothing
/// until the swap, before which the last batch is stored, so a crash loses nothing that
/// was in use (the next open drops the unfinished generation).
pub const REBUILD_CHECKPOINTS_PER_BATCH: usize = 64;
/// How many blocks (of up to 64 KiB) a rebuild's scan thread reads ahead of its fold.
pub const REBUILD_QUEUE_BLOCKS_MAX: usize = 64;
/// How often a rebuild reports progress.
pub const REBUILD_PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

const GENERATION_KEY: &[u8] = b"generation";
/// sled's page cache for the checkpoint store, in bytes (its default is 1 GiB).
const CHECKPOINT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Why a projection could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// Reading the log failed.
    #[error(transparent)]
    Log(#[from] log::Error),
    /// An event did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// An event did not fold (the books would not balance, or came out of order).
    #[error(transparent)]
    Fold(#[from] FoldError),
    /// The checkpoint store failed.
    #[error("checkpoint store failed: {0}")]
    Storage(#[from] sled::Error),
    /// A checkpoint did not encode or decode.
    #[error("checkpoint at position {position}: {reason}")]
    Checkpoint {
        /// Its position.
        position: u64,
        /// What failed.
        reason: String,
    },
    /// Another rebuild is running.
    #[error("a rebuild is already running")]
    RebuildRunning,
}

/// What a rebuild has done so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RebuildProgress {
    /// The generation being built.
    pub generation: u64,
    /// The last position folded.
    pub position: u64,
    /// The log's head when this was reported.
    pub head: u64,
    /// Events folded per second so far.
    pub events_per_second: f64,
    /// Seconds left at that rate.
    pub eta_seconds: f64,
    /// True once the new generation answers queries.
    pub done: bool,
}

/// The books projection with its checkpoints.
pub struct Projector {
    log: Arc<Log>,
    checkpoints: Checkpoints,
    meta: sled::Tree,
    _db: sled::Db,
    working: Mutex<Books>,
    published: RwLock<Arc<Books>>,
    generation: AtomicU64,
    rebuilding: Mutex<Option<RebuildProgress>>,
    replayed_on_open: u64,
    /// The rulebook of the working books, and how many rule events built it.
    rules: Mutex<(usize, Arc<Rulebook>)>,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Projector")
            .field("generation", &self.generation.load(Ordering::Acquire))
            .field("position", &self.current_position())
            .finish()
    }
}

/// The checkpoint store: checkpoints by generation and position, and the rule events they
/// refer to by generation and count, each in chunks under [`CHECKPOINT_CHUNK_BYTES_MAX`].
struct Checkpoints {
    books: sled::Tree,
    rules: sled::Tree,
    /// The rule events last read, by generation and count: as-known queries mostly need
    /// the same ones.
    rules_read: Mutex<Option<RulesRead>>,
}

/// Rule events as read: their generation, their count, and the events.
type RulesRead = (u64, u64, Arc<Vec<Event>>);

fn checkpoint_key(generation: u64, position: u64, chunk: u16) -> [u8; 18] {
    let mut key = [0u8; 18];
    key[..8].copy_from_slice(&generation.to_be_bytes());
    key[8..16].copy_from_slice(&position.to_be_bytes());
    key[16..].copy_from_slice(&chunk.to_be_bytes());
    key
}

fn key_position(key: &[u8]) -> u64 {
    key.get(8..16)
        .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
        .map_or(0, u64::from_be_bytes)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Projector {
    /// Opens the checkpoint store in `path` and brings the books up to the log's head,
    /// starting from the latest checkpoint of the current generation.
    pub fn open(log: Arc<Log>, path: &Path) -> Result<Projector, ProjectionError> {
        let db = open_checkpoint_store(path)?;
        let checkpoints = Checkpoints {
            books: db.open_tree("checkpoints")?,
            rules: db.open_tree("checkpoint_rules")?,
            rules_read: Mutex::new(None),
        };
        let meta = db.open_tree("meta")?;
        let (generation, version) = match meta.get(GENERATION_KEY)? {
            Some(bytes) if bytes.len() == 12 => {
                let mut generation = [0u8; 8];
                generation.copy_from_slice(&bytes[..8]);
                let mut version = [0u8; 4];
                version.copy_from_slice(&bytes[8..]);
                (u64::from_be_bytes(generation), u32::from_be_bytes(version))
            }
            _ => (1, BOOKS_VERSION),
        };
        // A new fold version starts a fresh generation: old checkpoints are not its books.
        let generation = if version == BOOKS_VERSION {
            generation
        } else {
            generation + 1
        };
        let mut generation_value = generation.to_be_bytes().to_vec();
        generation_value.extend_from_slice(&BOOKS_VERSION.to_be_bytes());
        meta.insert(GENERATION_KEY, generation_value)?;
        drop_other_generations(&checkpoints.books, generation)?;
        drop_other_generations(&checkpoints.rules, generation)?;
        let head = log.head().position;
        let books = checkpoints.load(generation, head)?.unwrap_or_default();
        let projector = Projector {
            log,
            checkpoints,
            meta,
            _db: db,
            published: RwLock::new(Arc::new(books.clone())),
            working: Mutex::new(books),
            generation: AtomicU64::new(generation),
            rebuilding: Mutex::new(None),
            replayed_on_open: 0,
            rules: Mutex::new((usize::MAX, Arc::new(Rulebook::empty()))),
        };
        let replayed = projector.catch_up()?;
        Ok(Projector {
            replayed_on_open: replayed,
            ..projector
        })
    }

    /// How many events the last open replayed after its checkpoint.
    pub fn replayed_on_open(&self) -> u64 {
        self.replayed_on_open
    }

    /// The generation answering queries.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The position of the published books.
    pub fn current_position(&self) -> u64 {
        self.published
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .position()
    }

    /// Folds every durable event past the working books, checkpointing on the way. Returns
    /// how many events it folded. Queries see the result through [`Projector::current`].
    pub fn catch_up(&self) -> Result<u64, ProjectionError> {
        let mut working = lock(&self.working);
        self.fold_working(&mut working)
    }

    fn fold_working(&self, working: &mut Books) -> Result<u64, ProjectionError> {
        let generation = self.generation();
        let before = working.position();
        let folded = match fold_to(&self.log, working, self.log.head().position, &mut |books| {
            self.save_checkpoint(generation, books)
        }) {
            Ok(folded) => folded,
            Err(error) => {
                // A failed event may have been folded in part: put back the books as they
                // were, so that nothing half-folded is ever published or folded again.
                let mut restored = self
                    .checkpoints
                    .load(generation, before)?
                    .unwrap_or_default();
                fold_to(&self.log, &mut restored, before, &mut |_| Ok(()))?;
                *working = restored;
                return Err(error);
            }
        };
        let mut rules = lock(&self.rules);
        if rules.0 != working.rule_event_count() {
            *rules = (working.rule_event_count(), Arc::new(working.rulebook()));
        }
        Ok(folded)
    }

    /// Folds the books up to the head and stores a checkpoint at that position, whatever
    /// it is. Returns the position.
    pub fn checkpoint_now(&self) -> Result<u64, ProjectionError> {
        let mut working = lock(&self.working);
        self.fold_working(&mut working)?;
        self.store_checkpoint(self.generation(), &working)?;
        Ok(working.position())
    }

    /// The rulebook as known at the log's head. Rebuilt only when a rule event arrives, so
    /// the command path does not pay for it.
    pub fn rules_at_head(&self) -> Result<Arc<Rulebook>, ProjectionError> {
        self.catch_up()?;
        Ok(Arc::clone(&lock(&self.rules).1))
    }

    /// Folds `events` into a trial of the books at the head, without changing them (see
    /// [`Books::try_fold`]): the outer error is the books' own, the inner one the events'.
    pub fn try_fold(&self, events: &[Event]) -> Result<Result<(), TrialError>, ProjectionError> {
        let mut working = lock(&self.working);
        self.fold_working(&mut working)?;
        Ok(working.try_fold(events))
    }

    /// Every region of the books at the head with its damage, if any (see
    /// [`Books::damage`]). Read from the working books, so a caller that asks often (the
    /// health task) does not publish a copy of the books each time.
    pub fn region_damage(&self) -> Result<Vec<(RegionId, Option<Damage>)>, ProjectionError> {
        let mut working = lock(&self.working);
        self.fold_working(&mut working)?;
        Ok(working
            .regions()
            .map(|region| (region.clone(), working.damage(region).cloned()))
            .collect())
    }

    /// The books at the log's head.
    pub fn current(&self) -> Result<Arc<Books>, ProjectionError> {
        let mut working = lock(&self.working);
        self.fold_working(&mut working)?;
        let mut published = self
            .published
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if published.position() != working.position() {
            *published = Arc::new(working.clone());
        }
        Ok(Arc::clone(&published))
    }

    /// The books as known at `position`: from the nearest checkpoint, plus the events after
    /// it. A position past the head answers the head.
    pub fn as_known(&self, position: u64) -> Result<Arc<Books>, ProjectionError> {
        let current = self.current()?;
        if position >= current.position() {
            return Ok(current);
        }
        let mut books = self
            .checkpoints
            .load(self.generation(), position)?
            .unwrap_or_default();
        fold_to(&self.log, &mut books, position, &mut |_| Ok(()))?;
        Ok(Arc::new(books))
    }

    /// The progress of the running (or last) rebuild.
    pub fn rebuild_progress(&self) -> Option<RebuildProgress> {
        *lock(&self.rebuilding)
    }

    /// Replays the whole log into a new generation while the current one keeps answering,
    /// then swaps atomically and drops the old generation's checkpoints. A fold error stops
    /// it, naming the position; the old generation stays in place.
    pub fn rebuild(
        &self,
        progress: &mut dyn FnMut(RebuildProgress),
    ) -> Result<RebuildProgress, ProjectionError> {
        let generation = {
            let mut rebuilding = lock(&self.rebuilding);
            if rebuilding.is_some_and(|running| !running.done) {
                return Err(ProjectionError::RebuildRunning);
            }
            let generation = self.generation() + 1;
            *rebuilding = Some(RebuildProgress {
                generation,
                position: 0,
                head: self.log.head().position,
                events_per_second: 0.0,
                eta_seconds: 0.0,
                done: false,
            });
            generation
        };
        let outcome = self.rebuild_generation(generation, progress);
        if outcome.is_err() {
            *lock(&self.rebuilding) = None;
            let _ = self.drop_generation(generation);
        }
        outcome
    }

    fn rebuild_generation(
        &self,
        generation: u64,
        progress: &mut dyn FnMut(RebuildProgress),
    ) -> Result<RebuildProgress, ProjectionError> {
        let started = Instant::now();
        let mut books = Books::default();
        let mut last_report = Instant::now();
        let mut report = |books: &Books, done: bool| {
            let head = self.log.head().position;
            let elapsed = started.elapsed().as_secs_f64().max(1e-9);
            let rate = books.position() as f64 / elapsed;
            let status = RebuildProgress {
                generation,
                position: books.position(),
                head,
                events_per_second: rate,
                eta_seconds: if rate > 0.0 {
                    head.saturating_sub(books.position()) as f64 / rate
                } else {
                    0.0
                },
                done,
            };
            *lock(&self.rebuilding) = Some(status);
            progress(status);
            status
        };
        let mut staged = Staged::default();
        // Most of the replay runs without holding anything the queries need.
        loop {
            let head = self.log.head().position;
            if head.saturating_sub(books.position()) < CHECKPOINT_EVENTS {
                break;
            }
            fold_to_pipelined(&self.log, &mut books, head, &mut |books| {
                if !is_checkpoint_position(books.position()) {
                    return Ok(());
                }
                self.stage_rebuild_checkpoint(generation, books, &mut staged)?;
                if last_report.elapsed() >= REBUILD_PROGRESS_INTERVAL {
                    last_report = Instant::now();
                    report(books, false);
                }
                Ok(())
            })?;
        }
        // The last few events and the swap happen under the working lock, so no query sees
        // a half-built generation and no event is folded into the old one meanwhile.
        let mut working = lock(&self.working);
        let head = self.log.head().position;
        fold_to(&self.log, &mut books, head, &mut |books| {
            if is_checkpoint_position(books.position()) {
                self.stage_rebuild_checkpoint(generation, books, &mut staged)?;
            }
            Ok(())
        })?;
        self.checkpoints.apply(std::mem::take(&mut staged))?;
        let old = self.generation();
        let mut generation_value = generation.to_be_bytes().to_vec();
        generation_value.extend_from_slice(&BOOKS_VERSION.to_be_bytes());
        self.meta.insert(GENERATION_KEY, generation_value)?;
        self.generation.store(generation, Ordering::Release);
        *working = books.clone();
        *self
            .published
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(books.clone());
        drop(working);
        // The new generation already answers: failing to drop the old one's checkpoints
        // only costs space (the next open drops them), so it must not fail the rebuild.
        if let Err(error) = self.drop_generation(old) {
            tracing::warn!(%error, generation = old, "old checkpoints stay until the next open");
        }
        Ok(report(&books, true))
    }

    fn drop_generation(&self, generation: u64) -> Result<(), ProjectionError> {
        let start = checkpoint_key(generation, 0, 0);
        let end = checkpoint_key(generation, u64::MAX, u16::MAX);
        for tree in [&self.checkpoints.books, &self.checkpoints.rules] {
            let mut batch = sled::Batch::default();
            for entry in tree.range(start..=end) {
                batch.remove(entry?.0);
            }
            tree.apply_batch(batch)?;
        }
        Ok(())
    }

    fn save_checkpoint(&self, generation: u64, books: &Books) -> Result<(), ProjectionError> {
        if !is_checkpoint_position(books.position()) {
            return Ok(());
        }
        self.store_checkpoint(generation, books)
    }

    /// Stages a rebuild's checkpoint, and stores the staged ones once there are
    /// [`REBUILD_CHECKPOINTS_PER_BATCH`].
    fn stage_rebuild_checkpoint(
        &self,
        generation: u64,
        books: &Books,
        staged: &mut Staged,
    ) -> Result<(), ProjectionError> {
        self.checkpoints.stage(generation, books, staged)?;
        if staged.checkpoints >= REBUILD_CHECKPOINTS_PER_BATCH {
            self.checkpoints.apply(std::mem::take(staged))?;
        }
        Ok(())
    }

    fn store_checkpoint(&self, generation: u64, books: &Books) -> Result<(), ProjectionError> {
        self.checkpoints.store(generation, books)
    }
}

/// Folds like [`fold_to`], with the log read on a second thread: it walks sled's pages and
/// locates each block's events while this one decodes and folds the blocks before, at most
/// [`REBUILD_QUEUE_BLOCKS_MAX`] ahead. For the long replays of a rebuild.
fn fold_to_pipelined(
    log: &Log,
    books: &mut Books,
    end: u64,
    after: &mut dyn FnMut(&Books) -> Result<(), ProjectionError>,
) -> Result<u64, ProjectionError> {
    let from = books.position() + 1;
    if end < from {
        return Ok(0);
    }
    let scan = log.scan_blocks(from, end - from + 1);
    let folded = std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(REBUILD_QUEUE_BLOCKS_MAX);
        std::thread::Builder::new()
            .name("rebuild-scan".to_owned())
            .spawn_scoped(scope, move || {
                for block in scan {
                    // A closed queue means the fold stopped: so does the scan.
                    if sender.send(block).is_err() {
                        break;
                    }
                }
            })
            .map_err(crate::log::Error::Io)?;
        let mut folded = 0;
        for block in receiver {
            for stored_event in block?.events() {
                fold_event(books, &stored_event, after)?;
                folded += 1;
            }
        }
        Ok::<u64, ProjectionError>(folded)
    })?;
    check_folded_to(books, end)?;
    Ok(folded)
}

/// Opens the checkpoint store, waiting a bounded time for its file lock as the log does,
/// with the log's segment size so that no tree node goes to a blob file sled never fsyncs.
/// A store made with other segments holds only derived data: it is removed and made anew,
/// and the books are folded again from the log.
fn open_checkpoint_store(path: &Path) -> Result<sled::Db, ProjectionError> {
    let config = sled::Config::new()
        .path(path)
        .cache_capacity(CHECKPOINT_CACHE_BYTES)
        .segment_size(crate::log::SLED_SEGMENT_BYTES)
        .flush_every_ms(Some(1000));
    match crate::log::open_sled_waiting(&config) {
        Err(sled::Error::Unsupported(reason)) if reason.contains("io buffer size") => {
            tracing::warn!(
                path = %path.display(),
                %reason,
                "the checkpoint store was made with other sled segments; removing it: the \
                 books are folded again from the log"
            );
            std::fs::remove_dir_all(path).map_err(crate::log::Error::Io)?;
            Ok(crate::log::open_sled_waiting(&config).map_err(crate::log::Error::from)?)
        }
        opened => Ok(opened.map_err(crate::log::Error::from)?),
    }
}

/// Whether a checkpoint is kept at `position`.
fn is_checkpoint_position(position: u64) -> bool {
    position > 0 && position.is_multiple_of(CHECKPOINT_EVENTS)
}

/// Folds the log's events after `books` up to `end` into it; calls `after` after each event.
fn fold_to(
    log: &Log,
    books: &mut Books,
    end: u64,
    after: &mut dyn FnMut(&Books) -> Result<(), ProjectionError>,
) -> Result<u64, ProjectionError> {
    let from = books.position() + 1;
    if end < from {
        return Ok(0);
    }
    let folded = log.scan_range(from, end - from + 1, &mut |stored_event| {
        fold_event(books, &stored_event, after)
    })?;
    check_folded_to(books, end)?;
    Ok(folded)
}

/// Folds one stored event into `books` (as far as the books read it), then calls `after`.
fn fold_event(
    books: &mut Books,
    stored_event: &EventRef<'_>,
    after: &mut dyn FnMut(&Books) -> Result<(), ProjectionError>,
) -> Result<(), ProjectionError> {
    match stored::for_books(stored_event) {
        Ok(event) => books.apply(stored_event.position, &event)?,
        // The log's hash chain holds (it is verified on open), so these are the bytes that
        // were appended: an event appended before commands were checked to read back. Its
        // region is unknown; the books name it and go on.
        Err(error) => books.skip_undecodable(stored_event.position, error.to_string())?,
    }
    after(books)
}

/// Checks that a fold reached `end`: the log holds every position it acknowledged.
fn check_folded_to(books: &Books, end: u64) -> Result<(), ProjectionError> {
    if books.position() != end {
        return Err(crate::log::Error::Corrupt {
            position: books.position() + 1,
            reason: format!("the log ended before position {end}, which it had acknowledged"),
        }
        .into());
    }
    Ok(())
}

impl Checkpoints {
    /// Stores the books at their position: the rule events first, if this generation has
    /// not stored them at this count yet, then the checkpoint that refers to them.
    fn store(&self, generation: u64, books: &Books) -> Result<(), ProjectionError> {
        let mut staged = Staged::default();
        self.stage(generation, books, &mut staged)?;
        self.apply(staged)
    }

    /// Adds the books' checkpoint to `staged`. The rule events it refers to are stored at
    /// once if this generation has not stored them at this count yet (they change rarely),
    /// so they are always in place before a checkpoint that names them.
    fn stage(
        &self,
        generation: u64,
        books: &Books,
        staged: &mut Staged,
    ) -> Result<(), ProjectionError> {
        let position = books.position();
        let encode_error = |error: codec::CodecError| ProjectionError::Checkpoint {
            position,
            reason: error.to_string(),
        };
        let count = books.rule_event_count() as u64;
        if !self
            .rules
            .contains_key(checkpoint_key(generation, count, 0))?
        {
            let bytes = codec::encode_projection_record(
                codec::FORMAT_CHECKPOINT_RULES_V1,
                &books.rule_events(),
            )
            .map_err(encode_error)?;
            let mut batch = sled::Batch::default();
            stage_chunks(&mut batch, generation, count, &bytes)?;
            self.rules.apply_batch(batch)?;
        }
        let bytes =
            codec::encode_projection_record(codec::FORMAT_CHECKPOINT_V2, &books.checkpoint())
                .map_err(encode_error)?;
        stage_chunks(&mut staged.batch, generation, position, &bytes)?;
        staged.checkpoints += 1;
        Ok(())
    }

    /// Stores the staged checkpoints, atomically.
    fn apply(&self, staged: Staged) -> Result<(), ProjectionError> {
        if staged.checkpoints > 0 {
            self.books.apply_batch(staged.batch)?;
        }
        Ok(())
    }

    /// The latest checkpoint of `generation` at or before `position`.
    fn load(&self, generation: u64, position: u64) -> Result<Option<Books>, ProjectionError> {
        let start = checkpoint_key(generation, 0, 0);
        let end = checkpoint_key(generation, position, u16::MAX);
        let Some(last) = self.books.range(start..=end).next_back() else {
            return Ok(None);
        };
        let found = key_position(&last?.0);
        let bytes = load_chunks(&self.books, generation, found)?;
        let error = |reason: String| ProjectionError::Checkpoint {
            position: found,
            reason,
        };
        let books = decode_checkpoint(&bytes, &mut |count| self.load_rules(generation, count))
            .map_err(error)?;
        if books.position() != found {
            return Err(error(format!(
                "holds books at position {}",
                books.position()
            )));
        }
        Ok(Some(books))
    }

    /// The first `count` rule events of `generation`, as stored beside its checkpoints.
    fn load_rules(&self, generation: u64, count: u64) -> Result<Arc<Vec<Event>>, String> {
        let mut read = lock(&self.rules_read);
        if let Some((cached_generation, cached_count, rules)) = read.as_ref()
            && (*cached_generation, *cached_count) == (generation, count)
        {
            return Ok(Arc::clone(rules));
        }
        let bytes = load_chunks(&self.rules, generation, count).map_err(|e| e.to_string())?;
        if bytes.is_empty() {
            return Err(format!("its {count} rule events are missing"));
        }
        let rules = Arc::new(decode_checkpoint_rules(&bytes)?);
        *read = Some((generation, count, Arc::clone(&rules)));
        Ok(rules)
    }
}

/// The books a stored checkpoint holds (format [`codec::FORMAT_CHECKPOINT_V1`] or
/// [`codec::FORMAT_CHECKPOINT_V2`]); `rules` hands over the rule events a V2 checkpoint
/// names by count. Damaged bytes are an error, never a panic.
pub fn decode_checkpoint(
    bytes: &[u8],
    rules: &mut dyn FnMut(u64) -> Result<Arc<Vec<Event>>, String>,
) -> Result<Books, String> {
    match codec::record_format(bytes).map_err(|e| e.to_string())? {
        codec::FORMAT_CHECKPOINT_V1 => codec::decode_checkpoint(bytes).map_err(|e| e.to_string()),
        _ => {
            let checkpoint: BooksCheckpoint =
                codec::decode_projection_record(codec::FORMAT_CHECKPOINT_V2, bytes)
                    .map_err(|e| e.to_string())?;
            let count = checkpoint.rule_event_count();
            let rule_events = rules(count)?;
            Books::from_checkpoint(checkpoint, rule_events.as_ref().clone())
                .ok_or_else(|| format!("its rule events are not the {count} it names"))
        }
    }
}

/// The rule events stored beside checkpoints (format
/// [`codec::FORMAT_CHECKPOINT_RULES_V1`]). Damaged bytes are an error, never a panic.
pub fn decode_checkpoint_rules(bytes: &[u8]) -> Result<Vec<Event>, String> {
    codec::decode_projection_record(codec::FORMAT_CHECKPOINT_RULES_V1, bytes)
        .map_err(|e| format!("its rule events: {e}"))
}

/// Checkpoints staged in one sled batch: a rebuild stores them
/// [`REBUILD_CHECKPOINTS_PER_BATCH`] at a time, not one batch (and sled write) each.
#[derive(Default)]
struct Staged {
    batch: sled::Batch,
    checkpoints: usize,
}

/// Adds `bytes` under `(generation, index)` to `batch`, in chunks of
/// [`CHECKPOINT_CHUNK_BYTES_MAX`].
fn stage_chunks(
    batch: &mut sled::Batch,
    generation: u64,
    index: u64,
    bytes: &[u8],
) -> Result<(), ProjectionError> {
    for (chunk_index, chunk) in bytes.chunks(CHECKPOINT_CHUNK_BYTES_MAX).enumerate() {
        let chunk_index = u16::try_from(chunk_index).map_err(|_| ProjectionError::Checkpoint {
            position: index,
            reason: "checkpoint too large".to_owned(),
        })?;
        batch.insert(&checkpoint_key(generation, index, chunk_index)[..], chunk);
    }
    Ok(())
}

/// The chunks stored under `(generation, index)`, joined.
fn load_chunks(tree: &sled::Tree, generation: u64, index: u64) -> Result<Vec<u8>, sled::Error> {
    let mut bytes = Vec::new();
    let chunks = tree
        .range(checkpoint_key(generation, index, 0)..=checkpoint_key(generation, index, u16::MAX));
    for chunk in chunks {
        bytes.extend_from_slice(&chunk?.1);
    }
    Ok(bytes)
}

/// Drops every checkpoint that is not of `generation`: a crashed rebuild's, or an older
/// fold version's, which must never be read as the current books.
fn drop_other_generations(tree: &sled::Tree, generation: u64) -> Result<(), ProjectionError> {
    let mut batch = sled::Batch::default();
    let mut dropped = 0u64;
    // Keys start with their generation (u64 BE): only the keys below and above this
    // generation's are read, so an open does not read every checkpoint it keeps.
    let own = generation.to_be_bytes();
    let below = tree.range(..own.to_vec());
    let above = match generation.checked_add(1) {
        Some(next) => tree.range(next.to_be_bytes().to_vec()..),
        None => tree.range(own.to_vec()..own.to_vec()),
    };
    for entry in below.chain(above) {
        let (key, _) = entry?;
        batch.remove(key);
        dropped += 1;
    }
    if dropped > 0 {
        tracing::info!(
            dropped,
            generation,
            "dropped checkpoints of other generations"
        );
        tree.apply_batch(batch)?;
    }
    Ok(())
}
