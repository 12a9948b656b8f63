//! Events: what happened, past tense, each recording every fact it was computed from
//! (rule values and documents, rates, bases, days) so that replay and audit never
//! re-derive a figure from today's rulebook.
//!
//! Every type here is bincode-safe: no `skip`, `flatten`, `tag` or `untagged`; money as
//! decimal strings; dates as `jiff::civil::Date`.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::benefit::{AllowanceDays, Birth, ClaimKind};
use super::contribution::{ContributionLine, LineChunk};
use super::ids::{BirthId, ClaimId, EmployerId, Month, PersonId, RegionId};
use super::money::Yuan;
use super::party::{EmployerCategory, InsuranceType, PersonKind};
use super::posting::{Account, Posting, Transaction};
use super::rulebook::{AppliedRule, RegionDefinition, RuleValue};

/// Business date of the genesis region definitions.
pub const GENESIS_DATE: Date = jiff::civil::date(1990, 1, 1);

/// A pooling region was defined (genesis, or a new region later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionDefined {
    /// The region and its parent.
    pub region: RegionDefinition,
}

/// A rule value was set: at genesis, or by an amendment naming authority and document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleAmended {
    /// The region the value is set on.
    pub region: RegionId,
    /// The parameter.
    pub parameter: String,
    /// The value with effective date, authority, document and tag.
    pub value: RuleValue,
    /// The decision date on which the ledger learned the amendment.
    pub recorded_on: Date,
    /// True for the shipped rulebook loaded at genesis.
    pub genesis: bool,
}

/// An employer was registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployerRegistered {
    /// The employer.
    pub employer: EmployerId,
    /// Its pooling region.
    pub region: RegionId,
    /// Its category.
    pub category: EmployerCategory,
    /// Its name.
    pub name: String,
    /// Registration date.
    pub registered_on: Date,
    /// The year the wage below is used for (the wage is that of the year before).
    pub wage_year: i16,
    /// Previous-year average monthly wage of its employees (for the allowance).
    pub average_monthly_wage: Yuan,
}

/// A person was enrolled: BMI and, for in-service employees and flexible workers,
/// maternity in the same registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonEnrolled {
    /// The person.
    pub person: PersonId,
    /// The region.
    pub region: RegionId,
    /// The employer; `None` for a flexible worker.
    pub employer: Option<EmployerId>,
    /// Employee, flexible worker, retiree, early retiree.
    pub kind: PersonKind,
    /// Enrollment date.
    pub enrolled_on: Date,
    /// Insurance types the registration carries.
    pub insurance: Vec<InsuranceType>,
}

/// A pre-merger record was migrated (Gansu): registered in BMI carrying maternity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonMigrated {
    /// The person.
    pub person: PersonId,
    /// The region.
    pub region: RegionId,
    /// The employer.
    pub employer: EmployerId,
    /// Types held before the migration.
    pub held: Vec<InsuranceType>,
    /// Types the agency added (由医保经办机构直接增加未参保险种).
    pub added: Vec<InsuranceType>,
    /// The agency that added them.
    pub added_by: String,
    /// Migration date.
    pub migrated_on: Date,
    /// Since when the person was insured before the migration.
    pub insured_since: Date,
}

/// A status change of an enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentStatusChanged {
    /// The person.
    pub person: PersonId,
    /// The region.
    pub region: RegionId,
    /// Effective date.
    pub on: Date,
    /// Why (free text from the agency).
    pub reason: String,
    /// The insurance types the enrollment carried: the statistics count the person out of
    /// each when the enrollment is terminated.
    pub insurance: Vec<InsuranceType>,
}

/// Declared wages of one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredWage {
    /// The person.
    pub person: PersonId,
    /// Previous-year average monthly wage; `None` when unknown.
    pub wage: Option<Yuan>,
}

/// The yearly base declaration (缴费基数申报), or a correction of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasesDeclared {
    /// The employer.
    pub employer: EmployerId,
    /// The region.
    pub region: RegionId,
    /// The contribution year the bases apply to.
    pub year: i16,
    /// Per person wages.
    pub lines: Vec<DeclaredWage>,
    /// The employer's previous-year average monthly wage for the allowance, if declared.
    pub employer_average_monthly_wage: Option<Yuan>,
    /// Declaration date.
    pub declared_on: Date,
    /// True when it corrects an earlier declaration of the same year.
    pub correction: bool,
}

/// Money received against an employer-month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionCollected {
    /// The employer.
    pub employer: EmployerId,
    /// The region.
    pub region: RegionId,
    /// The month paid for.
    pub month: Month,
    /// Amount received.
    pub amount: Yuan,
    /// Date received.
    pub received_on: Date,
    /// The collector's reference (tax bureau voucher).
    pub reference: String,
    /// Bank debited, receivable credited.
    pub transaction: Transaction,
}

