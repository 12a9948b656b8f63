//! Commands: one file per decision, each with its struct, validation, decision and
//! given/when/then tests. The [`Command`] enum only dispatches.
//!
//! # Layout
//! - `register_employer.rs`: employer registration.
//! - `enroll.rs`: synchronised BMI + maternity enrollment, flexible workers, retirees.
//! - `migrate.rs`: Gansu's batch migration of pre-merger records.
//! - `suspend.rs`, `resume.rs`, `terminate.rs`: enrollment status (interruption stops
//!   a running allowance where the region says so).
//! - `declare_bases.rs`: yearly base declaration and its corrections.
//! - `assess.rs`: monthly contribution assessment.
//! - `collect.rs`: money received against an assessment.
//! - `back_pay.rs`: back-payment at the arrears month's rate and base.
//! - `amend_rule.rs`: rule amendment, with differences for retroactive ones.
//! - `settle_clearance.rs`, `transfer_maternity_balance.rs`, `close_maternity_fund.rs`:
//!   the fund merger.
//! - `settle_medical_claim.rs`: delivery and prenatal claims.
//! - `pay_allowance.rs`: maternity allowance.

use jiff::civil::Date;

use super::event::Event;
use super::ids::{EmployerId, PersonId, RegionId};
use super::rejection::Rejection;
use super::rulebook::Rulebook;
use super::state::{EmployerState, PersonState, State, Status};

pub mod amend_rule;
pub mod assess;
pub mod back_pay;
pub mod close_maternity_fund;
pub mod collect;
pub mod declare_bases;
pub mod enroll;
pub mod migrate;
pub mod pay_allowance;
pub mod register_employer;
pub mod resume;
pub mod settle_clearance;
pub mod settle_medical_claim;
pub mod suspend;
pub mod terminate;
pub mod transfer_maternity_balance;

pub use amend_rule::{AmendRule, EmployerRef};
pub use assess::AssessContributions;
pub use back_pay::BackPayContributions;
pub use close_maternity_fund::CloseMaternityFund;
pub use collect::CollectContribution;
pub use declare_bases::DeclareBases;
pub use enroll::Enroll;
pub use migrate::{MigrateEnrollments, MigrationRecord};
pub use pay_allowance::PayAllowance;
pub use register_employer::RegisterEmployer;
pub use resume::ResumeEnrollment;
pub use settle_clearance::SettleClearance;
pub use settle_medical_claim::SettleMedicalClaim;
pub use suspend::SuspendEnrollment;
pub use terminate::TerminateEnrollment;
pub use transfer_maternity_balance::TransferMaternityBalance;

/// Most events one command may produce; they are appended atomically in one batch.
pub const EVENTS_PER_COMMAND_MAX: usize = 1_000;

/// Every decision the ledger takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Register an employer.
    RegisterEmployer(RegisterEmployer),
    /// Enroll a person.
    Enroll(Enroll),
    /// Migrate a batch of pre-merger records.
    MigrateEnrollments(MigrateEnrollments),
    /// Interrupt contributions.
    SuspendEnrollment(SuspendEnrollment),
    /// Resume contributions.
    ResumeEnrollment(ResumeEnrollment),
    /// End an enrollment.
    TerminateEnrollment(TerminateEnrollment),
    /// Declare (or correct) a year's bases.
    DeclareBases(DeclareBases),
    /// Assess an employer-month.
    AssessContributions(AssessContributions),
    /// Record money received.
    CollectContribution(CollectContribution),
    /// Back-pay an arrears month.
    BackPayContributions(BackPayContributions),
    /// Amend a rule.
    AmendRule(AmendRule),
    /// Clear the maternity fund as of the cutoff.
    SettleClearance(SettleClearance),
    /// Move the maternity fund's balance into the pooled fund.
    TransferMaternityBalance(TransferMaternityBalance),
    /// Close the maternity fund account.
    CloseMaternityFund(CloseMaternityFund),
    /// Settle a maternity medical claim.
    SettleMedicalClaim(SettleMedicalClaim),
    /// Grant a maternity allowance.
    PayAllowance(PayAllowance),
}

