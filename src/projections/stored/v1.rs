//! Schema 1 of the stored event, frozen: the domain event as it was laid out when schema 2
//! was appended. Only the allowance grant differs from today's domain event (schema 2 added
//! the override record); every other variant wraps today's domain payload, whose layout has
//! not changed since. A later change to any of them freezes its schema-1 layout here too.
//!
//! bincode writes an enum's variant index and a struct's fields in order, so the variants
//! and fields below keep the order they had: never reorder, rename freely.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::domain::benefit::{AllowanceDays, Birth};
use crate::domain::event::{
    self, AllowanceStopped, BasesDeclared, ContributionAdjusted, ContributionBackPaid,
    ContributionCollected, EmployerRegistered, EnrollmentStatusChanged,
    MaternityFundBalanceTransferred, MaternityFundCleared, MaternityFundClosed,
    MedicalClaimSettled, PersonEnrolled, PersonMigrated, RegionDefined, RuleAmended,
};
use crate::domain::{EmployerId, LineChunk, PersonId, RegionId, Transaction, Yuan};

/// `AllowanceGranted` of schema 1: no override record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowanceGranted {
    /// The insured woman.
    pub person: PersonId,
    /// Her employer, whose wage is the base.
    pub employer: EmployerId,
    /// The region.
    pub region: RegionId,
    /// The birth.
    pub birth: Birth,
    /// Decision date.
    pub granted_on: Date,
    /// Days and their parts.
    pub days: AllowanceDays,
    /// The year whose declared employer wage was used.
    pub wage_year: i16,
    /// Employer's previous-year average monthly wage.
    pub wage: Yuan,
    /// round(wage × allowance days / divisor).
    pub amount: Yuan,
    /// Fund debited, benefits payable credited.
    pub transaction: Transaction,
}

/// The domain event of schema 1, variant for variant in its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A region was defined.
    RegionDefined(RegionDefined),
    /// A rule value was set.
    RuleAmended(RuleAmended),
    /// An employer was registered.
    EmployerRegistered(EmployerRegistered),
    /// A person was enrolled.
    PersonEnrolled(PersonEnrolled),
    /// A pre-merger record was migrated.
    PersonMigrated(PersonMigrated),
    /// Contributions interrupted.
    EnrollmentSuspended(EnrollmentStatusChanged),
    /// Contributions resumed.
    EnrollmentResumed(EnrollmentStatusChanged),
    /// Enrollment ended.
    EnrollmentTerminated(EnrollmentStatusChanged),
    /// Bases declared for a year.
    BasesDeclared(BasesDeclared),
    /// An employer-month was assessed.
    ContributionAssessed(LineChunk),
    /// Money received.
    ContributionCollected(ContributionCollected),
    /// A back-payment for an arrears month.
    ContributionBackPaid(ContributionBackPaid),
    /// A difference after a retroactive change.
    ContributionAdjusted(ContributionAdjusted),
    /// Clearance report of the maternity fund.
    MaternityFundCleared(MaternityFundCleared),
    /// Balance moved to the pooled fund.
    MaternityFundBalanceTransferred(MaternityFundBalanceTransferred),
    /// Maternity fund account closed.
    MaternityFundClosed(MaternityFundClosed),
    /// Medical claim settled.
    MedicalClaimSettled(MedicalClaimSettled),
    /// Allowance granted (schema 1: without an override record).
    AllowanceGranted(AllowanceGranted),
    /// Allowance stopped.
    AllowanceStopped(AllowanceStopped),
}

impl Event {
    /// Today's domain event: schema 1 held no override, so none is recorded.
    pub fn into_domain(self) -> event::Event {
        use event::Event as Domain;
        match self {
            Event::RegionDefined(payload) => Domain::RegionDefined(payload),
            Event::RuleAmended(payload) => Domain::RuleAmended(payload),
            Event::EmployerRegistered(payload) => Domain::EmployerRegistered(payload),
            Event::PersonEnrolled(payload) => Domain::PersonEnrolled(payload),
            Event::PersonMigrated(payload) => Domain::PersonMigrated(payload),
            Event::EnrollmentSuspended(payload) => Domain::EnrollmentSuspended(payload),
            Event::EnrollmentResumed(payload) => Domain::EnrollmentResumed(payload),
            Event::EnrollmentTerminated(payload) => Domain::EnrollmentTerminated(payload),
            Event::BasesDeclared(payload) => Domain::BasesDeclared(payload),
            Event::ContributionAssessed(payload) => Domain::ContributionAssessed(payload),
            Event::ContributionCollected(payload) => Domain::ContributionCollected(payload),
            Event::ContributionBackPaid(payload) => Domain::ContributionBackPaid(payload),
            Event::ContributionAdjusted(payload) => Domain::ContributionAdjusted(payload),
            Event::MaternityFundCleared(payload) => Domain::MaternityFundCleared(payload),
            Event::MaternityFundBalanceTransferred(payload) => {
                Domain::MaternityFundBalanceTransferred(payload)
            }
            Event::MaternityFundClosed(payload) => Domain::MaternityFundClosed(payload),
            Event::MedicalClaimSettled(payload) => Domain::MedicalClaimSettled(payload),
            Event::AllowanceGranted(granted) => Domain::AllowanceGranted(event::AllowanceGranted {
                person: granted.person,
                employer: granted.employer,
                region: granted.region,
                birth: granted.birth,
                granted_on: granted.granted_on,
                days: granted.days,
                wage_year: granted.wage_year,
                wage: granted.wage,
                amount: granted.amount,
                transaction: granted.transaction,
                overrode: None,
            }),
            Event::AllowanceStopped(payload) => Domain::AllowanceStopped(payload),
        }
    }
}
