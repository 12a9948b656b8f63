//! The log handle: open and recover, append through the writer, read back.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::codec::{self, BlockCursor};
use super::envelope::{
    AppendRequest, Appended, COMMAND_EVENTS_MAX, COMMAND_ID_BYTES_MAX, Committed,
    EVENT_TYPE_BYTES_MAX, Envelope, EventRef, GENESIS_HASH, Hash, Head, PAYLOAD_BYTES_MAX,
    STREAM_ID_BYTES_MAX,
};
use super::error::{Error, Result};
use super::head_record::{self, HeadRecord};
use super::indexer;
use super::keys;
use super::verify::{self, VerifyFrom};
use super::writer::{APPEND_QUEUE_DEPTH_MAX, FastMap, Job, StreamTip, Writer};

/// The sled tree that holds the log.
const TREE_NAME: &str = "ledger";
/// sled's page cache, in bytes.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// sled's segment (and io buffer) size. sled 0.34 writes any page over a quarter of a
/// segment to a blob file of its own, never fsyncs it, and counts it in its cache at the
/// size of the blob's pointer (so it is never evicted). A leaf holds up to 17 values (sled
/// splits above 16): 17 full blocks are about 1.1 MiB. With 8 MiB segments the limit is
/// 2 MiB, so every tree node stays in the `db` file the syncer fsyncs, and counts in the
/// cache at its real size. (With the 512 KiB default every log leaf was a blob, and a
/// rebuild kept the whole log it had read in memory: 3.8 GiB after 10M events.)
pub const SLED_SEGMENT_BYTES: usize = 8 * 1024 * 1024;
/// How many times a scan touches each block it reads. sled 0.34 keeps page accesses in
/// 256 shards and settles a shard's evictions only after 64 accesses to its pages; a scan
/// touches each leaf about once, so without this no page it passed would ever be evicted.
/// 16 blocks to a leaf, 8 touches each: about two settlements per leaf, at the cost of 8
/// lookups per block of ~250 events.
const SCAN_TOUCHES_PER_BLOCK: usize = 8;
/// How many blocks a scan reads before it starts touching them: a short read (a command's
/// catch-up of the books, a few events) leaves sled's cache as it is and costs no lookups.
const SCAN_UNTOUCHED_BLOCKS: u64 = 16;

const _: () = assert!(
    SLED_SEGMENT_BYTES / 4 > 17 * codec::BLOCK_BYTES_MAX,
    "a leaf of full blocks stays below sled's blob threshold of a quarter segment"
);

/// How much of the chain to check when the log is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenCheck {
    /// Only the last block against the stored head.
    Tail,
    /// The tail, and every event after the last verified mark.
    #[default]
    SinceVerified,
    /// The whole chain from position 1.
    Full,
}

/// How to open a log.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The data directory (created if missing).
    pub path: PathBuf,
    /// How long the writer waits for more appends before committing a group.
    pub group_commit_wait: Duration,
    /// How much to verify on open.
    pub open_check: OpenCheck,
    /// Keep the head record ([`super::head_record`]): check the log against it on open and
    /// write each acknowledged head to it. Off only in `fundledger bench log`, to measure
    /// what it costs: a log opened without it cannot tell that damage shortened it.
    pub head_record: bool,
    /// Open a damaged log read-only to write out what remains (`fundledger export
    /// events`): a log shorter than its head record, or whose head cannot be recovered, is
    /// opened anyway, with the damage kept for [`Log::take_damage`], and every event sled
    /// still yields up to the first unreadable one can be read. Nothing is written: no
    /// appends, no stream index, no head record.
    pub salvage: bool,
    /// How far the durable head may run ahead of the verified mark before a background
    /// check moves the mark ([`VERIFY_MARK_LAG_EVENTS`]; smaller only in tests).
    pub verify_mark_lag_events: u64,
}

impl LogConfig {
    /// The defaults for a directory.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LogConfig {
            path: path.into(),
            group_commit_wait: Duration::from_micros(200),
            open_check: OpenCheck::SinceVerified,
            head_record: true,
            salvage: false,
            verify_mark_lag_events: VERIFY_MARK_LAG_EVENTS,
        }
    }
}

/// How long the durable head must stand still before the indexer indexes what the writer
/// appended meanwhile (unless someone waits for the index, or it lags too far).
pub const INDEX_DEFER_IDLE: Duration = Duration::from_millis(10);
/// How far the indexer lets the index lag while it defers to the writer; beyond it, it
/// indexes even while appends stream in (and the writer waits at
/// [`super::INDEX_LAG_EVENTS_MAX`]).
pub const INDEX_DEFER_EVENTS_MAX: u64 = 1_000_000;
/// How long the indexer defers at most once the index has fallen behind: a steady trickle
/// of appends never lets the head stand still, and the index (and with it small commits
/// indexing themselves) must not stay behind for long.
pub const INDEX_DEFER_MAX: Duration = Duration::from_secs(1);

const _: () = assert!(INDEX_DEFER_EVENTS_MAX <= super::INDEX_LAG_EVENTS_MAX / 2);

/// State shared by the handle, the readers, the writer, the syncer and the indexer.
pub(crate) struct Shared {
    pub tree: sled::Tree,
    /// The last acknowledged (durable) position: readers never see past it.
    durable: AtomicU64,
    head: RwLock<Head>,
    /// Tells subscribers each new durable head.
    head_watch: tokio::sync::watch::Sender<Head>,
    progress: Mutex<Progress>,
    progress_changed: Condvar,
    /// Why the log accepts no more appends (a failed write or fsync), if it does not.
    poisoned: Mutex<Option<String>>,
}

/// How far the writer and the indexer have got; guarded by `Shared::progress`.
#[derive(Debug, Default)]
struct Progress {
    durable: u64,
    indexed: u64,
    /// Callers blocked in [`Shared::wait_index_lag`]: the indexer does not defer to the
    /// writer while anyone waits for it.
    waiting_for_index: u32,
    /// When the durable head last moved (`None`: not since the log opened).
    durable_moved_at: Option<Instant>,
    /// Since when the index has been behind the durable head (`None`: level).
    behind_since: Option<Instant>,
    stopping: bool,
    index_error: Option<String>,
}

