//! The log's typed errors: every way an append or a read can fail.

use super::envelope::{ExpectedVersion, Head};

/// Why an operation on the log failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The storage engine or the file system failed.
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// sled reported an error other than corruption (which is [`Error::Damaged`]).
    #[error("storage engine failed: {0}")]
    Storage(sled::Error),
    /// sled found damaged data in its files: the store is damaged.
    #[error(
        "the store is damaged: the storage engine read corrupted data ({0}); restore the \
         data directory from a copy, or write out what remains with `fundledger export events`"
    )]
    Damaged(sled::Error),
    /// The log recovered from the store ends before the head its head record says was
    /// acknowledged: acknowledged events were lost to damage.
    #[error(
        "the store is damaged: the log ends at position {found}, but the head record says \
         events up to {recorded} were acknowledged, so events {first_missing}..={last_missing} \
         are missing; restore the data directory from a copy, or write out what remains with \
         `fundledger export events`",
        first_missing = .found + 1,
        last_missing = .recorded.position
    )]
    Truncated {
        /// The acknowledged head in the head record.
        recorded: Head,
        /// The head position of the log as recovered.
        found: u64,
    },
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

impl From<sled::Error> for Error {
    /// sled's corruption is the store's damage; every other sled error is a failure to run.
    fn from(error: sled::Error) -> Self {
        match error {
            sled::Error::Corruption { .. } => Error::Damaged(error),
            other => Error::Storage(other),
        }
    }
}

impl Error {
    /// Whether the error says the stored log is damaged (lost, altered or unreadable
    /// events), as opposed to an operation that could not run.
    pub fn is_damage(&self) -> bool {
        match self {
            Error::Corrupt { .. }
            | Error::Undecodable { .. }
            | Error::Damaged(_)
            | Error::Truncated { .. } => true,
            Error::Io(_)
            | Error::Storage(_)
            | Error::VersionConflict { .. }
            | Error::IdempotencyConflict { .. }
            | Error::InvalidAppend { .. }
            | Error::Poisoned(_)
            | Error::IndexFailed(_)
            | Error::Unsupported(_)
            | Error::WriterStopped => false,
        }
    }
}

/// The log's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;

    /// sled's corruption becomes the store's damage, named so; its other errors stay
    /// failures to run.
    #[test]
    fn sled_corruption_is_damage_and_other_sled_errors_are_not() {
        let corrupt = Error::from(sled::Error::Corruption { at: None, bt: () });
        assert!(matches!(corrupt, Error::Damaged(_)), "{corrupt:?}");
        assert!(corrupt.is_damage());
        assert!(corrupt.to_string().starts_with("the store is damaged"));
        let unsupported = Error::from(sled::Error::Unsupported("x".to_owned()));
        assert!(matches!(unsupported, Error::Storage(_)), "{unsupported:?}");
        assert!(!unsupported.is_damage());
    }
}
