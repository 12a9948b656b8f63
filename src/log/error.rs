//! The log's typed errors: every way an append or a read can fail.

use super::envelope::ExpectedVersion;

/// Why an operation on the log failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The storage engine or the file system failed.
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// sled reported an error.
    #[error("storage engine failed: {0}")]
    Storage(#[from] sled::Error),
    /// A stored record failed to decode or its hash chain does not hold.
    #[error("the log is corrupt at position {position}: {reason}")]
    Corrupt {
        /// The first position found damaged.
        position: u64,
        /// What was wrong there.
        reason: String,
    },
    /// A stored record is not a log record, or is of an unknown format.
    #[error("stored record {key} cannot be decoded: {reason}")]
    Undecodable {
        /// Which record, in words.
        key: String,
        /// What was wrong with it.
        reason: String,
    },
    /// Optimistic concurrency: a stream was not at the version the command expected.
    #[error("stream {stream_id} is at version {actual}, the command expected {expected}")]
    VersionConflict {
        /// The stream whose version did not match.
        stream_id: String,
        /// What the command expected.
        expected: ExpectedVersion,
        /// The stream's version when the command was checked (0: no stream).
        actual: u64,
    },
    /// The command id was used before for a different request.
    #[error(
        "command id {command_id} was already used for a different request \
         (first appended at position {first_position})"
    )]
    IdempotencyConflict {
        /// The reused command id.
        command_id: String,
        /// Where the original command's events start.
        first_position: u64,
    },
    /// The append request breaks a limit or a format rule; nothing was written.
    #[error("invalid append: {field}: {rule}")]
    InvalidAppend {
        /// The field at fault.
        field: &'static str,
        /// The rule it broke.
        rule: String,
    },
    /// A durable write failed earlier; the writer accepts nothing until restart.
    #[error("the log writer is poisoned by an earlier storage failure: {0}")]
    Poisoned(String),
    /// The stream indexer stopped on an error; stream reads fail until restart.
    #[error("the stream index failed: {0}")]
    IndexFailed(String),
    /// The store cannot be opened as it is (made with settings this version refuses).
    #[error("unsupported store: {0}")]
    Unsupported(String),
    /// The writer thread is gone (the log is shutting down).
    #[error("the log writer has stopped")]
    WriterStopped,
}

/// The log's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