macro_rules! dispatch {
    ($command:expr, $inner:ident => $body:expr) => {
        match $command {
            Command::RegisterEmployer($inner) => $body,
            Command::Enroll($inner) => $body,
            Command::MigrateEnrollments($inner) => $body,
            Command::SuspendEnrollment($inner) => $body,
            Command::ResumeEnrollment($inner) => $body,
            Command::TerminateEnrollment($inner) => $body,
            Command::DeclareBases($inner) => $body,
            Command::AssessContributions($inner) => $body,
            Command::CollectContribution($inner) => $body,
            Command::BackPayContributions($inner) => $body,
            Command::AmendRule($inner) => $body,
            Command::SettleClearance($inner) => $body,
            Command::TransferMaternityBalance($inner) => $body,
            Command::CloseMaternityFund($inner) => $body,
            Command::SettleMedicalClaim($inner) => $body,
            Command::PayAllowance($inner) => $body,
        }
    };
}

macro_rules! command_from {
    ($($name:ident),*) => {
        $(impl From<$name> for Command {
            fn from(command: $name) -> Command {
                Command::$name(command)
            }
        })*
    };
}

command_from!(
    RegisterEmployer,
    Enroll,
    MigrateEnrollments,
    SuspendEnrollment,
    ResumeEnrollment,
    TerminateEnrollment,
    DeclareBases,
    AssessContributions,
    CollectContribution,
    BackPayContributions,
    AmendRule,
    SettleClearance,
    TransferMaternityBalance,
    CloseMaternityFund,
    SettleMedicalClaim,
    PayAllowance
);

impl Command {
    /// The streams the decision needs folded into the `State` (their versions are the
    /// expected versions of the append). `ledger/<region>` names the region's postings
    /// as folded by the projections rather than an append target.
    pub fn reads(&self) -> Vec<String> {
        let mut streams = dispatch!(self, command => command.reads());
        streams.sort();
        streams.dedup();
        streams
    }

    /// A stable name for the command type.
    pub fn name(&self) -> &'static str {
        match self {
            Command::RegisterEmployer(_) => "RegisterEmployer",
            Command::Enroll(_) => "Enroll",
            Command::MigrateEnrollments(_) => "MigrateEnrollments",
            Command::SuspendEnrollment(_) => "SuspendEnrollment",
            Command::ResumeEnrollment(_) => "ResumeEnrollment",
            Command::TerminateEnrollment(_) => "TerminateEnrollment",
            Command::DeclareBases(_) => "DeclareBases",
            Command::AssessContributions(_) => "AssessContributions",
            Command::CollectContribution(_) => "CollectContribution",
            Command::BackPayContributions(_) => "BackPayContributions",
            Command::AmendRule(_) => "AmendRule",
            Command::SettleClearance(_) => "SettleClearance",
            Command::TransferMaternityBalance(_) => "TransferMaternityBalance",
            Command::CloseMaternityFund(_) => "CloseMaternityFund",
            Command::SettleMedicalClaim(_) => "SettleMedicalClaim",
            Command::PayAllowance(_) => "PayAllowance",
        }
    }
}

/// Decides what a command means under the rules in force on its business date.
pub fn decide(state: &State, command: &Command, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
    let events = dispatch!(command, inner => inner.decide(state, rules))?;
    if events.len() > EVENTS_PER_COMMAND_MAX {
        return Err(Rejection::TooManyEvents {
            count: events.len(),
            max: EVENTS_PER_COMMAND_MAX,
        });
    }
    Ok(events)
}

/// Most events one batch of commands may produce (they are appended atomically).
pub const EVENTS_PER_BATCH_MAX: usize = 10_000;
const _: () = assert!(
    EVENTS_PER_COMMAND_MAX <= EVENTS_PER_BATCH_MAX,
    "a batch must be able to hold at least one full command"
);

/// The streams a batch reads: the union of its commands' reads.
pub fn reads_all(commands: &[Command]) -> Vec<String> {
    let mut streams: Vec<String> = commands.iter().flat_map(Command::reads).collect();
    streams.sort();
    streams.dedup();
    streams
}