/// A back-payment (补缴) for an arrears month, at that month's rate and base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionBackPaid {
    /// The lines, rules and postings.
    pub chunk: LineChunk,
    /// The booking date (decides which fund receives the maternity part).
    pub booked_on: Date,
}

/// Sign of a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdjustmentKind {
    /// More is owed (补缴).
    BackPayment,
    /// Less is owed (退费).
    Refund,
    /// Parts moved between lines, net zero.
    Reclassification,
}

/// A difference for an employer-month after a retroactive change: lines hold signed
/// differences (new − old).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionAdjusted {
    /// The signed difference lines, rules and postings.
    pub chunk: LineChunk,
    /// Back-payment, refund or reclassification.
    pub kind: AdjustmentKind,
    /// Why: the amendment's document or the declaration correction.
    pub cause: String,
    /// Booking date.
    pub booked_on: Date,
    /// The new lines in full, for the state (what is owed after the change).
    pub new_lines: Vec<ContributionLine>,
}

/// The clearance report (清算核实) of the maternity fund as of the cutoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaternityFundCleared {
    /// The region.
    pub region: RegionId,
    /// The cutoff.
    pub cutoff: Date,
    /// The rule giving the cutoff.
    pub rule: AppliedRule,
    /// Date of the report.
    pub settled_on: Date,
    /// Who verified it.
    pub verified_by: String,
    /// Income credited to the maternity fund up to the cutoff.
    pub income: Yuan,
    /// Expenditure debited to it up to the cutoff.
    pub expenditure: Yuan,
    /// Contributions receivable (all lines) up to the cutoff.
    pub receivables: Yuan,
    /// Benefits granted and not yet paid out (滞留待支付) up to the cutoff.
    pub pending_payables: Yuan,
    /// The verified balance: income − expenditure.
    pub balance: Yuan,
}

/// The maternity fund's balance was moved into the pooled fund's maternity line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaternityFundBalanceTransferred {
    /// The region.
    pub region: RegionId,
    /// Transfer date.
    pub transferred_on: Date,
    /// The balance moved (credit balance; negative for a deficit).
    pub amount: Yuan,
    /// Maternity fund debited, pooled maternity line credited; `None` for a zero balance.
    pub transaction: Option<Transaction>,
}

/// The maternity fund account was closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaternityFundClosed {
    /// The region.
    pub region: RegionId,
    /// Closure date.
    pub closed_on: Date,
}

/// A maternity medical claim settled directly with a designated institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MedicalClaimSettled {
    /// The claim.
    pub claim: ClaimId,
    /// The insured woman.
    pub person: PersonId,
    /// The region.
    pub region: RegionId,
    /// The designated institution (定点医疗机构).
    pub institution: String,
    /// What for.
    pub kind: ClaimKind,
    /// Service date: the business date of the rules used.
    pub service_date: Date,
    /// Actual cost billed.
    pub actual: Yuan,
    /// Amount the fund pays.
    pub paid: Yuan,
    /// Prenatal quota left after this claim (prenatal claims only).
    pub quota_remaining: Option<Yuan>,
    /// Rules used.
    pub rules: Vec<AppliedRule>,
    /// Fund debited, benefits payable credited.
    pub transaction: Transaction,
}

/// A maternity allowance (生育津贴) was granted.
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
    /// Set when an operator granted it although an allowance for the same birth (same
    /// mother, delivery within the window) was granted before: the reason and the grant
    /// overridden, for the auditor. Stored from schema 2 on; `None` in schema 1.
    pub overrode: Option<SameBirthOverride>,
}

/// An operator's override of the one-allowance-per-birth rule, recorded on the grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SameBirthOverride {
    /// Why the operator granted it anyway (required, non-blank).
    pub reason: String,
    /// The birth id of the earlier grant for the same birth.
    pub first_birth_id: BirthId,
    /// Its birth date.
    pub first_birth_date: Date,
    /// Its log position; `None` when it was granted earlier in the same batch.
    pub first_position: Option<u64>,
}

/// A running allowance stopped because contributions were interrupted (克州).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowanceStopped {
    /// The person.
    pub person: PersonId,
    /// The region.
    pub region: RegionId,
    /// The birth.
    pub birth_id: BirthId,
    /// First day not paid.
    pub stopped_on: Date,
    /// Days paid before stopping.
    pub days_paid: u32,
    /// Days no longer paid.
    pub days_stopped: u32,
    /// The amount withdrawn: granted − round(wage × days paid / divisor).
    pub amount_withdrawn: Yuan,
    /// Benefits payable debited, the fund credited back; `None` when nothing to withdraw.
    pub transaction: Option<Transaction>,
}