impl Progress {
    /// Starts or ends the time the index has been behind the durable head.
    fn note_level(&mut self) {
        if self.indexed >= self.durable {
            self.behind_since = None;
        } else if self.behind_since.is_none() {
            self.behind_since = Some(Instant::now());
        }
    }
}

impl Shared {
    fn new(tree: sled::Tree, head: Head) -> Shared {
        Shared {
            tree,
            durable: AtomicU64::new(head.position),
            head: RwLock::new(head),
            head_watch: tokio::sync::watch::Sender::new(head),
            progress: Mutex::new(Progress::default()),
            progress_changed: Condvar::new(),
            poisoned: Mutex::new(None),
        }
    }

    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, Progress>) -> MutexGuard<'a, Progress> {
        self.progress_changed
            .wait(guard)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes a durable head visible to readers and to the indexer; `indexed` says the
    /// batch wrote its own stream-index entries and mark, so the index reaches the head.
    pub fn publish(&self, head: Head, indexed: bool) {
        // Durable first: whoever reads the new head can then read every event up to it.
        self.durable.store(head.position, Ordering::Release);
        let mut current = self
            .head
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = head;
        drop(current);
        self.head_watch.send_replace(head);
        let mut progress = self.progress();
        progress.durable = head.position;
        progress.durable_moved_at = Some(Instant::now());
        if indexed {
            progress.indexed = head.position;
        }
        progress.note_level();
        drop(progress);
        self.progress_changed.notify_all();
    }

    /// The indexer waits here for durable events the index does not hold; returns the
    /// index mark and the durable head, or `None` once the log stops and the index has
    /// caught up. The mark may have moved without the indexer: the writer indexes a small
    /// batch itself when the index is level with the head.
    ///
    /// While appends stream in and nobody waits for the index, the indexer defers to the
    /// writer: it returns once the durable head has stood still for [`INDEX_DEFER_IDLE`],
    /// once anyone waits for the index (a stream read, or the writer at its lag bound),
    /// once the index lags [`INDEX_DEFER_EVENTS_MAX`] events, or once it has been behind
    /// for [`INDEX_DEFER_MAX`]. On two cores an index entry costs sled three to four times
    /// the writer's whole work per event, and both take sled's tree lock: indexing during a
    /// 1M-event burst held acknowledged appends to 348k–421k events/s, against 451k–721k
    /// deferred, while the burst and its index together took about as long either way.
    pub fn wait_for_unindexed(&self) -> Option<(u64, u64)> {
        let mut progress = self.progress();
        loop {
            if progress.stopping && progress.durable <= progress.indexed {
                return None;
            }
            if progress.durable > progress.indexed {
                let lag = progress.durable - progress.indexed;
                let still_for = progress
                    .durable_moved_at
                    .map_or(INDEX_DEFER_IDLE, |moved_at| moved_at.elapsed());
                let behind_for = progress
                    .behind_since
                    .map_or(INDEX_DEFER_MAX, |since| since.elapsed());
                if progress.stopping
                    || progress.waiting_for_index > 0
                    || lag >= INDEX_DEFER_EVENTS_MAX
                    || still_for >= INDEX_DEFER_IDLE
                    || behind_for >= INDEX_DEFER_MAX
                {
                    return Some((progress.indexed, progress.durable));
                }
                let until_due = (INDEX_DEFER_IDLE - still_for).min(INDEX_DEFER_MAX - behind_for);
                progress = self
                    .progress_changed
                    .wait_timeout(progress, until_due)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
                continue;
            }
            progress = self.wait(progress);
        }
    }

    /// The indexer reports its new mark.
    pub fn set_indexed(&self, indexed: u64) {
        let mut progress = self.progress();
        progress.indexed = progress.indexed.max(indexed);
        progress.note_level();
        drop(progress);
        self.progress_changed.notify_all();
    }

    /// The index mark, if the index holds every durable event (the indexer is idle).
    pub fn indexed_if_level(&self) -> Option<u64> {
        let progress = self.progress();
        (progress.indexed == progress.durable && progress.index_error.is_none())
            .then_some(progress.indexed)
    }

    /// The indexer reports that it stopped on an error.
    pub fn index_failed(&self, reason: String) {
        self.progress().index_error = Some(reason);
        self.progress_changed.notify_all();
    }

    /// Waits until the index holds every event up to `position`; returns the mark. While
    /// it waits, the indexer does not defer to the writer.
    pub fn wait_index_lag(&self, position: u64) -> Result<u64> {
        let mut progress = self.progress();
        let mut counted = false;
        let outcome = loop {
            if let Some(reason) = &progress.index_error {
                break Err(Error::IndexFailed(reason.clone()));
            }
            if progress.indexed >= position {
                break Ok(progress.indexed);
            }
            if !counted {
                counted = true;
                progress.waiting_for_index += 1;
                self.progress_changed.notify_all();
            }
            progress = self.wait(progress);
        };
        if counted {
            progress.waiting_for_index -= 1;
        }
        outcome
    }

    /// Why the log accepts no more appends, if it does not.
    pub fn poisoned(&self) -> Option<String> {
        self.poisoned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Refuses every later append: a write or fsync failed.
    pub fn poison(&self, reason: &str) {
        self.poisoned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert_with(|| reason.to_owned());
    }

    fn stop_indexer(&self) {
        self.progress().stopping = true;
        self.progress_changed.notify_all();
    }

    /// The verifier thread: whenever the durable head is [`VERIFY_MARK_LAG_EVENTS`] past
    /// the verified mark, it checks the chain up to the head and moves the mark, so that an
    /// open after a crash re-hashes at most about that many events, however long the
    /// history. Ends when the log stops, or at a broken chain, which it reports and the
    /// next open refuses.
    fn run_verifier(&self, mut mark: u64, lag: u64) {
        loop {
            let end = {
                let mut progress = self.progress();
                while !progress.stopping && progress.durable < mark.saturating_add(lag) {
                    progress = self.wait(progress);
                }
                if progress.stopping {
                    return;
                }
                progress.durable
            };
            match verify::advance_mark(&self.tree, end) {
                Ok(report) => mark = report.head.position,
                Err(error) => {
                    tracing::error!(%error, "the background chain check failed; the verified mark stays");
                    return;
                }
            }
        }
    }
}

