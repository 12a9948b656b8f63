//! Maps every error the edge can meet to a `tonic::Status`, in one exhaustive match.

use tonic::{Code, Status};

use crate::domain::Rejection;
use crate::log;
use crate::projections::{ExecuteError, ProjectionError};

/// The status for a log error.
pub fn from_log(error: log::Error) -> Status {
    let code = match &error {
        log::Error::VersionConflict { .. } => Code::Aborted,
        log::Error::IdempotencyConflict { .. } => Code::AlreadyExists,
        log::Error::InvalidAppend { .. } => Code::InvalidArgument,
        log::Error::WriterStopped => Code::Unavailable,
        log::Error::Corrupt { .. }
        | log::Error::Undecodable { .. }
        | log::Error::Damaged(_)
        | log::Error::Truncated { .. } => Code::DataLoss,
        log::Error::Io(_)
        | log::Error::Storage(_)
        | log::Error::Poisoned(_)
        | log::Error::IndexFailed(_)
        | log::Error::Unsupported(_) => Code::Internal,
    };
    Status::new(code, error.to_string())
}

/// The status code of a domain refusal: malformed values are INVALID_ARGUMENT, unknown
/// entities NOT_FOUND, broken invariants of our own INTERNAL, and every other refusal of a
/// valid request FAILED_PRECONDITION.
pub fn rejection_code(rejection: &Rejection) -> Code {
    match rejection {
        Rejection::MalformedAmount { .. }
        | Rejection::AmountNotPositive { .. }
        | Rejection::AmountNegative { .. }
        | Rejection::ArithmeticOverflow { .. }
        | Rejection::RuleValueInvalid { .. }
        | Rejection::UnknownParameter { .. }
        | Rejection::AmendmentWithoutAuthority { .. }
        | Rejection::EmployerRequirement { .. }
        | Rejection::MigrationWithoutInsurance { .. }
        | Rejection::EmptyDeclaration { .. }
        | Rejection::EmptyRoster { .. }
        | Rejection::NoBabies { .. }
        | Rejection::TooManyEvents { .. }
        | Rejection::InvalidMonth { .. }
        | Rejection::DuplicatePerson { .. } => Code::InvalidArgument,
        Rejection::UnknownRegion { .. }
        | Rejection::EmployerNotRegistered { .. }
        | Rejection::PersonNotEnrolled { .. } => Code::NotFound,
        Rejection::NegativePosting { .. }
        | Rejection::UnbalancedTransaction { .. }
        | Rejection::EmptyTransaction { .. } => Code::Internal,
        Rejection::InBatch { rejection, .. } => rejection_code(rejection),
        Rejection::RuleMissing { .. }
        | Rejection::EmployerAlreadyRegistered { .. }
        | Rejection::EmployerRegionMismatch { .. }
        | Rejection::PersonAlreadyEnrolled { .. }
        | Rejection::FlexibleWorkersNotAllowed { .. }
        | Rejection::EnrollmentNotActive { .. }
        | Rejection::EnrollmentNotSuspended { .. }
        | Rejection::StatusChangeOutOfOrder { .. }
        | Rejection::NotEnrolledInMaternity { .. }
        | Rejection::ContributionsInterrupted { .. }
        | Rejection::PersonNotWithEmployer { .. }
        | Rejection::AlreadyAssessed { .. }
        | Rejection::NothingAssessed { .. }
        | Rejection::CollectionExceedsArrears { .. }
        | Rejection::BackPaymentNotInPast { .. }
        | Rejection::MaternityFundClosed { .. }
        | Rejection::ClearanceCutoffMismatch { .. }
        | Rejection::ClearanceAlreadySettled { .. }
        | Rejection::MergerStepOutOfOrder { .. }
        | Rejection::MergerStepRepeated { .. }
        | Rejection::MaternityFundNotEmpty { .. }
        | Rejection::AllowanceAlreadyGranted { .. }
        | Rejection::EmployerWageUnknown { .. }
        | Rejection::ClaimAlreadySettled { .. }
        | Rejection::PrenatalQuotaExhausted { .. }
        | Rejection::DeliveryAlreadySettled { .. }
        | Rejection::EmployerOutsideRegion { .. }
        | Rejection::PersonRegionMismatch { .. } => Code::FailedPrecondition,
    }
}

/// The status for a domain refusal; the message names the rule (`Variant: text`).
pub fn from_rejection(rejection: &Rejection) -> Status {
    Status::new(
        rejection_code(rejection),
        format!("{}: {rejection}", rejection.name()),
    )
}

/// The status for a projection failure.
pub fn from_projection(error: ProjectionError) -> Status {
    match error {
        ProjectionError::Log(error) => from_log(error),
        ProjectionError::Decode(error) => Status::data_loss(error.to_string()),
        ProjectionError::Fold(error) => Status::data_loss(error.to_string()),
        ProjectionError::Storage(error) => Status::internal(format!("checkpoint store: {error}")),
        error @ ProjectionError::Checkpoint { .. } => Status::internal(error.to_string()),
        error @ ProjectionError::RebuildRunning => Status::failed_precondition(error.to_string()),
    }
}

/// The status for a command that was not executed.
pub fn from_execute(error: ExecuteError) -> Status {
    match error {
        ExecuteError::Rejected(rejection) => from_rejection(&rejection),
        ExecuteError::Log(error) => from_log(error),
        ExecuteError::Projection(error) => from_projection(error),
        ExecuteError::Decode(error) => Status::data_loss(error.to_string()),
        ExecuteError::Encode(reason) => Status::internal(reason),
        error @ ExecuteError::Contended { .. } => Status::aborted(error.to_string()),
    }
}
