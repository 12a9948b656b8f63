//! `Rejection`: every rule a command can break, one variant each, carrying the values an
//! operator needs. Variants are never renumbered or reused: retire one by renaming it
//! `Deprecated…` and keep it in place.

use jiff::civil::Date;

use super::ids::{BirthId, ClaimId, EmployerId, Month, PersonId, PregnancyId, RegionId};
use super::money::Yuan;

/// Why a command was refused. An expected outcome of a valid request, not a failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Checked arithmetic overflowed.
    #[error("arithmetic overflow in {operation}: amounts out of range")]
    ArithmeticOverflow {
        /// What was being computed.
        operation: &'static str,
    },
    /// A money string is not a plain decimal with at most two places.
    #[error("{field}: {text:?} is not an amount in yuan with at most two decimals")]
    MalformedAmount {
        /// The field.
        field: &'static str,
        /// The text given.
        text: String,
    },
    /// An amount that must be positive is not.
    #[error("{field}: {amount} must be greater than zero")]
    AmountNotPositive {
        /// The field.
        field: &'static str,
        /// The amount given.
        amount: Yuan,
    },
    /// An amount that must not be negative is.
    #[error("{field}: {amount} must not be negative")]
    AmountNegative {
        /// The field.
        field: &'static str,
        /// The amount given.
        amount: Yuan,
    },
    /// A posting with a negative amount.
    #[error("posting to {account}: amount {amount} must not be negative (use the other side)")]
    NegativePosting {
        /// The account.
        account: &'static str,
        /// The amount.
        amount: Yuan,
    },
    /// Debits differ from credits.
    #[error("postings: debits {debits} differ from credits {credits}; double entry must balance")]
    UnbalancedTransaction {
        /// Sum of debits.
        debits: Yuan,
        /// Sum of credits.
        credits: Yuan,
    },
    /// A transaction with no non-zero posting.
    #[error(
        "postings: every amount this command would post in {region} rounds to 0.00; there is nothing to record"
    )]
    EmptyTransaction {
        /// The region.
        region: RegionId,
    },
    /// The region is not in the rulebook.
    #[error("region: {region} is not a pooling region of the rulebook")]
    UnknownRegion {
        /// The region.
        region: RegionId,
    },
    /// No value of the parameter is in force on the date, in the region or its parents.
    #[error("rulebook: no value of {parameter} is in force in {region} on {date}")]
    RuleMissing {
        /// The region asked about.
        region: RegionId,
        /// The parameter.
        parameter: String,
        /// The business date.
        date: Date,
    },
    /// A rule value does not parse as its parameter's kind.
    #[error("rulebook: {parameter} = {value:?} in {region} is invalid; expected {expected}")]
    RuleValueInvalid {
        /// The region.
        region: RegionId,
        /// The parameter.
        parameter: String,
        /// The value.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The parameter name is not one the product knows.
    #[error("parameter: {parameter:?} is not a known rulebook parameter")]
    UnknownParameter {
        /// The name given.
        parameter: String,
    },
    /// An amendment must name who approved it and the document.
    #[error("amendment of {parameter}: authority and document are required")]
    AmendmentWithoutAuthority {
        /// The parameter.
        parameter: String,
    },
    /// The employer id is already registered.
    #[error("employer: {employer} is already registered (since {registered_on})")]
    EmployerAlreadyRegistered {
        /// The employer.
        employer: EmployerId,
        /// When it was registered.
        registered_on: Date,
    },
    /// The employer is not registered.
    #[error("employer: {employer} is not registered")]
    EmployerNotRegistered {
        /// The employer.
        employer: EmployerId,
    },
    /// The employer is registered in another region than the command's.
    #[error("region: employer {employer} belongs to {employer_region}, not {region}")]
    EmployerRegionMismatch {
        /// The employer.
        employer: EmployerId,
        /// Its region.
        employer_region: RegionId,
        /// The region in the command.
        region: RegionId,
    },
    /// The person is already enrolled.
    #[error("person: {person} is already enrolled (since {enrolled_on})")]
    PersonAlreadyEnrolled {
        /// The person.
        person: PersonId,
        /// Since when.
        enrolled_on: Date,
    },
    /// The person is not enrolled (or not yet on that date).
    #[error("person: {person} is not enrolled on {date}")]
    PersonNotEnrolled {
        /// The person.
        person: PersonId,
        /// The business date.
        date: Date,
    },
    /// Flexible workers may not enroll themselves in this region.
    #[error(
        "kind: flexible workers cannot enroll themselves in {region} (rule flexible_workers_allowed is false on {date})"
    )]
    FlexibleWorkersNotAllowed {
        /// The region.
        region: RegionId,
        /// The business date.
        date: Date,
    },
    /// A flexible worker enrolls without an employer; anyone else needs one.
    #[error("employer: a {kind} must {requirement}")]
    EmployerRequirement {
        /// The person kind.
        kind: &'static str,
        /// "have an employer" or "enroll without an employer".
        requirement: &'static str,
    },
    /// A migration record with neither insurance type.
    #[error(
        "migration: {person} had neither BMI nor maternity insurance; enroll instead of migrating"
    )]
    MigrationWithoutInsurance {
        /// The person.
        person: PersonId,
    },
    /// The enrollment is not active (suspended or terminated).
    #[error(
        "status: enrollment of {person} is {status} since {since}; the command needs an active enrollment"
    )]
    EnrollmentNotActive {
        /// The person.
        person: PersonId,
        /// "suspended" or "terminated".
        status: &'static str,
        /// Since when.
        since: Date,
    },
    /// Resumption of an enrollment that is not suspended.
    #[error("status: enrollment of {person} is not suspended; nothing to resume")]
    EnrollmentNotSuspended {
        /// The person.
        person: PersonId,
    },
    /// A status change dated before the last one.
    #[error("date: {date} is before the last status change of {person} on {last_change}")]
    StatusChangeOutOfOrder {
        /// The person.
        person: PersonId,
        /// The date given.
        date: Date,
        /// The last change.
        last_change: Date,
    },
    /// The person is not enrolled in maternity insurance on the date.
    #[error("person: {person} is not enrolled in maternity insurance on {date}")]
    NotEnrolledInMaternity {
        /// The person.
        person: PersonId,
        /// The business date.
        date: Date,
    },
    /// Contributions are interrupted and the region stops benefits then (克州).
    #[error(
        "status: contributions of {person} are interrupted since {since}; {region} stops benefits on interruption"
    )]
    ContributionsInterrupted {
        /// The person.
        person: PersonId,
        /// The region.
        region: RegionId,
        /// Since when.
        since: Date,
    },
    /// A base declaration with no lines.
    #[error("declaration: the base declaration of {employer} for {year} has no lines")]
    EmptyDeclaration {
        /// The employer.
        employer: EmployerId,
        /// The year.
        year: i16,
    },
    /// A roster with nobody on it.
    #[error("persons: the command for {employer} {month} names nobody")]
    EmptyRoster {
        /// The employer.
        employer: EmployerId,
        /// The month.
        month: Month,
    },
    /// The person is not enrolled with this employer.
    #[error("persons: {person} is not enrolled with employer {employer}")]
    PersonNotWithEmployer {
        /// The person.
        person: PersonId,
        /// The employer.
        employer: EmployerId,
    },
    /// The employer-month was already assessed for that person.
    #[error(
        "month: {person} was already assessed for {employer} {month}; use a back-payment or an amendment"
    )]
    AlreadyAssessed {
        /// The employer.
        employer: EmployerId,
        /// The person.
        person: PersonId,
        /// The month.
        month: Month,
    },
    /// Collection for a month with nothing assessed.
    #[error("month: nothing is assessed for {employer} {month}")]
    NothingAssessed {
        /// The employer.
        employer: EmployerId,
        /// The month.
        month: Month,
    },
    /// Collected more than the arrears.
    #[error("amount: {amount} exceeds the arrears {arrears} of {employer} {month}")]
    CollectionExceedsArrears {
        /// The employer.
        employer: EmployerId,
        /// The month.
        month: Month,
        /// The amount offered.
        amount: Yuan,
        /// Assessed − collected.
        arrears: Yuan,
    },
    /// A back-payment for a month that has not ended before the booking date.
    #[error("month: back-payment for {month} must be booked after the month, not on {booked_on}")]
    BackPaymentNotInPast {
        /// The month.
        month: Month,
        /// The booking date.
        booked_on: Date,
    },
    /// The maternity fund is closed: post to the BMI pooled fund.
    #[error("maternity fund of {region} was closed on {closed_on}; post to the BMI pooled fund")]
    MaternityFundClosed {
        /// The region.
        region: RegionId,
        /// When it closed.
        closed_on: Date,
    },
    /// The clearance cutoff differs from the rule's.
    #[error("cutoff: {requested} differs from the clearance_cutoff rule of {region} ({rule})")]
    ClearanceCutoffMismatch {
        /// The region.
        region: RegionId,
        /// The cutoff in the command.
        requested: Date,
        /// The cutoff in the rulebook.
        rule: Date,
    },
    /// The clearance was already settled.
    #[error("clearance: the maternity fund of {region} was already cleared as of {cutoff}")]
    ClearanceAlreadySettled {
        /// The region.
        region: RegionId,
        /// The cutoff.
        cutoff: Date,
    },
    /// A step of the merger needs the previous step first.
    #[error("merger: {step} of the maternity fund of {region} needs {missing} first")]
    MergerStepOutOfOrder {
        /// The region.
        region: RegionId,
        /// The step asked for.
        step: &'static str,
        /// The step missing.
        missing: &'static str,
    },
    /// The step was already done.
    #[error("merger: {step} of the maternity fund of {region} was already done on {done_on}")]
    MergerStepRepeated {
        /// The region.
        region: RegionId,
        /// The step.
        step: &'static str,
        /// When it was done.
        done_on: Date,
    },
    /// The maternity fund still has a balance.
    #[error(
        "balance: the maternity fund of {region} still holds {balance}; transfer it before closing"
    )]
    MaternityFundNotEmpty {
        /// The region.
        region: RegionId,
        /// The balance (credit positive).
        balance: Yuan,
    },
    /// One allowance per birth.
    #[error("allowance for birth {birth_id} was already granted on {granted_on}")]
    AllowanceAlreadyGranted {
        /// The birth.
        birth_id: BirthId,
        /// When it was granted.
        granted_on: Date,
    },
    /// A birth with zero babies.
    #[error("babies: birth {birth_id} must have at least one baby")]
    NoBabies {
        /// The birth.
        birth_id: BirthId,
    },
    /// The employer's previous-year average monthly wage is unknown for the year.
    #[error("wage: the previous-year average monthly wage of {employer} is unknown for {year}")]
    EmployerWageUnknown {
        /// The employer.
        employer: EmployerId,
        /// The year.
        year: i16,
    },
    /// The claim id was already settled.
    #[error("claim: {claim} was already settled on {settled_on}")]
    ClaimAlreadySettled {
        /// The claim.
        claim: ClaimId,
        /// When.
        settled_on: Date,
    },
    /// The prenatal quota of the pregnancy is used up.
    #[error("prenatal quota of pregnancy {pregnancy} is used up ({quota} of {quota})")]
    PrenatalQuotaExhausted {
        /// The pregnancy.
        pregnancy: PregnancyId,
        /// The quota.
        quota: Yuan,
    },
    /// A delivery for a pregnancy already delivered.
    #[error("pregnancy: delivery of {pregnancy} was already settled")]
    DeliveryAlreadySettled {
        /// The pregnancy.
        pregnancy: PregnancyId,
    },
    /// A command would produce more events than one append may carry.
    #[error("size: the command produces {count} events; at most {max} per command")]
    TooManyEvents {
        /// Events produced.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A month value outside 1..=12.
    #[error("month: {year}-{month} is not a calendar month")]
    InvalidMonth {
        /// The year.
        year: i16,
        /// The month.
        month: i8,
    },
    /// The employer's region is not the amended region or below it.
    #[error("employer: {employer} in {employer_region} is not under the amended region {region}")]
    EmployerOutsideRegion {
        /// The employer.
        employer: EmployerId,
        /// Its region.
        employer_region: RegionId,
        /// The amended region.
        region: RegionId,
    },
    /// The person is enrolled in another region than the command's.
    #[error("region: person {person} is enrolled in {person_region}, not {region}")]
    PersonRegionMismatch {
        /// The person.
        person: PersonId,
        /// Her region.
        person_region: RegionId,
        /// The region in the command.
        region: RegionId,
    },
    /// A command of a batch was refused; the batch is refused whole.
    #[error("commands[{index}]: {rejection}; the batch was not applied")]
    InBatch {
        /// Index of the refused command in the batch.
        index: usize,
        /// Why it was refused.
        rejection: Box<Rejection>,
    },
    /// One request names the same person twice.
    #[error("{field}: person {person} is listed more than once")]
    DuplicatePerson {
        /// The list.
        field: &'static str,
        /// The person listed again.
        person: PersonId,
    },
    /// An employer acts only on its own employees. Says nothing of who else employs the
    /// person (the caller may be an employer).
    #[error(
        "{field}: person {person} is not an employee of {employer}; an employer acts only on its own employees"
    )]
    NotOwnEmployee {
        /// The list or field naming the person.
        field: &'static str,
        /// The person.
        person: PersonId,
        /// The employer the request acts for.
        employer: EmployerId,
    },
    /// One allowance per birth, and a birth is the mother and the delivery date: a second
    /// allowance for a delivery within the window of one already granted is refused.
    #[error(
        "birth_id: {birth_id} of {person} born {birth_date} is the birth already granted as {first_birth_id} (born {first_birth_date}, {}); one mother's deliveries within {window_days} days are one birth (twins and triplets are one birth with a count of babies); an operator may override with a reason",
        recorded_at(.first_position)
    )]
    SameBirthAlreadyGranted {
        /// The mother.
        person: PersonId,
        /// The birth id asked for.
        birth_id: BirthId,
        /// Its birth date.
        birth_date: Date,
        /// The birth id of the first grant for the same birth.
        first_birth_id: BirthId,
        /// Its birth date.
        first_birth_date: Date,
        /// Its log position; `None` when granted earlier in the same batch.
        first_position: Option<u64>,
        /// The window in days.
        window_days: i32,
    },
    /// An override of a refusal must say why.
    #[error("{field}: an override must carry a reason (it is recorded on the grant)")]
    OverrideWithoutReason {
        /// The field.
        field: &'static str,
    },
    /// An override where nothing is refused: the grant needs none.
    #[error(
        "{field}: birth {birth_id} is the same birth as no earlier grant; send it without an override"
    )]
    NothingToOverride {
        /// The field.
        field: &'static str,
        /// The birth asked for.
        birth_id: BirthId,
    },
}

