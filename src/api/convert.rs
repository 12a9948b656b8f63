//! Proto requests -> domain commands, strictly: every malformed field is INVALID_ARGUMENT
//! naming the field and the rule it broke.

use jiff::civil::Date;
use tonic::Status;

use super::proto;
use crate::domain::command::amend_rule::{AmendRule, EmployerRef};
use crate::domain::command::assess::AssessContributions;
use crate::domain::command::back_pay::BackPayContributions;
use crate::domain::command::close_maternity_fund::CloseMaternityFund;
use crate::domain::command::collect::CollectContribution;
use crate::domain::command::declare_bases::DeclareBases;
use crate::domain::command::enroll::Enroll;
use crate::domain::command::migrate::{MigrateEnrollments, MigrationRecord};
use crate::domain::command::pay_allowance::PayAllowance;
use crate::domain::command::register_employer::RegisterEmployer;
use crate::domain::command::resume::ResumeEnrollment;
use crate::domain::command::settle_clearance::SettleClearance;
use crate::domain::command::settle_medical_claim::SettleMedicalClaim;
use crate::domain::command::suspend::SuspendEnrollment;
use crate::domain::command::terminate::TerminateEnrollment;
use crate::domain::command::transfer_maternity_balance::TransferMaternityBalance;
use crate::domain::event::DeclaredWage;
use crate::domain::{
    Birth, BirthId, ClaimId, ClaimKind, Command, Confidence, Delivery, EmployerCategory,
    EmployerId, HospitalLevel, Month, PersonId, PersonKind, PregnancyId, RegionId, Yuan,
};
use crate::log::{COMMAND_ID_BYTES_MAX, ExpectedVersion};

/// The most lines (persons, records, wages) one request may carry.
pub const REQUEST_LINES_MAX: usize = 100_000;
/// The longest id (region, employer, person, claim, birth, pregnancy), in bytes: it
/// becomes part of a stream id (`employer/<id>`), which the log caps at
/// [`crate::log::STREAM_ID_BYTES_MAX`].
pub const ID_BYTES_MAX: usize = 160;
/// The longest free text field (names, reasons, references), in bytes.
pub const TEXT_BYTES_MAX: usize = 1000;

const _: () = assert!(ID_BYTES_MAX + "employer/".len() <= crate::log::STREAM_ID_BYTES_MAX);

fn invalid(field: &str, rule: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("{field}: {rule}"))
}

/// A required, non-empty text field.
pub fn text(field: &str, value: &str) -> Result<String, Status> {
    if value.trim().is_empty() {
        return Err(invalid(field, "is required"));
    }
    if value.len() > TEXT_BYTES_MAX {
        return Err(invalid(
            field,
            format!("is longer than {TEXT_BYTES_MAX} bytes"),
        ));
    }
    Ok(value.to_owned())
}