/// How far the durable head may run ahead of the verified mark before the verifier thread
/// checks the chain up to it: an open re-hashes at most about this many events (0.3 s at
/// the 3.8M events/s measured for `verify`), and a clean shutdown moves the mark to the head.
pub const VERIFY_MARK_LAG_EVENTS: u64 = 1_000_000;

/// The event log. Cheap to share behind an `Arc`; appends go to one writer thread.
pub struct Log {
    shared: Arc<Shared>,
    db: sled::Db,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    indexer: Mutex<Option<std::thread::JoinHandle<()>>>,
    verifier: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The damage a salvage open found and let pass ([`LogConfig::salvage`]).
    damage: Mutex<Option<Error>>,
    /// The copy of a store sled refused that a salvage open reads: held only so that it is
    /// removed when the log is dropped.
    _salvage_copy: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Log")
            .field("head", &self.head())
            .finish()
    }
}

/// How long an open waits for the previous holder of the store's file lock to let go.
const LOCK_WAIT_MS_MAX: u64 = 5_000;
/// How often it tries again meanwhile.
const LOCK_RETRY_MS: u64 = 50;

/// Opens a sled store as `config` says, waiting a bounded time for its file lock: a store
/// just closed by this process can keep the lock for a moment while sled's I/O threads
/// finish (sled's own tests block on it for the same reason). Another process holding it
/// is refused after the wait. The log and the projections' checkpoint store both open so.
pub fn open_sled_waiting(config: &sled::Config) -> sled::Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match config.open() {
            Err(sled::Error::Io(error))
                if error.to_string().contains("could not acquire lock")
                    && started.elapsed() < Duration::from_millis(LOCK_WAIT_MS_MAX) =>
            {
                std::thread::sleep(Duration::from_millis(LOCK_RETRY_MS));
            }
            other => return other,
        }
    }
}

/// Opens the log's sled store; refuses one made with smaller segments.
fn open_sled(path: &Path) -> Result<sled::Db> {
    let config = sled::Config::new()
        .path(path)
        .cache_capacity(CACHE_BYTES)
        .segment_size(SLED_SEGMENT_BYTES)
        .flush_every_ms(None);
    match open_sled_waiting(&config) {
        Err(sled::Error::Unsupported(reason)) if reason.contains("io buffer size") => {
            Err(Error::Unsupported(format!(
                "{}: this store was made with smaller sled segments ({reason}); with \
                 them sled writes tree nodes over a quarter segment to blob files it \
                 never fsyncs, so its durability cannot be promised; replay its events \
                 (`fundledger export events`) into a new store",
                path.display()
            )))
        }
        other => Ok(other?),
    }
}

fn fsync_directory(path: &Path) -> Result<()> {
    File::open(path)?.sync_all()?;
    Ok(())
}

impl Log {
    /// Whether `path` holds a log (sled's `db` file). The tools that only read refuse a
    /// directory without one instead of opening, and so creating, an empty store there.
    pub fn exists(path: &Path) -> bool {
        path.join("db").is_file()
    }

