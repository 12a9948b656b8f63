//! Maps every error the edge can meet to a `tonic::Status`, in one exhaustive match.

use tonic::{Code, Status};

use crate::domain::Rejection;
use crate::log;
use crate::projections::{ExecuteError, FoldError, ProjectionError, SumOverflow, TrialError};

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
/// entities NOT_FOUND, broken invariants of our own INTERNAL, an employer acting beyond its
/// own employees PERMISSION_DENIED, and every other refusal of a valid request
/// FAILED_PRECONDITION.
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
        | Rejection::DuplicatePerson { .. }
        | Rejection::OverrideWithoutReason { .. } => Code::InvalidArgument,
        Rejection::UnknownRegion { .. }
        | Rejection::EmployerNotRegistered { .. }
        | Rejection::PersonNotEnrolled { .. } => Code::NotFound,
        Rejection::NegativePosting { .. } | Rejection::UnbalancedTransaction { .. } => {
            Code::Internal
        }
        Rejection::InBatch { rejection, .. } => rejection_code(rejection),
        // The request speaks for an employer, and an employer may act only on its own
        // employees: a permission the employer lacks, whichever token carries the request.
        Rejection::NotOwnEmployee { .. } => Code::PermissionDenied,
        // Amounts that all round to 0.00 (a tiny base, a zero claim): a request that
        // moves no money, not a broken invariant.
        Rejection::EmptyTransaction { .. }
        | Rejection::RuleMissing { .. }
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
        | Rejection::PersonRegionMismatch { .. }
        | Rejection::SameBirthAlreadyGranted { .. }
        | Rejection::NothingToOverride { .. } => Code::FailedPrecondition,
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

/// The status for a query whose sum overflowed: DATA_LOSS, as for books that do not fold.
/// Amounts are bounded at the edge (`AMOUNT_MAX` in `convert.rs`), so no sum of
/// acknowledged commands comes near the decimal range: only damaged figures overflow, and
/// the figure is refused rather than given with an addend dropped.
pub fn from_sum_overflow(error: SumOverflow) -> Status {
    Status::data_loss(error.to_string())
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
        error @ ExecuteError::Unreadable { .. } => Status::invalid_argument(error.to_string()),
        ExecuteError::Unfoldable(trial) => {
            let code = match &trial {
                TrialError::Fold(FoldError::Overflow { .. }) => Code::InvalidArgument,
                TrialError::Damaged(_) => Code::DataLoss,
                // Decisions build balanced postings and the books fold positions in order:
                // these are our own broken invariants.
                TrialError::Fold(FoldError::Unbalanced { .. } | FoldError::OutOfOrder { .. }) => {
                    Code::Internal
                }
            };
            Status::new(code, ExecuteError::Unfoldable(trial).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query whose sum overflows answers DATA_LOSS naming the sum, never a figure.
    #[test]
    fn overflowing_sums_are_data_loss() {
        let status = from_sum_overflow(SumOverflow::of("bmi_income"));
        assert_eq!(status.code(), Code::DataLoss);
        assert_eq!(status.message(), "the sum of bmi_income overflows");
    }
}