/// Everything the ledger records.
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
    /// Contributions interrupted (中断参保缴费).
    EnrollmentSuspended(EnrollmentStatusChanged),
    /// Contributions resumed.
    EnrollmentResumed(EnrollmentStatusChanged),
    /// Enrollment ended.
    EnrollmentTerminated(EnrollmentStatusChanged),
    /// Bases declared for a year.
    BasesDeclared(BasesDeclared),
    /// An employer-month was assessed (one event per chunk of lines).
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
    /// Allowance granted.
    AllowanceGranted(AllowanceGranted),
    /// Allowance stopped.
    AllowanceStopped(AllowanceStopped),
}

/// The stream of a region's rules.
pub fn region_stream(region: &RegionId) -> String {
    format!("region/{region}")
}
/// The stream of an employer.
pub fn employer_stream(employer: &EmployerId) -> String {
    format!("employer/{employer}")
}
/// The stream of a person.
pub fn person_stream(person: &PersonId) -> String {
    format!("person/{person}")
}
/// The stream of a region's fund-merger steps.
pub fn fund_stream(region: &RegionId) -> String {
    format!("fund/{region}")
}
/// Not an append target: names the region's postings (folded by projections) that the
/// merger commands need loaded into `State::ledgers`.
pub fn ledger_stream(region: &RegionId) -> String {
    format!("ledger/{region}")
}

impl Event {
    /// The stream the event is appended to.
    pub fn stream_id(&self) -> String {
        match self {
            Event::RegionDefined(event) => region_stream(&event.region.id),
            Event::RuleAmended(event) => region_stream(&event.region),
            Event::EmployerRegistered(event) => employer_stream(&event.employer),
            Event::BasesDeclared(event) => employer_stream(&event.employer),
            Event::ContributionAssessed(chunk) => employer_stream(&chunk.employer),
            Event::ContributionCollected(event) => employer_stream(&event.employer),
            Event::ContributionBackPaid(event) => employer_stream(&event.chunk.employer),
            Event::ContributionAdjusted(event) => employer_stream(&event.chunk.employer),
            Event::PersonEnrolled(event) => person_stream(&event.person),
            Event::PersonMigrated(event) => person_stream(&event.person),
            Event::EnrollmentSuspended(event)
            | Event::EnrollmentResumed(event)
            | Event::EnrollmentTerminated(event) => person_stream(&event.person),
            Event::MedicalClaimSettled(event) => person_stream(&event.person),
            Event::AllowanceGranted(event) => person_stream(&event.person),
            Event::AllowanceStopped(event) => person_stream(&event.person),
            Event::MaternityFundCleared(event) => fund_stream(&event.region),
            Event::MaternityFundBalanceTransferred(event) => fund_stream(&event.region),
            Event::MaternityFundClosed(event) => fund_stream(&event.region),
        }
    }