    /// Opens (or creates) the log in `config.path`, checks the chain as configured, and
    /// starts the writer. Refuses a broken chain with [`Error::Corrupt`].
    ///
    /// A log that ends before the head its head record says was acknowledged is refused
    /// with [`Error::Truncated`], and one whose event at that head has another hash with
    /// [`Error::Corrupt`]; a store sled finds corrupt is refused with [`Error::Damaged`].
    pub fn open(config: &LogConfig) -> Result<Log> {
        if config.salvage {
            return Log::open_salvage(config);
        }
        let created = !config.path.join("db").exists();
        let db = open_sled(&config.path)?;
        let tree = db.open_tree(TREE_NAME)?;
        let file = File::open(config.path.join("db"))?;
        if created {
            db.flush()?;
            file.sync_all()?;
            File::open(config.path.join("conf"))?.sync_all()?;
            fsync_directory(&config.path)?;
        }
        let (head, recorded_micros) = recover_head(&tree)?;
        let recorder = if config.head_record {
            let record = keep_head_record(&config.path, &tree, &file, head, created)?;
            Some(super::head_record::Recorder::spawn(record)?)
        } else {
            None
        };
        let shared = Arc::new(Shared::new(tree, head));
        let from = match config.open_check {
            OpenCheck::Tail => None,
            OpenCheck::SinceVerified => Some(VerifyFrom::VerifiedMark),
            OpenCheck::Full => Some(VerifyFrom::Start),
        };
        let checked = from.is_some();
        if let Some(from) = from {
            let report = verify::verify(&shared.tree, head.position, from, &mut |_| {})?;
            // Everything up to the head is checked now: the next open starts from here.
            verify::store_mark(&shared.tree, report.head)?;
        }
        let (indexed, unindexed) = recover_index(&shared, head)?;
        let (sender, receiver) = mpsc::channel(APPEND_QUEUE_DEPTH_MAX);
        let (syncer, sync_queue) = super::writer::sync_queue();
        let syncer_shared = Arc::clone(&shared);
        let syncer_thread = std::thread::Builder::new()
            .name("log-syncer".to_owned())
            .spawn(move || super::writer::sync(syncer_shared, file, recorder, sync_queue))?;
        let writer = Writer {
            shared: Arc::clone(&shared),
            syncer,
            syncer_thread: Some(syncer_thread),
            receiver,
            group_commit_wait: config.group_commit_wait,
            head,
            inline_indexed: 0,
            last_recorded_micros: recorded_micros,
            cache: super::writer::stream_version_cache(),
            unindexed,
            pruned_at: indexed,
        };
        let handle = std::thread::Builder::new()
            .name("log-writer".to_owned())
            .spawn(move || writer.run())?;
        let indexer_shared = Arc::clone(&shared);
        let indexer = std::thread::Builder::new()
            .name("log-indexer".to_owned())
            .spawn(move || indexer::run(indexer_shared))?;
        // A log opened without a chain check (a tool's quick look) keeps its mark as it is.
        let verifier = if checked {
            let verifier_shared = Arc::clone(&shared);
            let mark = verify::load_mark(&shared.tree)?.map_or(0, |mark| mark.position);
            let lag = config.verify_mark_lag_events.max(1);
            Some(
                std::thread::Builder::new()
                    .name("log-verifier".to_owned())
                    .spawn(move || verifier_shared.run_verifier(mark, lag))?,
            )
        } else {
            None
        };
        tracing::info!(path = %config.path.display(), %head, "event log opened");
        Ok(Log {
            shared,
            db,
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(handle)),
            indexer: Mutex::new(Some(indexer)),
            verifier: Mutex::new(verifier),
            damage: Mutex::new(None),
            _salvage_copy: None,
        })
    }

    /// Opens a damaged log read-only ([`LogConfig::salvage`]): the damage found is kept,
    /// not refused, and no thread that writes is started. If sled refuses the store as
    /// corrupt, its files (without sled's snapshot, so sled recovers from its log alone, up
    /// to the first damaged record) are copied beside the data directory and read there.
    fn open_salvage(config: &LogConfig) -> Result<Log> {
        let (db, salvage_copy, refused) = match open_sled(&config.path) {
            Ok(db) => (db, None, None),
            Err(damage @ Error::Damaged(_)) => {
                tracing::error!(
                    %damage,
                    "sled refuses the store: reading what its log holds from a copy without \
                     its snapshot"
                );
                let copy = copy_without_snapshot(&config.path)?;
                (open_sled(copy.path())?, Some(copy), Some(damage))
            }
            Err(other) => return Err(other),
        };
        let tree = db.open_tree(TREE_NAME)?;
        let (head, damage) = salvage_head(&config.path, &tree);
        // The head record's comparison names the missing events; sled's refusal was logged.
        let damage = damage.or(refused);
        if let Some(damage) = &damage {
            tracing::error!(%damage, "salvaging a damaged log");
        }
        let shared = Arc::new(Shared::new(tree, head));
        shared.poison("the log was opened read-only to salvage what remains of it");
        shared
            .index_failed("the log was opened read-only to salvage what remains of it".to_owned());
        tracing::warn!(path = %config.path.display(), %head, "event log opened read-only to salvage it");
        Ok(Log {
            shared,
            db,
            sender: Mutex::new(None),
            writer: Mutex::new(None),
            indexer: Mutex::new(None),
            verifier: Mutex::new(None),
            damage: Mutex::new(damage),
            _salvage_copy: salvage_copy,
        })
    }

    /// The damage a salvage open ([`LogConfig::salvage`]) found and let pass, once.
    pub fn take_damage(&self) -> Option<Error> {
        self.damage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    fn sender(&self) -> Result<mpsc::Sender<Job>> {
        let guard = self
            .sender
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.clone().ok_or(Error::WriterStopped)
    }

    /// Appends one command's events atomically and waits until they are durable.
    pub async fn append(&self, request: AppendRequest) -> Result<Appended> {
        validate(&request)?;
        let (reply, receive) = oneshot::channel();
        self.sender()?
            .send(Job {
                request: Arc::new(request),
                reply,
            })
            .await
            .map_err(|_| Error::WriterStopped)?;
        Ok(receive.await.map_err(|_| Error::WriterStopped)??.appended)
    }

    /// [`Log::append`] for threads outside an async runtime.
    pub fn append_blocking(&self, request: AppendRequest) -> Result<Appended> {
        Ok(self.commit_blocking(Arc::new(request))?.appended)
    }

    /// [`Log::append_blocking`] that also returns what the writer stamped on each event,
    /// from which [`Committed::envelopes`] builds the envelopes without a read.
    pub fn commit_blocking(&self, request: Arc<AppendRequest>) -> Result<Committed> {
        validate(&request)?;
        let (reply, receive) = oneshot::channel();
        self.sender()?
            .blocking_send(Job { request, reply })
            .map_err(|_| Error::WriterStopped)?;
        receive.blocking_recv().map_err(|_| Error::WriterStopped)?
    }

    /// Stops accepting appends, lets the writer finish what is queued, and flushes.
    pub fn shutdown(&self) -> Result<()> {
        drop(
            self.sender
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take(),
        );
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(handle) = handle
            && handle.join().is_err()
        {
            return Err(Error::Poisoned("the log writer thread panicked".to_owned()));
        }
        self.shared.stop_indexer();
        let indexer = self
            .indexer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(indexer) = indexer
            && indexer.join().is_err()
        {
            return Err(Error::IndexFailed("the indexer thread panicked".to_owned()));
        }
        let verifier = self
            .verifier
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(verifier) = verifier {
            if verifier.join().is_err() {
                tracing::error!("the verifier thread panicked");
            }
            // What came since the last move of the mark (at most about
            // VERIFY_MARK_LAG_EVENTS): the next open re-hashes nothing.
            let durable = self.shared.durable.load(Ordering::Acquire);
            if let Err(error) = verify::advance_mark(&self.shared.tree, durable) {
                tracing::error!(%error, "the chain check at shutdown failed; the verified mark stays");
            }
        }
        self.db.flush()?;
        Ok(())
    }

    /// The last durable position and its hash.
    pub fn head(&self) -> Head {
        *self
            .shared
            .head
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A receiver that sees every new durable head: live subscriptions wait on it, then
    /// read the new events with [`Log::read_range`].
    pub fn watch_head(&self) -> tokio::sync::watch::Receiver<Head> {
        self.shared.head_watch.subscribe()
    }

    /// Events from `from_position` (1 if 0) in position order, at most `limit`, up to the
    /// durable head as of this call. Reads lazily, one block at a time.
    pub fn read_range(&self, from_position: u64, limit: u64) -> EventIter {
        let end = self.shared.durable.load(Ordering::Acquire);
        EventIter::new(self.shared.tree.clone(), from_position.max(1), end, limit)
    }

    /// Hands the events from `from_position` (1 if 0), at most `limit`, up to the durable
    /// head as of this call, to `visit` in position order, borrowed from their blocks: a
    /// scan that needs only the payload copies nothing. Stops at the first error, of the
    /// log or of `visit`. Returns how many events it handed over.
    pub fn scan_range<E: From<Error>>(
        &self,
        from_position: u64,
        limit: u64,
        visit: &mut dyn FnMut(EventRef<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, E> {
        let mut count = 0;
        for block in self.scan_blocks(from_position, limit) {
            for stored in block?.events() {
                visit(stored)?;
                count += 1;
            }
        }
        Ok(count)
    }

    /// The blocks holding the events from `from_position` (1 if 0), at most `limit`, up to
    /// the durable head as of this call, in position order, each with its events located
    /// (and checked: dense positions, decodable bodies) but not copied. A block can be
    /// handed to another thread, which reads its events with [`ScannedBlock::events`].
    pub fn scan_blocks(&self, from_position: u64, limit: u64) -> BlockScan {
        let from = from_position.max(1);
        let end = self.shared.durable.load(Ordering::Acquire);
        let last = end.min(from.saturating_add(limit.saturating_sub(1)));
        let last = if limit == 0 { 0 } else { last };
        BlockScan {
            tree: self.shared.tree.clone(),
            blocks_read: 0,
            blocks: self
                .shared
                .tree
                .range(&keys::block(from)[..]..=&keys::block(u64::MAX)[..]),
            next: from,
            last,
            failed: false,
        }
    }

    /// One event by position, if it is durable. Decodes only that event of its block.
    pub fn get(&self, position: u64) -> Result<Option<Envelope>> {
        if position == 0 || position > self.shared.durable.load(Ordering::Acquire) {
            return Ok(None);
        }
        let Some(entry) = self.shared.tree.range(&keys::block(position)[..]..).next() else {
            return Ok(None);
        };
        let (key, bytes) = entry?;
        let key_position = keys::block_position(&key).unwrap_or(0);
        let corrupt = |at, reason: String| Error::Corrupt {
            position: at,
            reason,
        };
        let mut cursor =
            BlockCursor::open(&bytes).map_err(|error| corrupt(key_position, error.to_string()))?;
        let mut previous_hash = cursor.previous_hash;
        loop {
            let at = cursor.next_position();
            match cursor.next_event() {
                Err(error) => return Err(corrupt(at, error.to_string())),
                Ok(None) => return Err(corrupt(position, "missing from its block".to_owned())),
                Ok(Some(raw)) if raw.position == position => {
                    let body = codec::decode_body(raw.body)
                        .map_err(|error| corrupt(position, error.to_string()))?;
                    return codec::envelope_from_body(body, previous_hash, raw.hash)
                        .map(Some)
                        .map_err(|error| corrupt(position, error.to_string()));
                }
                Ok(Some(raw)) => previous_hash = raw.hash,
            }
        }
    }

    /// A stream's events from `from_version` (1 if 0), at most `limit`, in version order,
    /// up to the durable head as of this call (waits for the stream index to reach it).
    pub fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: u64,
    ) -> Result<StreamIter<'_>> {
        let start = keys::stream_entry(stream_id, from_version.max(1));
        if validate_stream_id(stream_id).is_err() {
            // No such stream was ever appended, and its key prefix could alias another
            // stream's entries (`a\0` against `a`'s versions): it has no events.
            return Ok(StreamIter {
                log: self,
                entries: self.shared.tree.range(start.clone()..start),
                remaining: 0,
            });
        }
        self.shared
            .wait_index_lag(self.shared.durable.load(Ordering::Acquire))?;
        let end = keys::stream_entry(stream_id, u64::MAX);
        Ok(StreamIter {
            log: self,
            entries: self.shared.tree.range(start..=end),
            remaining: limit,
        })
    }

    /// A stream's durable version (0: no stream), as of this call.
    pub fn stream_version(&self, stream_id: &str) -> Result<u64> {
        if validate_stream_id(stream_id).is_err() {
            // Never appended, and its key prefix could alias another stream's (see
            // `read_stream`).
            return Ok(0);
        }
        let durable = self.shared.durable.load(Ordering::Acquire);
        self.shared.wait_index_lag(durable)?;
        // A commit being fsynced may already hold index entries: skip those past the
        // durable head, so no reader learns of a version that could still be lost.
        super::writer::indexed_version(&self.shared.tree, stream_id, durable)
    }

    /// The durable outcome of a command id, if one was appended: its request digest, first
    /// position and event count.
    pub fn command_record(&self, command_id: &str) -> Result<Option<(Hash, Appended)>> {
        let Some(bytes) = self.shared.tree.get(keys::idempotency(command_id))? else {
            return Ok(None);
        };
        let record =
            codec::IdempotencyRecord::decode(&bytes).map_err(|error| Error::Undecodable {
                key: format!("idempotency {command_id}"),
                reason: error.to_string(),
            })?;
        let last = record.first_position + u64::from(record.count);
        if last.saturating_sub(1) > self.shared.durable.load(Ordering::Acquire) {
            return Ok(None);
        }
        let appended = Appended {
            first_position: record.first_position,
            count: record.count,
            replayed: true,
        };
        Ok(Some((record.request_digest, appended)))
    }

    /// How far the stream index has got (it trails the head by at most
    /// [`super::INDEX_LAG_EVENTS_MAX`] events).
    pub fn indexed_position(&self) -> u64 {
        self.shared.progress().indexed
    }

    /// The last position recorded at or before `time` (0 if none): "the log as known at T".
    pub fn position_at(&self, time: jiff::Timestamp) -> Result<u64> {
        let Ok(micros) = u64::try_from(time.as_microsecond()) else {
            return Ok(0);
        };
        let end = keys::time(micros, u64::MAX);
        let durable = self.shared.durable.load(Ordering::Acquire);
        match self
            .shared
            .tree
            .range(&[keys::TIME][..]..=&end[..])
            .next_back()
        {
            None => Ok(0),
            Some(entry) => {
                let (key, _) = entry?;
                let position = keys::time_position(&key).ok_or_else(|| Error::Undecodable {
                    key: "time index".to_owned(),
                    reason: "key malformed".to_owned(),
                })?;
                Ok(position.min(durable))
            }
        }
    }

    /// Recomputes the hash chain up to the durable head, from position 1 or from a trusted
    /// head digest, calling `progress` with each verified position now and then. A check
    /// from position 1 records the verified mark, so the next open starts from there.
    pub fn verify(
        &self,
        trusted: Option<Head>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<verify::VerifyReport> {
        let end = self.shared.durable.load(Ordering::Acquire);
        let from = trusted.map_or(VerifyFrom::Start, VerifyFrom::Trusted);
        let report = verify::verify(&self.shared.tree, end, from, progress)?;
        // Only a check from position 1 moves the mark that later opens start from: a
        // trusted head is the caller's word, not something this store has checked.
        if trusted.is_none() {
            verify::store_mark(&self.shared.tree, report.head)?;
        }
        Ok(report)
    }

    /// The verified mark: the head as of the last check of the whole chain up to it (at
    /// an open, in the background, or at a clean shutdown). An open re-hashes only the
    /// events after it.
    pub fn verified_mark(&self) -> Result<Option<Head>> {
        verify::load_mark(&self.shared.tree)
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        if let Err(error) = self.shutdown() {
            tracing::error!(%error, "closing the event log failed");
        }
    }
}

fn validate(request: &AppendRequest) -> Result<()> {
    let invalid = |field, rule: String| Err(Error::InvalidAppend { field, rule });
    if request.command_id.is_empty() || request.command_id.len() > COMMAND_ID_BYTES_MAX {
        return invalid(
            "command_id",
            format!("must be 1 to {COMMAND_ID_BYTES_MAX} bytes"),
        );
    }
    if request.actor.len() > COMMAND_ID_BYTES_MAX {
        return invalid(
            "actor",
            format!("must be at most {COMMAND_ID_BYTES_MAX} bytes"),
        );
    }
    // An empty command would store an idempotency record with no position of its own,
    // whose durability no reader could tell.
    if request.events.is_empty() || request.events.len() > COMMAND_EVENTS_MAX {
        return invalid(
            "events",
            format!("a command appends 1 to {COMMAND_EVENTS_MAX} events"),
        );
    }
    for (stream_id, _) in &request.expectations {
        validate_stream_id(stream_id)?;
    }
    for event in &request.events {
        validate_stream_id(&event.stream_id)?;
        if event.event_type.is_empty() || event.event_type.len() > EVENT_TYPE_BYTES_MAX {
            return invalid(
                "event_type",
                format!("must be 1 to {EVENT_TYPE_BYTES_MAX} bytes"),
            );
        }
        if event.payload.len() > PAYLOAD_BYTES_MAX {
            return invalid(
                "payload",
                format!("must be at most {PAYLOAD_BYTES_MAX} bytes"),
            );
        }
    }
    Ok(())
}

fn validate_stream_id(stream_id: &str) -> Result<()> {
    if stream_id.is_empty()
        || stream_id.len() > STREAM_ID_BYTES_MAX
        || stream_id.chars().any(char::is_control)
    {
        return Err(Error::InvalidAppend {
            field: "stream_id",
            rule: format!("must be 1 to {STREAM_ID_BYTES_MAX} bytes with no control characters"),
        });
    }
    Ok(())
}

pub(crate) fn decode_position(value: &[u8]) -> Result<u64> {
    <[u8; 8]>::try_from(value)
        .map(u64::from_be_bytes)
        .map_err(|_| Error::Undecodable {
            key: "stream index".to_owned(),
            reason: format!("position value is {} bytes", value.len()),
        })
}

/// Reads the stream index's mark and collects the tips of every stream written after it,
/// which the writer must know without the index.
fn recover_index(shared: &Shared, head: Head) -> Result<(u64, FastMap<String, StreamTip>)> {
    let indexed = indexer::load_mark(&shared.tree)?;
    if indexed > head.position {
        return Err(Error::Corrupt {
            position: head.position + 1,
            reason: format!("the stream index reaches {indexed}, past the head"),
        });
    }
    let mut unindexed = FastMap::default();
    indexer::scan_streams(
        &shared.tree,
        indexed + 1,
        head.position,
        &mut |stream, version, position| {
            unindexed.insert(stream.to_owned(), StreamTip { version, position });
        },
    )?;
    {
        let mut progress = shared.progress();
        progress.durable = head.position;
        progress.indexed = indexed;
    }
    Ok((indexed, unindexed))
}

/// Checks the recovered log against the head record in `path` and brings the record level
/// with the log's head, or creates the record for a new store (or one made by a build
/// without it, with a warning). The log's head is fsynced before it is recorded: an earlier
/// process may have stopped after sled wrote it and before sled fsynced it.
fn keep_head_record(
    path: &Path,
    tree: &sled::Tree,
    file: &File,
    head: Head,
    created: bool,
) -> Result<HeadRecord> {
    let Some(mut record) = HeadRecord::load(path)? else {
        if !created {
            tracing::warn!(
                path = %path.display(),
                %head,
                "the store has no head record (made by an earlier build): recording its head \
                 now; damage that shortened the log before this open cannot be told"
            );
        }
        file.sync_data()?;
        return HeadRecord::create(path, head);
    };
    head_record::check(record.head(), head, |position| hash_at(tree, position))?;
    if record.head() != head {
        file.sync_data()?;
        record.write(head)?;
    }
    Ok(record)
}

/// The stored hash of the event at `position`, if its block holds it.
fn hash_at(tree: &sled::Tree, position: u64) -> Result<Option<Hash>> {
    let Some(entry) = tree
        .range(&keys::block(position)[..]..=&keys::block(u64::MAX)[..])
        .next()
    else {
        return Ok(None);
    };
    let (key, bytes) = entry?;
    let key_position = keys::block_position(&key).unwrap_or(0);
    let mut cursor = BlockCursor::open(&bytes).map_err(|error| Error::Corrupt {
        position: key_position,
        reason: error.to_string(),
    })?;
    loop {
        let at = cursor.next_position();
        match cursor.next_event() {
            Err(error) => {
                return Err(Error::Corrupt {
                    position: at,
                    reason: error.to_string(),
                });
            }
            Ok(None) => return Ok(None),
            Ok(Some(raw)) if raw.position == position => return Ok(Some(raw.hash)),
            Ok(Some(_)) => {}
        }
    }
}

/// Copies sled's files of the store in `path` (its `db`, `conf` and blobs, not its
/// snapshot, the head record or the books) to a new directory beside it, so that sled
/// recovers the copy from its log alone. The damaged store itself is left as it is.
fn copy_without_snapshot(path: &Path) -> Result<tempfile::TempDir> {
    let parent = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let copy = tempfile::Builder::new()
        .prefix(".fundledger-salvage-")
        .tempdir_in(parent)?;
    std::fs::copy(path.join("db"), copy.path().join("db"))?;
    std::fs::copy(path.join("conf"), copy.path().join("conf"))?;
    let blobs = path.join("blobs");
    if blobs.is_dir() {
        std::fs::create_dir(copy.path().join("blobs"))?;
        for entry in std::fs::read_dir(&blobs)? {
            let entry = entry?;
            std::fs::copy(
                entry.path(),
                copy.path().join("blobs").join(entry.file_name()),
            )?;
        }
    }
    Ok(copy)
}

/// The head a salvage open reads up to, and the damage it found: the recovered head, also
/// when it ends before the head record; when the head cannot be recovered, no limit, so
/// reads go on up to the first event sled cannot yield.
fn salvage_head(path: &Path, tree: &sled::Tree) -> (Head, Option<Error>) {
    let head = match recover_head(tree) {
        Ok((head, _)) => head,
        Err(damage) => {
            let unbounded = Head {
                position: u64::MAX,
                hash: GENESIS_HASH,
            };
            return (unbounded, Some(damage));
        }
    };
    let checked = HeadRecord::load(path).and_then(|record| match record {
        Some(record) => head_record::check(record.head(), head, |position| hash_at(tree, position)),
        None => Ok(()),
    });
    (head, checked.err())
}

/// Reads the stored head and checks it against the last block.
fn recover_head(tree: &sled::Tree) -> Result<(Head, i64)> {
    let stored = tree.get(keys::HEAD)?;
    let last_block = tree
        .range(&keys::block(0)[..]..=&keys::block(u64::MAX)[..])
        .next_back();
    match (stored, last_block) {
        (None, None) => Ok((
            Head {
                position: 0,
                hash: GENESIS_HASH,
            },
            0,
        )),
        (Some(_), None) | (None, Some(_)) => Err(Error::Corrupt {
            position: 1,
            reason: "the head record and the event blocks disagree on whether the log is empty"
                .to_owned(),
        }),
        (Some(head_bytes), Some(block)) => {
            let (position, hash, recorded_micros) =
                codec::decode_head(&head_bytes).map_err(|error| Error::Undecodable {
                    key: "head".to_owned(),
                    reason: error.to_string(),
                })?;
            let (key, bytes) = block?;
            let block_last = keys::block_position(&key).unwrap_or(0);
            let last_hash = verify::check_block(&bytes, block_last)?;
            if block_last != position || last_hash != hash {
                return Err(Error::Corrupt {
                    position: position.min(block_last),
                    reason: format!(
                        "the stored head {position} does not match the last block, which ends \
                         at {block_last}"
                    ),
                });
            }
            Ok((Head { position, hash }, recorded_micros))
        }
    }
}

/// Lazily decodes events in position order; see [`Log::read_range`].
pub struct EventIter {
    tree: sled::Tree,
    blocks: sled::Iter,
    blocks_read: u64,
    next_position: u64,
    end_position: u64,
    remaining: u64,
    pending: std::vec::IntoIter<Envelope>,
    failed: bool,
}

impl EventIter {
    fn new(tree: sled::Tree, from: u64, end: u64, limit: u64) -> Self {
        EventIter {
            blocks: tree.range(&keys::block(from)[..]..=&keys::block(u64::MAX)[..]),
            tree,
            blocks_read: 0,
            next_position: from,
            end_position: end,
            remaining: limit,
            pending: Vec::new().into_iter(),
            failed: false,
        }
    }

    fn load_block(&mut self) -> Result<bool> {
        let Some(entry) = self.blocks.next() else {
            return Ok(false);
        };
        let (key, bytes) = entry?;
        let last = keys::block_position(&key).unwrap_or(0);
        touch_block(&self.tree, &key, &mut self.blocks_read)?;
        self.pending = decode_block(&bytes, last, self.next_position)?.into_iter();
        Ok(true)
    }
}

/// Looks the leaf of a block just read up again, [`SCAN_TOUCHES_PER_BLOCK`] times, so that
/// sled's cache sees enough accesses to evict the pages a scan has passed, once the scan
/// has read more than [`SCAN_UNTOUCHED_BLOCKS`] blocks. The lookup is of a key just after
/// the block's, which no record has: it walks to the same leaf and finds nothing, so no
/// value is copied.
fn touch_block(tree: &sled::Tree, key: &[u8], blocks_read: &mut u64) -> Result<()> {
    *blocks_read += 1;
    if *blocks_read <= SCAN_UNTOUCHED_BLOCKS {
        return Ok(());
    }
    let mut absent = Vec::with_capacity(key.len() + 1);
    absent.extend_from_slice(key);
    absent.push(0);
    for _ in 0..SCAN_TOUCHES_PER_BLOCK {
        tree.get(&absent)?;
    }
    Ok(())
}

/// Blocks of the log in position order, with their events located; see
/// [`Log::scan_blocks`].
pub struct BlockScan {
    tree: sled::Tree,
    blocks: sled::Iter,
    blocks_read: u64,
    next: u64,
    last: u64,
    failed: bool,
}

impl Iterator for BlockScan {
    type Item = Result<ScannedBlock>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next > self.last {
            return None;
        }
        let scanned = self.blocks.next().map(|entry| {
            let (key, bytes) = entry?;
            touch_block(&self.tree, &key, &mut self.blocks_read)?;
            let key_position = keys::block_position(&key).unwrap_or(0);
            let events = locate_events(&bytes, key_position, self.next, self.last)?;
            self.next += events.len() as u64;
            Ok(ScannedBlock { bytes, events })
        });
        self.failed = !matches!(scanned, Some(Ok(_)));
        scanned
    }
}

/// One block of the log and where its scanned events lie in it.
pub struct ScannedBlock {
    bytes: sled::IVec,
    events: Vec<EventSpan>,
}

/// Where one event's fields lie in its block.
struct EventSpan {
    position: u64,
    stream_id: std::ops::Range<usize>,
    event_type: std::ops::Range<usize>,
    schema_version: u16,
    business_date: jiff::civil::Date,
    payload: std::ops::Range<usize>,
}

impl ScannedBlock {
    /// Its scanned events in position order, borrowed from the block.
    pub fn events(&self) -> impl Iterator<Item = EventRef<'_>> {
        self.events.iter().map(|span| EventRef {
            position: span.position,
            stream_id: text_at(&self.bytes, &span.stream_id),
            event_type: text_at(&self.bytes, &span.event_type),
            schema_version: span.schema_version,
            business_date: span.business_date,
            payload: &self.bytes[span.payload.clone()],
        })
    }
}

