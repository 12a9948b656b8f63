//! Proto requests -> domain commands, strictly: every malformed field is INVALID_ARGUMENT
//! naming the field and the rule it broke.

use jiff::civil::Date;
use rust_decimal::Decimal;
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
/// The earliest business date any request may carry. Contribution records of the
/// regions' systems start long after it; it keeps a typing slip (`0019-06-01`) or a
/// hostile value (`-000001-06-01`) out of a log that can never drop it.
pub const DATE_MIN: Date = jiff::civil::date(1900, 1, 1);
/// The latest business date any request may carry.
pub const DATE_MAX: Date = jiff::civil::date(2199, 12, 31);
/// The largest amount any money field of a request may carry, in yuan (10^11: a hundred
/// billion, more than a year of the country's whole BMI income). Every amount the ledger
/// posts is an input amount or a product of one with a rate below 1 or a day count below
/// 10^4, so a posting stays under 10^15 yuan, and the folds' decimal sums (range about
/// 7.9 × 10^28) would need 10^13 such postings to overflow: ten thousand years of a
/// region's 5 × 10^8 events a year.
pub const AMOUNT_MAX: Decimal = Decimal::from_parts(1215752192, 23, 0, false, 0);
/// The longest amount text, in bytes (`100000000000.00` is 15).
pub const AMOUNT_TEXT_BYTES_MAX: usize = 24;
/// How many characters of a refused value an error message shows.
pub const SHOWN_CHARS_MAX: usize = 32;

const _: () = assert!(ID_BYTES_MAX + "employer/".len() <= crate::log::STREAM_ID_BYTES_MAX);
// Error messages travel in gRPC metadata (16 KiB): a shown value is a small part of that.
const _: () = assert!(SHOWN_CHARS_MAX * 4 * 4 < 1024);

fn invalid(field: &str, rule: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("{field}: {rule}"))
}

/// A refused value as an error message shows it: at most [`SHOWN_CHARS_MAX`] characters,
/// escaped (so control and bidi characters cannot reach a log line or a terminal), with
/// the length of what was cut.
pub fn shown(value: &str) -> String {
    let mut characters = value.chars();
    let head: String = characters.by_ref().take(SHOWN_CHARS_MAX).collect();
    let escaped: String = head.chars().flat_map(char::escape_debug).collect();
    match characters.as_str().len() {
        0 => format!("\"{escaped}\""),
        rest => format!("\"{escaped}\"… ({rest} more bytes)"),
    }
}