    /// A stable name for the event type (never renamed).
    pub fn event_type(&self) -> &'static str {
        match self {
            Event::RegionDefined(_) => "RegionDefined",
            Event::RuleAmended(_) => "RuleAmended",
            Event::EmployerRegistered(_) => "EmployerRegistered",
            Event::PersonEnrolled(_) => "PersonEnrolled",
            Event::PersonMigrated(_) => "PersonMigrated",
            Event::EnrollmentSuspended(_) => "EnrollmentSuspended",
            Event::EnrollmentResumed(_) => "EnrollmentResumed",
            Event::EnrollmentTerminated(_) => "EnrollmentTerminated",
            Event::BasesDeclared(_) => "BasesDeclared",
            Event::ContributionAssessed(_) => "ContributionAssessed",
            Event::ContributionCollected(_) => "ContributionCollected",
            Event::ContributionBackPaid(_) => "ContributionBackPaid",
            Event::ContributionAdjusted(_) => "ContributionAdjusted",
            Event::MaternityFundCleared(_) => "MaternityFundCleared",
            Event::MaternityFundBalanceTransferred(_) => "MaternityFundBalanceTransferred",
            Event::MaternityFundClosed(_) => "MaternityFundClosed",
            Event::MedicalClaimSettled(_) => "MedicalClaimSettled",
            Event::AllowanceGranted(_) => "AllowanceGranted",
            Event::AllowanceStopped(_) => "AllowanceStopped",
        }
    }

    /// The business date the event is effective for: the contribution month's first day,
    /// the birth date, the service date, the rule's effective date, ….
    pub fn business_date(&self) -> Date {
        match self {
            Event::RegionDefined(_) => GENESIS_DATE,
            Event::RuleAmended(event) => event.value.effective_from,
            Event::EmployerRegistered(event) => event.registered_on,
            Event::PersonEnrolled(event) => event.enrolled_on,
            Event::PersonMigrated(event) => event.migrated_on,
            Event::EnrollmentSuspended(event)
            | Event::EnrollmentResumed(event)
            | Event::EnrollmentTerminated(event) => event.on,
            Event::BasesDeclared(event) => event.declared_on,
            Event::ContributionAssessed(chunk) => chunk.month.first_day(),
            Event::ContributionCollected(event) => event.received_on,
            Event::ContributionBackPaid(event) => event.chunk.month.first_day(),
            Event::ContributionAdjusted(event) => event.chunk.month.first_day(),
            Event::MaternityFundCleared(event) => event.cutoff,
            Event::MaternityFundBalanceTransferred(event) => event.transferred_on,
            Event::MaternityFundClosed(event) => event.closed_on,
            Event::MedicalClaimSettled(event) => event.service_date,
            Event::AllowanceGranted(event) => event.birth.date,
            Event::AllowanceStopped(event) => event.stopped_on,
        }
    }

    /// The region whose books or rules the event concerns.
    pub fn region(&self) -> &RegionId {
        match self {
            Event::RegionDefined(event) => &event.region.id,
            Event::RuleAmended(event) => &event.region,
            Event::EmployerRegistered(event) => &event.region,
            Event::PersonEnrolled(event) => &event.region,
            Event::PersonMigrated(event) => &event.region,
            Event::EnrollmentSuspended(event)
            | Event::EnrollmentResumed(event)
            | Event::EnrollmentTerminated(event) => &event.region,
            Event::BasesDeclared(event) => &event.region,
            Event::ContributionAssessed(chunk) => &chunk.region,
            Event::ContributionCollected(event) => &event.region,
            Event::ContributionBackPaid(event) => &event.chunk.region,
            Event::ContributionAdjusted(event) => &event.chunk.region,
            Event::MaternityFundCleared(event) => &event.region,
            Event::MaternityFundBalanceTransferred(event) => &event.region,
            Event::MaternityFundClosed(event) => &event.region,
            Event::MedicalClaimSettled(event) => &event.region,
            Event::AllowanceGranted(event) => &event.region,
            Event::AllowanceStopped(event) => &event.region,
        }
    }

    /// The event's balanced transaction, if it moves money.
    pub fn transaction(&self) -> Option<&Transaction> {
        match self {
            Event::ContributionAssessed(chunk) => Some(&chunk.transaction),
            Event::ContributionCollected(event) => Some(&event.transaction),
            Event::ContributionBackPaid(event) => Some(&event.chunk.transaction),
            Event::ContributionAdjusted(event) => Some(&event.chunk.transaction),
            Event::MaternityFundBalanceTransferred(event) => event.transaction.as_ref(),
            Event::MedicalClaimSettled(event) => Some(&event.transaction),
            Event::AllowanceGranted(event) => Some(&event.transaction),
            Event::AllowanceStopped(event) => event.transaction.as_ref(),
            Event::RegionDefined(_)
            | Event::RuleAmended(_)
            | Event::EmployerRegistered(_)
            | Event::PersonEnrolled(_)
            | Event::PersonMigrated(_)
            | Event::EnrollmentSuspended(_)
            | Event::EnrollmentResumed(_)
            | Event::EnrollmentTerminated(_)
            | Event::BasesDeclared(_)
            | Event::MaternityFundCleared(_)
            | Event::MaternityFundClosed(_) => None,
        }
    }

    /// The event's postings (empty when it moves no money).
    pub fn postings(&self) -> &[Posting] {
        self.transaction().map(Transaction::postings).unwrap_or(&[])
    }

    /// True when the event pays a maternity benefit (statistics: 享受待遇人次).
    pub fn is_maternity_benefit(&self) -> bool {
        matches!(
            self,
            Event::MedicalClaimSettled(_) | Event::AllowanceGranted(_)
        )
    }

    /// The account the maternity part of a contribution event went to, if any.
    pub fn maternity_destination(&self) -> Option<Account> {
        match self {
            Event::ContributionAssessed(chunk) => Some(chunk.maternity_destination),
            Event::ContributionBackPaid(event) => Some(event.chunk.maternity_destination),
            Event::ContributionAdjusted(event) => Some(event.chunk.maternity_destination),
            _ => None,
        }
    }
}
