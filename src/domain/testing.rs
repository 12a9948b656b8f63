//! The given / when / then test harness and fixtures. Tests only.
//!
//! `given([commands])` decides and folds each command in order (a rejection there is a
//! broken test setup and panics with its message); `when(command)` decides once;
//! `then_events()` / `then_rejected()` return what happened for the test to assert. Every
//! decision taken through the harness is checked against the ledger laws: each
//! transaction balances and each region's ledger sums to zero.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use jiff::civil::Date;

use super::benefit::{Birth, ClaimKind, Delivery};
use super::command::*;
use super::contribution::LineChunk;
use super::event::{DeclaredWage, Event};
use super::ids::{BirthId, ClaimId, EmployerId, Month, PersonId, PregnancyId, RegionId};
use super::money::Yuan;
use super::party::{EmployerCategory, PersonKind};
use super::posting::{Account, Side};
use super::rejection::Rejection;
use super::rulebook::{Confidence, Rulebook};
use super::state::{State, evolve_recorded};

/// A state and rulebook built up by commands.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The folded state.
    pub state: State,
    /// The rulebook, with amendments applied.
    pub rules: Rulebook,
    /// Every event so far.
    pub history: Vec<Event>,
}

/// The outcome of `when`.
#[derive(Debug)]
pub struct Outcome {
    /// What `decide` returned.
    pub result: Result<Vec<Event>, Rejection>,
    /// The scenario before the command.
    pub scenario: Scenario,
}

/// Starts from the shipped rulebook and folds the commands in order.
pub fn given(commands: impl IntoIterator<Item = Command>) -> Scenario {
    let mut scenario = Scenario {
        state: State::new(),
        rules: Rulebook::shipped().unwrap(),
        history: Vec::new(),
    };
    for command in commands {
        scenario = scenario.and(command);
    }
    scenario
}

impl Scenario {
    /// Decides and folds one more command; panics if it is refused.
    pub fn and(self, command: impl Into<Command>) -> Scenario {
        let command = command.into();
        let name = command.name();
        match self.when(command).result {
            Ok(events) => {
                let mut next = self;
                next.fold(&events);
                next
            }
            Err(rejection) => panic!("setup command {name} was refused: {rejection}"),
        }
    }

    /// Folds events (state and rulebook).
    pub fn fold(&mut self, events: &[Event]) {
        for event in events {
            // The harness's history stands in for the log: positions count from 1.
            let position = self.history.len() as u64 + 1;
            evolve_recorded(&mut self.state, event, position);
            self.rules.apply(event);
            self.history.push(event.clone());
        }
        check_ledger_laws(&self.state, &self.history);
    }

    /// Decides a command. Every event it produces must go to a stream the command
    /// declares in `reads`, so that the edge appends with those streams' versions.
    pub fn when(&self, command: impl Into<Command>) -> Outcome {
        let command = command.into();
        let result = decide(&self.state, &command, &self.rules);
        if let Ok(events) = &result {
            let reads = command.reads();
            for event in events {
                assert!(
                    reads.contains(&event.stream_id()),
                    "{} writes {} which it does not read",
                    command.name(),
                    event.stream_id()
                );
            }
        }
        Outcome {
            result,
            scenario: self.clone(),
        }
    }
}

impl Outcome {
    /// The events; panics with the rejection if refused.
    pub fn then_events(self) -> Vec<Event> {
        match self.result {
            Ok(events) => {
                let mut after = self.scenario;
                after.fold(&events);
                events
            }
            Err(rejection) => panic!("expected events, got rejection: {rejection}"),
        }
    }

    /// The events and the scenario after them.
    pub fn then_continue(self) -> (Vec<Event>, Scenario) {
        let events = match self.result {
            Ok(events) => events,
            Err(rejection) => panic!("expected events, got rejection: {rejection}"),
        };
        let mut after = self.scenario;
        after.fold(&events);
        (events, after)
    }

    /// The rejection; panics if the command was accepted.
    pub fn then_rejected(self) -> Rejection {
        match self.result {
            Ok(events) => panic!("expected a rejection, got {} events", events.len()),
            Err(rejection) => rejection,
        }
    }
}

/// Each region's ledger sums to zero over all accounts, and every posting is
/// non-negative with debits equal to credits per event.
pub fn check_ledger_laws(state: &State, history: &[Event]) {
    for event in history {
        if let Some(transaction) = event.transaction() {
            let (mut debits, mut credits) = (Yuan::ZERO, Yuan::ZERO);
            for posting in transaction.postings() {
                assert!(!posting.amount.is_negative(), "postings are never negative");
                match posting.side {
                    Side::Debit => debits = debits.checked_add(posting.amount).unwrap(),
                    Side::Credit => credits = credits.checked_add(posting.amount).unwrap(),
                }
            }
            assert_eq!(
                debits,
                credits,
                "every transaction balances ({})",
                event.event_type()
            );
        }
    }
    for (region, ledger) in &state.ledgers {
        let total = Account::ALL
            .iter()
            .try_fold(Yuan::ZERO, |sum, account| {
                sum.checked_add(ledger.balance(*account))
            })
            .unwrap();
        assert!(
            total.is_zero(),
            "the ledger of {region} sums to zero over all accounts"
        );
    }
}