/// Whether a character reorders or hides text when shown: the bidi embeddings, overrides
/// and isolates (U+202A..U+202E, U+2066..U+2069) and the invisible direction marks
/// (U+200E, U+200F, U+061C). Free text reaches HTML reports and CSV files, where these
/// make a name read as something else.
fn is_bidi_control(character: char) -> bool {
    matches!(
        character,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// A required, non-empty text field: at most [`TEXT_BYTES_MAX`] bytes, with no control
/// characters (line breaks included) and no bidi controls.
pub fn text(field: &str, value: &str) -> Result<String, Status> {
    if value.trim().is_empty() {
        return Err(invalid(field, "is required"));
    }
    if value.len() > TEXT_BYTES_MAX {
        return Err(invalid(
            field,
            format!(
                "is longer than {TEXT_BYTES_MAX} bytes ({} given)",
                value.len()
            ),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|character| character.is_control() || is_bidi_control(*character))
    {
        return Err(invalid(
            field,
            format!(
                "must not contain control or bidi characters ({} found)",
                bad.escape_unicode()
            ),
        ));
    }
    Ok(value.to_owned())
}

/// Whether `character` may appear in an id: ASCII letters and digits, `-`, `_`, `.`, `:`.
/// Ids become stream ids, keys and file names of exports: no spaces, no `/` (the stream
/// separator), nothing that displays as something else.
pub fn is_id_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.' | ':')
}

/// A required id: 1 to [`ID_BYTES_MAX`] characters from [`is_id_character`].
pub fn id(field: &str, value: &str) -> Result<String, Status> {
    id_of_length(field, value, ID_BYTES_MAX)
}

/// A required id of at most `max` bytes, from [`is_id_character`].
fn id_of_length(field: &str, value: &str, max: usize) -> Result<String, Status> {
    if value.is_empty() {
        return Err(invalid(field, "is required"));
    }
    if value.len() > max || !value.chars().all(is_id_character) {
        return Err(invalid(
            field,
            format!(
                "must be 1 to {max} characters of A-Z a-z 0-9 - _ . : ({} given)",
                shown(value)
            ),
        ));
    }
    Ok(value.to_owned())
}

/// A stream id: a kind and an id (`employer/E1`), of id characters and `/`, at most
/// [`crate::log::STREAM_ID_BYTES_MAX`] bytes.
pub fn stream_id(field: &str, value: &str) -> Result<String, Status> {
    let valid = !value.is_empty()
        && value.len() <= crate::log::STREAM_ID_BYTES_MAX
        && value
            .chars()
            .all(|character| is_id_character(character) || character == '/');
    if !valid {
        return Err(invalid(
            field,
            format!(
                "must be 1 to {} characters of A-Z a-z 0-9 - _ . : / ({} given)",
                crate::log::STREAM_ID_BYTES_MAX,
                shown(value)
            ),
        ));
    }
    Ok(value.to_owned())
}

/// An ISO calendar date from [`DATE_MIN`] to [`DATE_MAX`].
pub fn date(field: &str, value: &str) -> Result<Date, Status> {
    let date = value.parse::<Date>().map_err(|_| {
        invalid(
            field,
            format!("{} is not an ISO date YYYY-MM-DD", shown(value)),
        )
    })?;
    if !(DATE_MIN..=DATE_MAX).contains(&date) {
        return Err(invalid(
            field,
            format!("{date} is outside {DATE_MIN}..={DATE_MAX}"),
        ));
    }
    Ok(date)
}

/// A `YYYY-MM` month whose days lie from [`DATE_MIN`] to [`DATE_MAX`].
pub fn month(field: &str, value: &str) -> Result<Month, Status> {
    let rule = || {
        invalid(
            field,
            format!(
                "{} is not a month YYYY-MM from {} to {}",
                shown(value),
                Month::of(DATE_MIN),
                Month::of(DATE_MAX)
            ),
        )
    };
    let (year, month) = value.split_once('-').ok_or_else(rule)?;
    if year.len() != 4 || month.len() != 2 {
        return Err(rule());
    }
    let year: i16 = year.parse().map_err(|_| rule())?;
    let month: i8 = month.parse().map_err(|_| rule())?;
    let month = Month::new(year, month).map_err(|_| rule())?;
    if !(Month::of(DATE_MIN)..=Month::of(DATE_MAX)).contains(&month) {
        return Err(rule());
    }
    Ok(month)
}

/// A yuan amount of money coming in: a decimal string with at most two decimals, from 0
/// to [`AMOUNT_MAX`].
pub fn yuan(field: &'static str, value: &str) -> Result<Yuan, Status> {
    if value.len() > AMOUNT_TEXT_BYTES_MAX {
        return Err(invalid(
            field,
            format!(
                "{} is not an amount of yuan with at most two decimals",
                shown(value)
            ),
        ));
    }
    let amount = Yuan::parse(field, value)
        .map_err(|rejection| Status::invalid_argument(rejection.to_string()))?;
    if amount.is_negative() || amount.decimal() > AMOUNT_MAX {
        return Err(invalid(
            field,
            format!("{amount} is outside 0..={AMOUNT_MAX} yuan"),
        ));
    }
    Ok(amount)
}

/// A wage (a contribution base or an allowance's base): an amount above zero. A zero wage
/// means nothing; an unknown one is left empty where the request allows it.
pub fn wage(field: &'static str, value: &str) -> Result<Yuan, Status> {
    let amount = yuan(field, value)?;
    if amount.is_zero() {
        return Err(invalid(
            field,
            "must be above 0 (leave it empty where it is unknown)",
        ));
    }
    Ok(amount)
}

fn optional_wage(field: &'static str, value: &str) -> Result<Option<Yuan>, Status> {
    if value.is_empty() {
        Ok(None)
    } else {
        wage(field, value).map(Some)
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
    let command_id = id_of_length(
        "header.command_id",
        &header.command_id,
        COMMAND_ID_BYTES_MAX,
    )?;
    let expected = header
        .expected
        .iter()
        .map(|expectation| {
            let stream = stream_id("header.expected.stream_id", &expectation.stream_id)?;
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
        average_monthly_wage: wage("average_monthly_wage", &message.average_monthly_wage)?,
    }
    .into())
}

/// `Enroll`.
pub fn enroll(message: &proto::EnrollRequest) -> Result<Command, Status> {
    Ok(Enroll {
        person: person("person_id", &message.person_id)?,
        region: region("region", &message.region)?,
        employer: match message.employer_id.as_str() {
            "" => None,
            employer_id => Some(employer("employer_id", employer_id)?),
        },
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
                wage: optional_wage("lines.wage", &line.wage)?,
            })
        })
        .collect::<Result<Vec<_>, Status>>()?;
    Ok(DeclareBases {
        employer: employer("employer_id", &message.employer_id)?,
        region: region("region", &message.region)?,
        year,
        lines: declared,
        employer_average_monthly_wage: optional_wage(
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;

    /// The amount ceiling is the 10^11 yuan its documentation says.
    #[test]
    fn the_amount_ceiling_is_a_hundred_billion_yuan() {
        assert_eq!(AMOUNT_MAX, Decimal::from(100_000_000_000_i64));
        assert!(yuan("amount", "100000000000.00").is_ok());
        let refused = yuan("amount", "100000000000.01").unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
        insta::assert_snapshot!(refused.message(), @"amount: 100000000000.01 is outside 0..=100000000000 yuan");
    }

    /// A refused value is shown escaped and cut: a megabyte or a bidi override never
    /// reaches an error message whole.
    #[test]
    fn a_refused_value_is_shown_escaped_and_cut() {
        insta::assert_snapshot!(shown("\u{202e}E1\u{0}"), @r#""\u{202e}E1\0""#);
        insta::assert_snapshot!(shown(&"x".repeat(1 << 20)), @r#""xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"… (1048544 more bytes)"#);
        let refused = date("birth_date", &"9".repeat(1 << 20)).unwrap_err();
        assert!(refused.message().len() < 200, "{}", refused.message().len());
    }

    /// Dates outside 1900-01-01..=2199-12-31 are refused naming the range, whatever jiff
    /// can parse; months likewise.
    #[test]
    fn dates_and_months_outside_the_range_are_refused() {
        for value in [
            "0000-01-01",
            "-000001-06-01",
            "1899-12-31",
            "2200-01-01",
            "9999-12-31",
        ] {
            let refused = date("registered_on", value).unwrap_err();
            assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{value}");
            assert!(refused.message().starts_with("registered_on: "), "{value}");
        }
        assert!(date("on", "1900-01-01").is_ok());
        assert!(date("on", "2199-12-31").is_ok());
        for value in [
            "0000-01", "1899-12", "2200-01", "-001-01", "2020-1", "20201-01",
        ] {
            assert!(month("month", value).is_err(), "{value}");
        }
        assert!(month("month", "2199-12").is_ok());
    }

    /// Ids take a documented character set; text refuses control and bidi characters.
    #[test]
    fn ids_and_texts_refuse_control_and_bidi_characters() {
        for value in ["E1\u{0}", "\u{202e}E1", "E 1", "a/b", "北京", ""] {
            assert!(id("employer_id", value).is_err(), "{value:?}");
        }
        assert!(id("person_id", "110101199001011234").is_ok());
        assert!(id("employer_id", "91110000MA001-x_1.2:3").is_ok());
        for value in [
            "line\nbreak",
            "\u{202e}evil",
            "tab\there",
            "\u{2066}x",
            "\u{200f}",
        ] {
            assert!(text("name", value).is_err(), "{value:?}");
        }
        assert!(text("name", "北京示例科技有限公司").is_ok());
    }
}
