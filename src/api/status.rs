//! Maps every error the edge can meet to a `tonic::Status`, in one exhaustive match.

use tonic::{Code, Status};

use crate::log;

/// The status for a log error.
pub fn from_log(error: log::Error) -> Status {
    let code = match &error {
        log::Error::VersionConflict { .. } => Code::Aborted,
        log::Error::IdempotencyConflict { .. } => Code::AlreadyExists,
        log::Error::InvalidAppend { .. } => Code::InvalidArgument,
        log::Error::WriterStopped => Code::Unavailable,
        log::Error::Corrupt { .. } | log::Error::Undecodable { .. } => Code::DataLoss,
        log::Error::Io(_)
        | log::Error::Storage(_)
        | log::Error::Poisoned(_)
        | log::Error::IndexFailed(_) => Code::Internal,
    };
    Status::new(code, error.to_string())
}
