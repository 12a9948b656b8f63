//! Read models folded from the log: the books (balances by account and business date,
//! income and expenditure lines, statistics, insured counts), as of any business date and
//! as known at any log position; their checkpoints and rebuilds; and the stored form of
//! domain events.
//!
//! Never: gRPC types, or figures re-derived from rules at query time — figures come from
//! postings.
//!
//! # Layout
//! - `stored.rs`: `StoredEvent`, domain event <-> envelope payload; `stored/v1.rs`: the
//!   frozen schema-1 layout.
//! - `books.rs`: [`Books`], the fold.
//! - `engine.rs`: [`Projector`]: catch-up, checkpoints, as-known, rebuild.
//! - `report.rs`: region reports: balances, lines, statistics, risk band.
//! - `ledger.rs`: [`Ledger`]: the command path (load, decide, append, retry).

mod books;
mod engine;
mod ledger;
pub mod report;
pub mod stored;

pub use books::{
    BOOKS_VERSION, Books, BooksCheckpoint, BooksCheckpointRef, Damage, FoldError, InsuredChange,
    MonthLines, RegionBooks, RegionDamaged, Sides, SumOverflow, TrialError, is_asset,
    normal_balance,
};
pub use engine::{
    CHECKPOINT_CHUNK_BYTES_MAX, CHECKPOINT_EVENTS, ProjectionError, Projector,
    REBUILD_CHECKPOINTS_PER_BATCH, RebuildProgress, decode_checkpoint, decode_checkpoint_rules,
};
pub use ledger::{
    CACHED_STREAM_EVENTS_MAX, COMMAND_ATTEMPTS_MAX, CommandMeta, ExecuteError, Executed,
    GENESIS_COMMAND_ID, Ledger, STREAM_CACHE_BYTES_MAX,
};
