//! The domain's public interface, used as the log, projections and gRPC rooms will use
//! it: load the rulebook from genesis events, decide commands against a state folded
//! from the streams they read, fold postings by region and account.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::collections::BTreeMap;

use fundledger::domain::command::{AssessContributions, DeclareBases, Enroll, RegisterEmployer};
use fundledger::domain::event::DeclaredWage;
use fundledger::domain::{
    Account, Command, EmployerCategory, EmployerId, Event, Month, PersonId, PersonKind, RegionId,
    Rulebook, State, Yuan, decide, evolve,
};

fn yuan(text: &str) -> Yuan {
    Yuan::parse("amount", text).unwrap()
}

/// A Kizilsu employer-month decided through the public API: the events name their
/// streams (each one the command reads), types and business dates, and their postings
/// fold into balances that sum to zero per region.
#[test]
fn decide_evolve_and_fold_postings_through_the_public_api() {
    // The log holds the shipped rulebook as genesis events; replay rebuilds it.
    let mut rules = Rulebook::empty();
    for event in Rulebook::shipped().unwrap().genesis_events() {
        rules.apply(&event);
    }
    let region = RegionId::new("kizilsu");
    let employer = EmployerId::new("kz-1");
    let person = PersonId::new("p-1");
    let date = jiff::civil::date;
    let commands: Vec<Command> = vec![
        RegisterEmployer {
            employer: employer.clone(),
            region: region.clone(),
            category: EmployerCategory::Agency,
            name: "克州某局".into(),
            registered_on: date(2019, 1, 2),
            average_monthly_wage: yuan("6000"),
        }
        .into(),
        Enroll {
            person: person.clone(),
            region: region.clone(),
            employer: Some(employer.clone()),
            kind: PersonKind::Employee,
            enrolled_on: date(2019, 1, 2),
        }
        .into(),
        DeclareBases {
            employer: employer.clone(),
            region: region.clone(),
            year: 2020,
            lines: vec![DeclaredWage {
                person: person.clone(),
                wage: Some(yuan("6000")),
            }],
            employer_average_monthly_wage: None,
            declared_on: date(2020, 1, 5),
        }
        .into(),
        AssessContributions {
            employer: employer.clone(),
            region: region.clone(),
            month: Month {
                year: 2020,
                month: 1,
            },
            persons: vec![person.clone()],
            booked_on: date(2020, 1, 10),
        }
        .into(),
    ];
    let mut state = State::new();
    let mut log: Vec<Event> = Vec::new();
    for command in &commands {
        let events = decide(&state, command, &rules).unwrap();
        let reads = command.reads();
        for event in &events {
            assert!(
                reads.contains(&event.stream_id()),
                "{} is read",
                event.stream_id()
            );
            evolve(&mut state, event);
        }
        log.extend(events);
    }
    let types: Vec<&str> = log.iter().map(Event::event_type).collect();
    assert_eq!(
        types,
        [
            "EmployerRegistered",
            "PersonEnrolled",
            "BasesDeclared",
            "ContributionAssessed"
        ]
    );
    let assessed = &log[3];
    assert_eq!(assessed.stream_id(), "employer/kz-1");
    assert_eq!(assessed.business_date(), date(2020, 1, 1));

    // A projection folds postings generically by region and account.
    let mut balances: BTreeMap<(RegionId, Account), Yuan> = BTreeMap::new();
    for event in &log {
        if let Some(transaction) = event.transaction() {
            for posting in transaction.postings() {
                let key = (transaction.region().clone(), posting.account);
                let entry = balances.entry(key).or_insert(Yuan::ZERO);
                *entry = entry.checked_add(posting.signed_amount()).unwrap();
            }
        }
    }
    // 6000 × 8.5% = 510.00 employer + 6000 × 2% = 120.00 individual = 630.00 receivable
    assert_eq!(
        balances[&(region.clone(), Account::ContributionReceivable)],
        yuan("630.00")
    );
    // 6000 × 0.5% = 30.00 on the pooled fund's maternity line (credit balance)
    assert_eq!(
        balances[&(region.clone(), Account::BmiPooledMaternity)],
        yuan("-30.00")
    );
    let sum = balances
        .values()
        .try_fold(Yuan::ZERO, |sum, amount| sum.checked_add(*amount));
    assert_eq!(sum, Ok(Yuan::ZERO), "a region's accounts sum to zero");
}