/// Decides a batch (e.g. a month-end collection file from the tax bureau) all or
/// nothing: each command sees the effects of the ones before it; the first refusal
/// refuses the batch, naming the command's index.
pub fn decide_all(
    state: &State,
    commands: &[Command],
    rules: &Rulebook,
) -> Result<Vec<Event>, Rejection> {
    let mut scratch = state.clone();
    // Cloned only if the batch amends a rule, so that later commands see the amendment.
    let mut amended_rules: Option<Rulebook> = None;
    let mut events = Vec::new();
    for (index, command) in commands.iter().enumerate() {
        let current = amended_rules.as_ref().unwrap_or(rules);
        let decided =
            decide(&scratch, command, current).map_err(|rejection| Rejection::InBatch {
                index,
                rejection: Box::new(rejection),
            })?;
        for event in &decided {
            super::state::evolve(&mut scratch, event);
            if matches!(event, Event::RuleAmended(_) | Event::RegionDefined(_)) {
                amended_rules
                    .get_or_insert_with(|| rules.clone())
                    .apply(event);
            }
        }
        events.extend(decided);
        if events.len() > EVENTS_PER_BATCH_MAX {
            return Err(Rejection::TooManyEvents {
                count: events.len(),
                max: EVENTS_PER_BATCH_MAX,
            });
        }
    }
    Ok(events)
}

fn require_employer<'a>(
    state: &'a State,
    employer: &EmployerId,
) -> Result<&'a EmployerState, Rejection> {
    state
        .employers
        .get(employer)
        .ok_or_else(|| Rejection::EmployerNotRegistered {
            employer: employer.clone(),
        })
}

fn require_employer_in<'a>(
    state: &'a State,
    employer: &EmployerId,
    region: &RegionId,
) -> Result<&'a EmployerState, Rejection> {
    let found = require_employer(state, employer)?;
    if &found.region != region {
        return Err(Rejection::EmployerRegionMismatch {
            employer: employer.clone(),
            employer_region: found.region.clone(),
            region: region.clone(),
        });
    }
    Ok(found)
}

fn require_person<'a>(
    state: &'a State,
    person: &PersonId,
    date: Date,
) -> Result<&'a PersonState, Rejection> {
    state
        .persons
        .get(person)
        .ok_or_else(|| Rejection::PersonNotEnrolled {
            person: person.clone(),
            date,
        })
}

/// Refuses a person enrolled in another region than the command names (the command's
/// region decides which fund stream the edge loaded).
fn require_region_of(
    person_id: &PersonId,
    person: &PersonState,
    region: &RegionId,
) -> Result<(), Rejection> {
    if &person.region != region {
        return Err(Rejection::PersonRegionMismatch {
            person: person_id.clone(),
            person_region: person.region.clone(),
            region: region.clone(),
        });
    }
    Ok(())
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Active => "active",
        Status::Suspended => "suspended",
        Status::Terminated => "terminated",
    }
}

/// Eligibility for a maternity benefit on `date`: enrolled in maternity, not terminated,
/// and, where the region stops benefits on interruption, not interrupted then or now.
fn require_maternity_eligible(
    person_id: &PersonId,
    person: &PersonState,
    date: Date,
    rules: &Rulebook,
) -> Result<(), Rejection> {
    let not_enrolled = || Rejection::PersonNotEnrolled {
        person: person_id.clone(),
        date,
    };
    let (status, since) = person.status_on(date).ok_or_else(not_enrolled)?;
    if !person.has_maternity() || status == Status::Terminated {
        return Err(Rejection::NotEnrolledInMaternity {
            person: person_id.clone(),
            date,
        });
    }
    let (current, current_since) = person.current_status();
    let interrupted = match (status, current) {
        (Status::Suspended, _) => Some(since),
        (_, Status::Suspended) => Some(current_since),
        _ => None,
    };
    if let Some(since) = interrupted
        && rules.flag(&person.region, "benefits_stop_on_interruption", date)?
    {
        return Err(Rejection::ContributionsInterrupted {
            person: person_id.clone(),
            region: person.region.clone(),
            since,
        });
    }
    Ok(())
}

/// True when `region` is `ancestor` or below it.
fn is_within(rules: &Rulebook, region: &RegionId, ancestor: &RegionId) -> bool {
    let mut current = Some(region.clone());
    for _ in 0..super::rulebook::REGION_DEPTH_MAX {
        match current {
            Some(here) if &here == ancestor => return true,
            Some(here) => current = rules.region(&here).and_then(|r| r.parent.clone()),
            None => return false,
        }
    }
    false
}