/// A required id: non-empty, at most [`ID_BYTES_MAX`] bytes, no control characters.
pub fn id(field: &str, value: &str) -> Result<String, Status> {
    if value.trim().is_empty() {
        return Err(invalid(field, "is required"));
    }
    if value.len() > ID_BYTES_MAX || value.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("must be at most {ID_BYTES_MAX} bytes with no control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// An ISO calendar date.
pub fn date(field: &str, value: &str) -> Result<Date, Status> {
    value.parse::<Date>().map_err(|error| {
        invalid(
            field,
            format!("{value:?} is not an ISO date YYYY-MM-DD ({error})"),
        )
    })
}

/// A `YYYY-MM` month.
pub fn month(field: &str, value: &str) -> Result<Month, Status> {
    let rule = || invalid(field, format!("{value:?} is not a month YYYY-MM"));
    let (year, month) = value.split_once('-').ok_or_else(rule)?;
    let year: i16 = year.parse().map_err(|_| rule())?;
    let month: i8 = month.parse().map_err(|_| rule())?;
    Month::new(year, month).map_err(|_| rule())
}

/// A yuan amount: a decimal string with at most two decimals.
pub fn yuan(field: &'static str, value: &str) -> Result<Yuan, Status> {
    Yuan::parse(field, value).map_err(|rejection| Status::invalid_argument(rejection.to_string()))
}

fn optional_yuan(field: &'static str, value: &str) -> Result<Option<Yuan>, Status> {
    if value.is_empty() {
        Ok(None)
    } else {
        yuan(field, value).map(Some)
    }
}

fn lines<T>(field: &str, values: &[T]) -> Result<(), Status> {
    if values.len() > REQUEST_LINES_MAX {
        return Err(invalid(
            field,
            format!("at most {REQUEST_LINES_MAX} per request"),
        ));
    }
    Ok(())
}

/// The command id and the caller's stream expectations.
pub fn header(
    header: Option<&proto::CommandHeader>,
) -> Result<(String, Vec<(String, ExpectedVersion)>), Status> {
    let header =
        header.ok_or_else(|| invalid("header", "is required (it carries the command_id)"))?;
    let command_id = text("header.command_id", &header.command_id)?;
    if command_id.len() > COMMAND_ID_BYTES_MAX {
        return Err(invalid(
            "header.command_id",
            format!("at most {COMMAND_ID_BYTES_MAX} bytes"),
        ));
    }
    let expected = header
        .expected
        .iter()
        .map(|expectation| {
            let stream = text("header.expected.stream_id", &expectation.stream_id)?;
            let version = match expectation.version {
                0 => ExpectedVersion::NoStream,
                version => ExpectedVersion::Exact(version),
            };
            Ok((stream, version))
        })
        .collect::<Result<Vec<_>, Status>>()?;
    Ok((command_id, expected))
}

/// Writes a mapper from a proto enum's wire value to the domain enum of the same variant
/// names: each listed variant maps to its namesake, and UNSPECIFIED or an unknown value is
/// INVALID_ARGUMENT naming the field. The match stays exhaustive (no wildcard arm), so a
/// variant added to the proto and not listed here fails to compile.
macro_rules! from_proto_enum {
    (
        $name:ident: $proto:ident -> $domain:ident [$($variant:ident),+ $(,)?]
        else $field:literal, $rule:literal
    ) => {
        fn $name(value: i32) -> Result<$domain, Status> {
            match proto::$proto::try_from(value) {
                $(Ok(proto::$proto::$variant) => Ok($domain::$variant),)+
                Ok(proto::$proto::Unspecified) | Err(_) => Err(invalid($field, $rule)),
            }
        }
    };
}

from_proto_enum!(category: EmployerCategory -> EmployerCategory [
    Agency,
    Institution,
    SelfFundedInstitution,
    Enterprise,
    IndividualBusiness,
    PrivateNonEnterprise,
    SocialOrganisation,
] else "category", "must name an employer category");

from_proto_enum!(person_kind: PersonKind -> PersonKind [
    Employee,
    FlexibleWorker,
    Retiree,
    EarlyRetiree,
] else "kind", "must name a person kind");

from_proto_enum!(delivery: Delivery -> Delivery [Vaginal, Caesarean]
    else "delivery", "must be VAGINAL or CAESAREAN");

from_proto_enum!(level: HospitalLevel -> HospitalLevel [Primary, Secondary, Tertiary]
    else "level", "must be PRIMARY, SECONDARY or TERTIARY");

fn confidence(value: &str) -> Result<Confidence, Status> {
    match value {
        "C" => Ok(Confidence::Confirmed),
        "S" => Ok(Confidence::Secondary),
        "A" => Ok(Confidence::Assumption),
        _ => Err(invalid(
            "tag",
            "must be C (confirmed), S (secondary) or A (assumption)",
        )),
    }
}

fn region(field: &str, value: &str) -> Result<RegionId, Status> {
    id(field, value).map(RegionId::new)
}

fn employer(field: &str, value: &str) -> Result<EmployerId, Status> {
    id(field, value).map(EmployerId::new)
}

fn person(field: &str, value: &str) -> Result<PersonId, Status> {
    id(field, value).map(PersonId::new)
}

/// `RegisterEmployer`.
pub fn register_employer(message: &proto::RegisterEmployerRequest) -> Result<Command, Status> {
    Ok(RegisterEmployer {
        employer: employer("employer_id", &message.employer_id)?,
        region: region("region", &message.region)?,
        category: category(message.category)?,
        name: text("name", &message.name)?,
        registered_on: date("registered_on", &message.registered_on)?,
        average_monthly_wage: yuan("average_monthly_wage", &message.average_monthly_wage)?,
    }
    .into())
}

/// `Enroll`.
pub fn enroll(message: &proto::EnrollRequest) -> Result<Command, Status> {
    Ok(Enroll {
        person: person("person_id", &message.person_id)?,
        region: region("region", &message.region)?,
        employer: (!message.employer_id.is_empty())
            .then(|| EmployerId::new(message.employer_id.clone())),
        kind: person_kind(message.kind)?,
        enrolled_on: date("enrolled_on", &message.enrolled_on)?,
    }
    .into())
}

/// `MigrateEnrollments`.
pub fn migrate(message: &proto::MigrateEnrollmentsRequest) -> Result<Command, Status> {
    lines("records", &message.records)?;
    let records = message
        .records
        .iter()
        .map(|record| {
            Ok(MigrationRecord {
                person: person("records.person_id", &record.person_id)?,
                employer: employer("records.employer_id", &record.employer_id)?,
                held_bmi: record.held_bmi,
                held_maternity: record.held_maternity,
                insured_since: date("records.insured_since", &record.insured_since)?,
            })
        })
        .collect::<Result<Vec<_>, Status>>()?;
    Ok(MigrateEnrollments {
        region: region("region", &message.region)?,
        agency: text("agency", &message.agency)?,
        migrated_on: date("migrated_on", &message.migrated_on)?,
        records,
    }
    .into())
}

/// `SuspendEnrollment`.
pub fn suspend(message: &proto::EnrollmentStatusRequest) -> Result<Command, Status> {
    Ok(SuspendEnrollment {
        person: person("person_id", &message.person_id)?,
        region: region("region", &message.region)?,
        on: date("on", &message.on)?,
        reason: text("reason", &message.reason)?,
    }
    .into())
}

/// The person, date and reason of a status change that names no region (resume and
/// terminate: the person's enrollment already says where).
fn status_change(
    message: &proto::EnrollmentStatusRequest,
) -> Result<(PersonId, Date, String), Status> {
    Ok((
        person("person_id", &message.person_id)?,
        date("on", &message.on)?,
        text("reason", &message.reason)?,
    ))
}

/// `ResumeEnrollment`.
pub fn resume(message: &proto::EnrollmentStatusRequest) -> Result<Command, Status> {
    let (person, on, reason) = status_change(message)?;
    Ok(ResumeEnrollment { person, on, reason }.into())
}

/// `TerminateEnrollment`.
pub fn terminate(message: &proto::EnrollmentStatusRequest) -> Result<Command, Status> {
    let (person, on, reason) = status_change(message)?;
    Ok(TerminateEnrollment { person, on, reason }.into())
}

/// `DeclareBases`.
pub fn declare_bases(message: &proto::DeclareBasesRequest) -> Result<Command, Status> {
    lines("lines", &message.lines)?;
    let year = i16::try_from(message.year).map_err(|_| invalid("year", "out of range"))?;
    let declared = message
        .lines
        .iter()
        .map(|line| {
            Ok(DeclaredWage {
                person: person("lines.person_id", &line.person_id)?,
                wage: optional_yuan("lines.wage", &line.wage)?,
            })
        })
        .collect::<Result<Vec<_>, Status>>()?;
    Ok(DeclareBases {
        employer: employer("employer_id", &message.employer_id)?,
        region: region("region", &message.region)?,
        year,
        lines: declared,
        employer_average_monthly_wage: optional_yuan(
            "employer_average_monthly_wage",
            &message.employer_average_monthly_wage,
        )?,
        declared_on: date("declared_on", &message.declared_on)?,
    }
    .into())
}

/// The fields assessing and back-paying share (one request type serves both), checked in
/// the order of the request: employer, region, month, persons, booking date.
fn roster(
    message: &proto::AssessContributionsRequest,
) -> Result<(EmployerId, RegionId, Month, Vec<PersonId>, Date), Status> {
    let employer = employer("employer_id", &message.employer_id)?;
    let region = region("region", &message.region)?;
    let month = month("month", &message.month)?;
    lines("person_ids", &message.person_ids)?;
    let persons = message
        .person_ids
        .iter()
        .map(|id| person("person_ids", id))
        .collect::<Result<Vec<_>, Status>>()?;
    let booked_on = date("booked_on", &message.booked_on)?;
    Ok((employer, region, month, persons, booked_on))
}

/// `AssessContributions`.
pub fn assess(message: &proto::AssessContributionsRequest) -> Result<Command, Status> {
    let (employer, region, month, persons, booked_on) = roster(message)?;
    Ok(AssessContributions {
        employer,
        region,
        month,
        persons,
        booked_on,
    }
    .into())
}

/// `BackPayContributions`.
pub fn back_pay(message: &proto::AssessContributionsRequest) -> Result<Command, Status> {
    let (employer, region, month, persons, booked_on) = roster(message)?;
    Ok(BackPayContributions {
        employer,
        region,
        month,
        persons,
        booked_on,
    }
    .into())
}

/// `CollectContribution`.
pub fn collect(message: &proto::CollectContributionRequest) -> Result<Command, Status> {
    Ok(CollectContribution {
        employer: employer("employer_id", &message.employer_id)?,
        month: month("month", &message.month)?,
        amount: yuan("amount", &message.amount)?,
        received_on: date("received_on", &message.received_on)?,
        reference: text("reference", &message.reference)?,
    }
    .into())
}

/// `AmendRule`.
pub fn amend_rule(message: &proto::AmendRuleRequest) -> Result<Command, Status> {
    lines("reassess", &message.reassess)?;
    let reassess = message
        .reassess
        .iter()
        .map(|target| {
            Ok(EmployerRef {
                employer: employer("reassess.employer_id", &target.employer_id)?,
                region: region("reassess.region", &target.region)?,
            })
        })
        .collect::<Result<Vec<_>, Status>>()?;
    Ok(AmendRule {
        region: region("region", &message.region)?,
        parameter: text("parameter", &message.parameter)?,
        value: text("value", &message.value)?,
        effective_from: date("effective_from", &message.effective_from)?,
        authority: text("authority", &message.authority)?,
        document: text("document", &message.document)?,
        tag: confidence(&message.tag)?,
        recorded_on: date("recorded_on", &message.recorded_on)?,
        reassess,
    }
    .into())
}

/// `SettleClearance`.
pub fn settle_clearance(message: &proto::SettleClearanceRequest) -> Result<Command, Status> {
    Ok(SettleClearance {
        region: region("region", &message.region)?,
        cutoff: date("cutoff", &message.cutoff)?,
        settled_on: date("settled_on", &message.settled_on)?,
        verified_by: text("verified_by", &message.verified_by)?,
    }
    .into())
}

/// `TransferMaternityBalance`.
pub fn transfer(message: &proto::TransferMaternityBalanceRequest) -> Result<Command, Status> {
    Ok(TransferMaternityBalance {
        region: region("region", &message.region)?,
        transferred_on: date("transferred_on", &message.transferred_on)?,
    }
    .into())
}

/// `CloseMaternityFund`.
pub fn close_fund(message: &proto::CloseMaternityFundRequest) -> Result<Command, Status> {
    Ok(CloseMaternityFund {
        region: region("region", &message.region)?,
        closed_on: date("closed_on", &message.closed_on)?,
    }
    .into())
}

/// `SettleMedicalClaim`.
pub fn medical_claim(message: &proto::SettleMedicalClaimRequest) -> Result<Command, Status> {
    let pregnancy = PregnancyId::new(id("pregnancy_id", &message.pregnancy_id)?);
    let kind = match proto::ClaimKind::try_from(message.kind) {
        Ok(proto::ClaimKind::Delivery) => ClaimKind::Delivery {
            pregnancy,
            delivery: delivery(message.delivery)?,
            level: level(message.level)?,
        },
        Ok(proto::ClaimKind::Prenatal) => ClaimKind::Prenatal { pregnancy },
        Ok(proto::ClaimKind::Unspecified) | Err(_) => {
            return Err(invalid("kind", "must be DELIVERY or PRENATAL"));
        }
    };
    Ok(SettleMedicalClaim {
        claim: ClaimId::new(id("claim_id", &message.claim_id)?),
        person: person("person_id", &message.person_id)?,
        region: region("region", &message.region)?,
        institution: text("institution", &message.institution)?,
        kind,
        service_date: date("service_date", &message.service_date)?,
        settled_on: date("settled_on", &message.settled_on)?,
        actual: yuan("actual", &message.actual)?,
    }
    .into())
}

/// `PayAllowance`.
pub fn pay_allowance(message: &proto::PayAllowanceRequest) -> Result<Command, Status> {
    let babies = u8::try_from(message.babies).map_err(|_| invalid("babies", "at most 255"))?;
    Ok(PayAllowance {
        person: person("person_id", &message.person_id)?,
        employer: employer("employer_id", &message.employer_id)?,
        region: region("region", &message.region)?,
        birth: Birth {
            id: BirthId::new(id("birth_id", &message.birth_id)?),
            date: date("birth_date", &message.birth_date)?,
            delivery: delivery(message.delivery)?,
            difficult: message.difficult,
            babies,
            miscarriage_months: match message.miscarriage_months {
                0 => None,
                months => Some(
                    u8::try_from(months)
                        .map_err(|_| invalid("miscarriage_months", "at most 255"))?,
                ),
            },
        },
        granted_on: date("granted_on", &message.granted_on)?,
        override_reason: match message.override_reason.as_str() {
            "" => None,
            reason => Some(text("override_reason", reason)?),
        },
    }
    .into())
}