/// Text located by [`locate_events`], which checked that it is UTF-8.
fn text_at<'a>(bytes: &'a [u8], range: &std::ops::Range<usize>) -> &'a str {
    std::str::from_utf8(&bytes[range.clone()]).unwrap_or_default()
}

/// Where `part`, a slice of `whole`, lies in it.
fn span_of(whole: &[u8], part: &[u8]) -> std::ops::Range<usize> {
    let start = part.as_ptr() as usize - whole.as_ptr() as usize;
    start..start + part.len()
}

/// Locates a block's events from `next` to `last`, checking that their positions are
/// dense from `next` and that their bodies decode.
fn locate_events(bytes: &[u8], key_position: u64, next: u64, last: u64) -> Result<Vec<EventSpan>> {
    let corrupt = |position, reason: String| Error::Corrupt { position, reason };
    let mut cursor =
        BlockCursor::open(bytes).map_err(|error| corrupt(key_position, error.to_string()))?;
    let mut events = Vec::with_capacity(cursor.capacity_hint());
    let mut expected = next;
    loop {
        let position_hint = cursor.next_position();
        let raw = match cursor.next_event() {
            Ok(Some(raw)) => raw,
            Ok(None) => return Ok(events),
            Err(error) => return Err(corrupt(position_hint, error.to_string())),
        };
        if raw.position < expected {
            continue;
        }
        if raw.position > last {
            return Ok(events);
        }
        if raw.position != expected {
            return Err(corrupt(
                expected,
                format!("found position {} instead", raw.position),
            ));
        }
        let body = codec::decode_body_borrowed(raw.body)
            .map_err(|error| corrupt(raw.position, error.to_string()))?;
        if body.position != raw.position {
            return Err(corrupt(
                raw.position,
                format!("event says it is at position {}", body.position),
            ));
        }
        events.push(EventSpan {
            position: body.position,
            stream_id: span_of(bytes, body.stream_id.as_bytes()),
            event_type: span_of(bytes, body.event_type.as_bytes()),
            schema_version: body.schema_version,
            business_date: codec::date_from_number(body.business_date)
                .map_err(|error| corrupt(raw.position, error.to_string()))?,
            payload: span_of(bytes, body.payload),
        });
        expected += 1;
    }
}