/// The lines of a roster for an employer-month: each person enrolled with the employer
/// and in a status the command accepts on the month's last day, not yet assessed for
/// the month; base from the declaration of the month's year.
fn roster_lines(
    state: &State,
    employer_id: &EmployerId,
    employer: &EmployerState,
    month: super::ids::Month,
    persons: &[PersonId],
    accepted: &[Status],
    contribution: &super::contribution::ContributionRules,
) -> Result<Vec<super::contribution::ContributionLine>, Rejection> {
    if persons.is_empty() {
        return Err(Rejection::EmptyRoster {
            employer: employer_id.clone(),
            month,
        });
    }
    if !(1..=12).contains(&month.month) {
        return Err(Rejection::InvalidMonth {
            year: month.year,
            month: month.month,
        });
    }
    let already = employer.months.get(&month);
    let mut lines = Vec::with_capacity(persons.len());
    for person_id in persons {
        let person = require_person(state, person_id, month.last_day())?;
        if person.employer.as_ref() != Some(employer_id) {
            return Err(Rejection::PersonNotWithEmployer {
                person: person_id.clone(),
                employer: employer_id.clone(),
            });
        }
        let (status, since) =
            person
                .status_on(month.last_day())
                .ok_or_else(|| Rejection::PersonNotEnrolled {
                    person: person_id.clone(),
                    date: month.last_day(),
                })?;
        if !accepted.contains(&status) {
            return Err(Rejection::EnrollmentNotActive {
                person: person_id.clone(),
                status: status_name(status),
                since,
            });
        }
        let assessed = already.is_some_and(|account| account.lines.contains_key(person_id))
            || lines
                .iter()
                .any(|line: &super::contribution::ContributionLine| &line.person == person_id);
        if assessed {
            return Err(Rejection::AlreadyAssessed {
                employer: employer_id.clone(),
                person: person_id.clone(),
                month,
            });
        }
        let wage = employer.declared_wage(contribution.declaration_year, person_id);
        lines.push(contribution.line(person_id, person.kind, wage)?);
    }
    Ok(lines)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::testing::*;

    /// A batch is all or nothing, and each command sees the ones before it: two
    /// collections of 300.00 against 485.00 of arrears refuse the batch at index 1.
    #[test]
    fn batch_sees_earlier_commands_and_refuses_whole() {
        let scenario = gansu_lanzhou().and(assess(
            "lz-firm",
            "gansu-lanzhou",
            month(2019, 10),
            &["ma"],
            day(2019, 10, 10),
        ));
        let over = [
            collect("lz-firm", month(2019, 10), "300.00", day(2019, 10, 20)),
            collect("lz-firm", month(2019, 10), "300.00", day(2019, 10, 21)), // 600 > 485
        ];
        let rejection = decide_all(&scenario.state, &over, &scenario.rules).unwrap_err();
        assert!(matches!(
            rejection,
            Rejection::InBatch { index: 1, ref rejection }
                if matches!(**rejection, Rejection::CollectionExceedsArrears { .. })
        ));
        let fits = [
            collect("lz-firm", month(2019, 10), "300.00", day(2019, 10, 20)),
            collect("lz-firm", month(2019, 10), "185.00", day(2019, 10, 21)), // 300 + 185 = 485
        ];
        let events = decide_all(&scenario.state, &fits, &scenario.rules).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(reads_all(&fits), vec!["employer/lz-firm".to_string()]);
    }

    /// An amendment early in a batch is seen by the assessment after it.
    #[test]
    fn batch_applies_amendments_to_later_commands() {
        let scenario = gansu_lanzhou();
        let batch = [
            amend(
                "gansu-lanzhou",
                "maternity_rate",
                "0.008",
                day(2020, 1, 1),
                day(2019, 12, 1),
                &[],
            ),
            assess(
                "lz-firm",
                "gansu-lanzhou",
                month(2020, 1),
                &["ma"],
                day(2020, 1, 10),
            ),
        ];
        let events = decide_all(&scenario.state, &batch, &scenario.rules).unwrap();
        // 6000 × 0.8% = 48.00 with the amendment (42.00 without)
        assert_eq!(chunks(&events)[0].lines[0].amounts.maternity, yuan("48.00"));
    }
}