/// Where a grant was recorded, for a message: its log position, or the batch being decided.
fn recorded_at(position: &Option<u64>) -> String {
    match position {
        Some(position) => format!("granted at position {position}"),
        None => "granted earlier in this batch".to_owned(),
    }
}

impl Rejection {
    /// A stable name of the variant (for error details on the wire and metrics).
    pub fn name(&self) -> &'static str {
        match self {
            Rejection::ArithmeticOverflow { .. } => "ArithmeticOverflow",
            Rejection::MalformedAmount { .. } => "MalformedAmount",
            Rejection::AmountNotPositive { .. } => "AmountNotPositive",
            Rejection::AmountNegative { .. } => "AmountNegative",
            Rejection::NegativePosting { .. } => "NegativePosting",
            Rejection::UnbalancedTransaction { .. } => "UnbalancedTransaction",
            Rejection::EmptyTransaction { .. } => "EmptyTransaction",
            Rejection::UnknownRegion { .. } => "UnknownRegion",
            Rejection::RuleMissing { .. } => "RuleMissing",
            Rejection::RuleValueInvalid { .. } => "RuleValueInvalid",
            Rejection::UnknownParameter { .. } => "UnknownParameter",
            Rejection::AmendmentWithoutAuthority { .. } => "AmendmentWithoutAuthority",
            Rejection::EmployerAlreadyRegistered { .. } => "EmployerAlreadyRegistered",
            Rejection::EmployerNotRegistered { .. } => "EmployerNotRegistered",
            Rejection::EmployerRegionMismatch { .. } => "EmployerRegionMismatch",
            Rejection::PersonAlreadyEnrolled { .. } => "PersonAlreadyEnrolled",
            Rejection::PersonNotEnrolled { .. } => "PersonNotEnrolled",
            Rejection::FlexibleWorkersNotAllowed { .. } => "FlexibleWorkersNotAllowed",
            Rejection::EmployerRequirement { .. } => "EmployerRequirement",
            Rejection::MigrationWithoutInsurance { .. } => "MigrationWithoutInsurance",
            Rejection::EnrollmentNotActive { .. } => "EnrollmentNotActive",
            Rejection::EnrollmentNotSuspended { .. } => "EnrollmentNotSuspended",
            Rejection::StatusChangeOutOfOrder { .. } => "StatusChangeOutOfOrder",
            Rejection::NotEnrolledInMaternity { .. } => "NotEnrolledInMaternity",
            Rejection::ContributionsInterrupted { .. } => "ContributionsInterrupted",
            Rejection::EmptyDeclaration { .. } => "EmptyDeclaration",
            Rejection::EmptyRoster { .. } => "EmptyRoster",
            Rejection::PersonNotWithEmployer { .. } => "PersonNotWithEmployer",
            Rejection::AlreadyAssessed { .. } => "AlreadyAssessed",
            Rejection::NothingAssessed { .. } => "NothingAssessed",
            Rejection::CollectionExceedsArrears { .. } => "CollectionExceedsArrears",
            Rejection::BackPaymentNotInPast { .. } => "BackPaymentNotInPast",
            Rejection::MaternityFundClosed { .. } => "MaternityFundClosed",
            Rejection::ClearanceCutoffMismatch { .. } => "ClearanceCutoffMismatch",
            Rejection::ClearanceAlreadySettled { .. } => "ClearanceAlreadySettled",
            Rejection::MergerStepOutOfOrder { .. } => "MergerStepOutOfOrder",
            Rejection::MergerStepRepeated { .. } => "MergerStepRepeated",
            Rejection::MaternityFundNotEmpty { .. } => "MaternityFundNotEmpty",
            Rejection::AllowanceAlreadyGranted { .. } => "AllowanceAlreadyGranted",
            Rejection::NoBabies { .. } => "NoBabies",
            Rejection::EmployerWageUnknown { .. } => "EmployerWageUnknown",
            Rejection::ClaimAlreadySettled { .. } => "ClaimAlreadySettled",
            Rejection::PrenatalQuotaExhausted { .. } => "PrenatalQuotaExhausted",
            Rejection::DeliveryAlreadySettled { .. } => "DeliveryAlreadySettled",
            Rejection::TooManyEvents { .. } => "TooManyEvents",
            Rejection::InvalidMonth { .. } => "InvalidMonth",
            Rejection::EmployerOutsideRegion { .. } => "EmployerOutsideRegion",
            Rejection::PersonRegionMismatch { .. } => "PersonRegionMismatch",
            Rejection::InBatch { .. } => "InBatch",
            Rejection::DuplicatePerson { .. } => "DuplicatePerson",
            Rejection::NotOwnEmployee { .. } => "NotOwnEmployee",
            Rejection::SameBirthAlreadyGranted { .. } => "SameBirthAlreadyGranted",
            Rejection::OverrideWithoutReason { .. } => "OverrideWithoutReason",
            Rejection::NothingToOverride { .. } => "NothingToOverride",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;

    /// Each message names the field and the rule, with the values an operator needs.
    #[test]
    fn messages_name_the_field_and_the_rule() {
        let date = jiff::civil::date(2019, 12, 20);
        let yuan = |text: &str| Yuan::parse("test", text).unwrap();
        let region = RegionId::new("gansu-lanzhou");
        let samples = [
            Rejection::MaternityFundClosed {
                region: region.clone(),
                closed_on: date,
            },
            Rejection::AllowanceAlreadyGranted {
                birth_id: BirthId::new("b-1"),
                granted_on: date,
            },
            Rejection::RuleMissing {
                region: RegionId::new("beijing"),
                parameter: "employer_bmi_rate".into(),
                date: jiff::civil::date(2019, 12, 31),
            },
            Rejection::FlexibleWorkersNotAllowed {
                region: RegionId::new("beijing"),
                date,
            },
            Rejection::ContributionsInterrupted {
                person: PersonId::new("gulnar"),
                region: RegionId::new("kizilsu"),
                since: date,
            },
            Rejection::CollectionExceedsArrears {
                employer: EmployerId::new("lz-firm"),
                month: Month {
                    year: 2019,
                    month: 10,
                },
                amount: yuan("85.01"),
                arrears: yuan("85.00"),
            },
            Rejection::ClearanceCutoffMismatch {
                region: region.clone(),
                requested: jiff::civil::date(2019, 10, 31),
                rule: jiff::civil::date(2019, 11, 30),
            },
            Rejection::MalformedAmount {
                field: "amount",
                text: "1.234".into(),
            },
            Rejection::UnbalancedTransaction {
                debits: yuan("10.00"),
                credits: yuan("9.99"),
            },
            Rejection::TooManyEvents {
                count: 1001,
                max: 1000,
            },
            Rejection::NotOwnEmployee {
                field: "lines",
                person: PersonId::new("wu"),
                employer: EmployerId::new("lz-firm"),
            },
            Rejection::SameBirthAlreadyGranted {
                person: PersonId::new("chen"),
                birth_id: BirthId::new("chen-b2"),
                birth_date: jiff::civil::date(2022, 3, 1),
                first_birth_id: BirthId::new("chen-b1"),
                first_birth_date: jiff::civil::date(2022, 3, 1),
                first_position: Some(1234),
                window_days: 180,
            },
        ];
        let rendered: Vec<String> = samples.iter().map(ToString::to_string).collect();
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!("domain_rejection_messages", rendered.join("\n"));
        });
    }
}