/// Decodes a block's events from `from` on; damaged bytes are an error, never a panic.
pub fn decode_block(bytes: &[u8], key_position: u64, from: u64) -> Result<Vec<Envelope>> {
    let corrupt = |position, reason: String| Error::Corrupt { position, reason };
    let mut cursor =
        BlockCursor::open(bytes).map_err(|error| corrupt(key_position, error.to_string()))?;
    let mut previous_hash = cursor.previous_hash;
    let mut events = Vec::with_capacity(cursor.capacity_hint());
    loop {
        let position_hint = cursor.next_position();
        let raw = match cursor.next_event() {
            Ok(Some(raw)) => raw,
            Ok(None) => break,
            Err(error) => return Err(corrupt(position_hint, error.to_string())),
        };
        if raw.position >= from {
            let body = codec::decode_body(raw.body)
                .map_err(|error| corrupt(raw.position, error.to_string()))?;
            if body.position != raw.position {
                return Err(corrupt(
                    raw.position,
                    format!("event says it is at position {}", body.position),
                ));
            }
            events.push(
                codec::envelope_from_body(body, previous_hash, raw.hash)
                    .map_err(|error| corrupt(raw.position, error.to_string()))?,
            );
        }
        previous_hash = raw.hash;
    }
    Ok(events)
}