// ---- fixtures -------------------------------------------------------------------------

/// Parses yuan.
pub fn yuan(text: &str) -> Yuan {
    Yuan::parse("test", text).unwrap()
}

/// A civil date.
pub fn day(year: i16, month: i8, day: i8) -> Date {
    jiff::civil::date(year, month, day)
}

/// A contribution month.
pub fn month(year: i16, month: i8) -> Month {
    Month { year, month }
}

/// A region id.
pub fn region(id: &str) -> RegionId {
    RegionId::new(id)
}

/// A person id.
pub fn person(id: &str) -> PersonId {
    PersonId::new(id)
}

/// An employer id.
pub fn employer(id: &str) -> EmployerId {
    EmployerId::new(id)
}

/// Registers an employer.
pub fn register(
    id: &str,
    region_id: &str,
    category: EmployerCategory,
    wage: &str,
    on: Date,
) -> Command {
    RegisterEmployer {
        employer: employer(id),
        region: region(region_id),
        category,
        name: format!("{id} 单位"),
        registered_on: on,
        average_monthly_wage: yuan(wage),
    }
    .into()
}

/// Enrolls a person with an employer.
pub fn enroll(id: &str, employer_id: &str, region_id: &str, kind: PersonKind, on: Date) -> Command {
    Enroll {
        person: person(id),
        region: region(region_id),
        employer: Some(employer(employer_id)),
        kind,
        enrolled_on: on,
    }
    .into()
}

/// Declares one year's wages.
pub fn declare(
    employer_id: &str,
    region_id: &str,
    year: i16,
    wages: &[(&str, Option<&str>)],
    employer_wage: Option<&str>,
    on: Date,
) -> Command {
    DeclareBases {
        employer: employer(employer_id),
        region: region(region_id),
        year,
        lines: wages
            .iter()
            .map(|(id, wage)| DeclaredWage {
                person: person(id),
                wage: wage.map(yuan),
            })
            .collect(),
        employer_average_monthly_wage: employer_wage.map(yuan),
        declared_on: on,
    }
    .into()
}

/// Assesses an employer-month.
pub fn assess(
    employer_id: &str,
    region_id: &str,
    at: Month,
    persons: &[&str],
    on: Date,
) -> Command {
    AssessContributions {
        employer: employer(employer_id),
        region: region(region_id),
        month: at,
        persons: persons.iter().map(|id| person(id)).collect(),
        booked_on: on,
    }
    .into()
}

/// Back-pays an employer-month.
pub fn back_pay(
    employer_id: &str,
    region_id: &str,
    at: Month,
    persons: &[&str],
    on: Date,
) -> Command {
    BackPayContributions {
        employer: employer(employer_id),
        region: region(region_id),
        month: at,
        persons: persons.iter().map(|id| person(id)).collect(),
        booked_on: on,
    }
    .into()
}

/// Collects money for an employer-month.
pub fn collect(employer_id: &str, at: Month, amount: &str, on: Date) -> Command {
    CollectContribution {
        employer: employer(employer_id),
        month: at,
        amount: yuan(amount),
        received_on: on,
        reference: "税务征收".to_string(),
    }
    .into()
}

/// Amends a rule.
pub fn amend(
    region_id: &str,
    parameter: &str,
    value: &str,
    effective_from: Date,
    recorded_on: Date,
    reassess: &[&str],
) -> Command {
    AmendRule {
        region: region(region_id),
        parameter: parameter.to_string(),
        value: value.to_string(),
        effective_from,
        authority: "市人民政府".to_string(),
        document: "测试〔2020〕1号".to_string(),
        tag: Confidence::Assumption,
        recorded_on,
        // Test employers live in the amended region itself.
        reassess: reassess
            .iter()
            .map(|id| EmployerRef {
                employer: employer(id),
                region: region(region_id),
            })
            .collect(),
    }
    .into()
}

/// A birth.
pub fn birth(id: &str, date: Date, difficult: bool, babies: u8) -> Birth {
    Birth {
        id: BirthId::new(id),
        date,
        delivery: Delivery::Vaginal,
        difficult,
        babies,
        miscarriage_months: None,
    }
}

/// Grants the allowance.
pub fn pay_allowance(
    person_id: &str,
    employer_id: &str,
    region_id: &str,
    of: Birth,
    on: Date,
) -> Command {
    PayAllowance {
        person: person(person_id),
        employer: employer(employer_id),
        region: region(region_id),
        birth: of,
        granted_on: on,
        override_reason: None,
    }
    .into()
}

/// Settles a prenatal claim.
pub fn prenatal(claim: &str, person_id: &str, region_id: &str, actual: &str, on: Date) -> Command {
    SettleMedicalClaim {
        claim: ClaimId::new(claim),
        person: person(person_id),
        region: region(region_id),
        institution: "定点医院".to_string(),
        kind: ClaimKind::Prenatal {
            pregnancy: PregnancyId::new(format!("{person_id}-1")),
        },
        service_date: on,
        settled_on: on,
        actual: yuan(actual),
    }
    .into()
}