impl Iterator for EventIter {
    type Item = Result<Envelope>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed || self.remaining == 0 || self.next_position > self.end_position {
                return None;
            }
            if let Some(envelope) = self.pending.next() {
                if envelope.position != self.next_position {
                    self.failed = true;
                    return Some(Err(Error::Corrupt {
                        position: self.next_position,
                        reason: format!("found position {} instead", envelope.position),
                    }));
                }
                self.next_position += 1;
                self.remaining -= 1;
                return Some(Ok(envelope));
            }
            match self.load_block() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error));
                }
            }
        }
    }
}

/// A stream's events in version order; see [`Log::read_stream`].
pub struct StreamIter<'log> {
    log: &'log Log,
    entries: sled::Iter,
    remaining: u64,
}

impl Iterator for StreamIter<'_> {
    type Item = Result<Envelope>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let (_, value) = match self.entries.next()? {
            Ok(entry) => entry,
            Err(error) => return Some(Err(error.into())),
        };
        let position = match decode_position(&value) {
            Ok(position) => position,
            Err(error) => return Some(Err(error)),
        };
        self.remaining -= 1;
        match self.log.get(position) {
            Ok(Some(envelope)) => Some(Ok(envelope)),
            Ok(None) => None,
            Err(error) => Some(Err(error)),
        }
    }
}

/// Hashes an arbitrary byte string: the request digest for idempotency.
pub fn digest(bytes: &[u8]) -> Hash {
    codec::chain_hash(&GENESIS_HASH, bytes)
}