/// Suspends (interrupts contributions).
pub fn suspend(person_id: &str, region_id: &str, on: Date) -> Command {
    SuspendEnrollment {
        person: person(person_id),
        region: region(region_id),
        on,
        reason: "中断参保缴费".to_string(),
    }
    .into()
}

/// The contribution chunks among events (assessed, back-paid or adjusted).
pub fn chunks(events: &[Event]) -> Vec<&LineChunk> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::ContributionAssessed(chunk) => Some(chunk),
            Event::ContributionBackPaid(back_paid) => Some(&back_paid.chunk),
            Event::ContributionAdjusted(adjusted) => Some(&adjusted.chunk),
            _ => None,
        })
        .collect()
}

/// The net credit of an account in an event's transaction (credits − debits).
pub fn credited(event: &Event, account: Account) -> Yuan {
    event.transaction().map_or(Yuan::ZERO, |transaction| {
        transaction.net(account).unwrap().negated()
    })
}

/// Gansu, 兰州市: an enterprise (wage 5000), three pre-merger records migrated on
/// 2019-09-01 ("ma" both insurances, "zhang" BMI only, "liu" maternity only), bases
/// declared for 2019 (ma 5000, zhang 4000) and 2020 (ma 6000, zhang 4500).
pub fn gansu_lanzhou() -> Scenario {
    let record = |id: &str, held_bmi: bool, held_maternity: bool| MigrationRecord {
        person: person(id),
        employer: employer("lz-firm"),
        held_bmi,
        held_maternity,
        insured_since: day(2018, 1, 2),
    };
    given([
        register(
            "lz-firm",
            "gansu-lanzhou",
            EmployerCategory::Enterprise,
            "5000",
            day(2018, 1, 2),
        ),
        MigrateEnrollments {
            region: region("gansu-lanzhou"),
            agency: "兰州市医疗保障局".to_string(),
            migrated_on: day(2019, 9, 1),
            records: vec![
                record("ma", true, true),
                record("zhang", true, false),
                record("liu", false, true),
            ],
        }
        .into(),
        declare(
            "lz-firm",
            "gansu-lanzhou",
            2019,
            &[("ma", Some("5000")), ("zhang", Some("4000"))],
            Some("5000"),
            day(2019, 1, 5),
        ),
        declare(
            "lz-firm",
            "gansu-lanzhou",
            2020,
            &[("ma", Some("6000")), ("zhang", Some("4500"))],
            Some("5500"),
            day(2020, 1, 5),
        ),
    ])
}

/// [`gansu_lanzhou`] with "ma" assessed for 2019-10 and 2019-11 (35.00 maternity each, to
/// the maternity fund), 2019-10 collected (485.00), a prenatal claim of 20.00 on
/// 2019-11-05 paid by the maternity fund, and 2019-12 (merged) assessed.
pub fn gansu_lanzhou_before_clearance() -> Scenario {
    gansu_lanzhou()
        .and(assess(
            "lz-firm",
            "gansu-lanzhou",
            month(2019, 10),
            &["ma"],
            day(2019, 10, 10),
        ))
        .and(assess(
            "lz-firm",
            "gansu-lanzhou",
            month(2019, 11),
            &["ma"],
            day(2019, 11, 10),
        ))
        .and(collect(
            "lz-firm",
            month(2019, 10),
            "485.00",
            day(2019, 10, 25),
        ))
        .and(prenatal(
            "lz-claim-1",
            "ma",
            "gansu-lanzhou",
            "20.00",
            day(2019, 11, 5),
        ))
        .and(assess(
            "lz-firm",
            "gansu-lanzhou",
            month(2019, 12),
            &["ma"],
            day(2019, 12, 10),
        ))
}

/// [`gansu_lanzhou_before_clearance`] cleared as of 2019-11-30, transferred on
/// 2019-12-10, closed on 2019-12-20.
pub fn gansu_lanzhou_closed() -> Scenario {
    gansu_lanzhou_before_clearance()
        .and(SettleClearance {
            region: region("gansu-lanzhou"),
            cutoff: day(2019, 11, 30),
            settled_on: day(2019, 12, 5),
            verified_by: "兰州市医疗保障局".to_string(),
        })
        .and(TransferMaternityBalance {
            region: region("gansu-lanzhou"),
            transferred_on: day(2019, 12, 10),
        })
        .and(CloseMaternityFund {
            region: region("gansu-lanzhou"),
            closed_on: day(2019, 12, 20),
        })
}

/// Snapshots events as YAML in the top-level `snapshots/` folder (reviewed by auditors:
/// every figure with the rules and documents it was computed from).
pub fn snapshot_events(name: &str, events: &[Event]) {
    insta::with_settings!({
        snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_yaml_snapshot!(name, events);
    });
}
