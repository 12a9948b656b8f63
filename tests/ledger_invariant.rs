//! The command path's invariant (issue 19, point 1), below the API edge's checks: a
//! command is acknowledged only if each event it appends reads back through the stored
//! codec and folds into the books. Commands built with values the edge would refuse — any
//! date jiff can hold, any two-decimal amount up to the decimal range — are either refused
//! with nothing appended, or acknowledged and then read back, folded and reopened cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use fundledger::domain::command::{Enroll, PayAllowance, RegisterEmployer};
use fundledger::domain::{
    Birth, BirthId, Command, Delivery, EmployerCategory, EmployerId, PersonId, PersonKind,
    RegionId, Yuan,
};
use fundledger::projections::{ExecuteError, Ledger, TrialError};
use jiff::civil::Date;
use proptest::prelude::*;
use rust_decimal::Decimal;
use support::ledger::{meta, open_ledger};

/// Any date jiff holds, weighted to the edges: negative years, year 0, year 9999.
fn any_date() -> impl Strategy<Value = Date> {
    prop_oneof![
        Just(Date::MIN),
        Just(Date::MAX),
        Just(jiff::civil::date(-1, 6, 1)),
        Just(jiff::civil::date(0, 1, 1)),
        Just(jiff::civil::date(2019, 6, 1)),
        (-9999..=9999i16, 1..=12i8, 1..=28i8)
            .prop_map(|(year, month, day)| jiff::civil::date(year, month, day)),
    ]
}

/// Any amount with at most two decimals, weighted to the top of the decimal range.
fn any_amount() -> impl Strategy<Value = Yuan> {
    prop_oneof![
        Just(Decimal::MAX),
        Just(Decimal::from_i128_with_scale(6 * 10_i128.pow(26), 0)),
        (0..=u32::MAX, 0..=u32::MAX, 0..=u32::MAX, 0..=2u32)
            .prop_map(|(lo, mid, hi, scale)| Decimal::from_parts(lo, mid, hi, false, scale)),
        (0..100_000_000i64).prop_map(|fen| Decimal::new(fen, 2)),
    ]
    .prop_map(Yuan::from_decimal)
}

fn execute(ledger: &Ledger, id: &str, command: Command) -> Result<usize, ExecuteError> {
    ledger
        .execute(&command, &meta(id, &command))
        .map(|executed| executed.events.len())
}

/// What a refusal of an unreadable or unfoldable command must be: one of the invariant's
/// own refusals, or a domain rejection (its checked arithmetic overflowing first).
fn refused_cleanly(error: &ExecuteError) -> bool {
    matches!(
        error,
        ExecuteError::Unreadable { .. }
            | ExecuteError::Unfoldable(TrialError::Fold(_))
            | ExecuteError::Rejected(_)
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        rng_seed: proptest::test_runner::RngSeed::Fixed(19),
        ..ProptestConfig::default()
    })]

    /// An employer registered on any date with any wage, a mother enrolled, and allowances
    /// for up to 40 of her births (each 200 days apart, so each is a birth of its own):
    /// every command is refused with nothing appended, or acknowledged; afterwards the log
    /// reopens, every event reads back, and the books fold without damage.
    #[test]
    fn an_acknowledged_command_always_reads_back_and_folds(
        registered_on in any_date(),
        wage in any_amount(),
        births in 1..40usize,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = open_ledger(dir.path());
        let region = RegionId::new("chongqing");
        let employer = EmployerId::new("E1");
        let person = PersonId::new("P1");
        let attempt = |id: &str, command: Command| -> Result<(), TestCaseError> {
            let head = ledger.log().head().position;
            match execute(&ledger, id, command) {
                Ok(_) => {}
                Err(error) => {
                    prop_assert!(refused_cleanly(&error), "{id}: {error}");
                    prop_assert_eq!(ledger.log().head().position, head, "{} appended nothing", id);
                }
            }
            Ok(())
        };
        attempt("register", RegisterEmployer {
            employer: employer.clone(),
            region: region.clone(),
            category: EmployerCategory::Enterprise,
            name: "Acme".to_owned(),
            registered_on,
            average_monthly_wage: wage,
        }.into())?;
        attempt("enroll", Enroll {
            person: person.clone(),
            region: region.clone(),
            employer: Some(employer.clone()),
            kind: PersonKind::Employee,
            enrolled_on: jiff::civil::date(2019, 1, 2),
        }.into())?;
        for birth in 0..births {
            let date = jiff::civil::date(2020, 1, 1)
                .checked_add(jiff::Span::new().days(200 * i64::try_from(birth).unwrap()))
                .unwrap();
            attempt(&format!("allowance-{birth}"), PayAllowance {
                person: person.clone(),
                employer: employer.clone(),
                region: region.clone(),
                birth: Birth {
                    id: BirthId::new(format!("B{birth}")),
                    date,
                    delivery: Delivery::Vaginal,
                    difficult: false,
                    babies: 1,
                    miscarriage_months: None,
                },
                granted_on: date,
                override_reason: None,
            }.into())?;
        }
        let head = ledger.log().head().position;
        let log = std::sync::Arc::clone(ledger.log());
        drop(ledger);
        let events = log.read_range(1, head).count();
        prop_assert_eq!(events as u64, head);
        for envelope in log.read_range(1, head) {
            fundledger::projections::stored::from_envelope(&envelope.unwrap()).unwrap();
        }
        drop(log);
        let reopened = open_ledger(dir.path());
        let books = reopened.projector().current().unwrap();
        prop_assert_eq!(books.position(), head);
        prop_assert!(books.damaged().is_empty(), "{:?}", books.damaged());
    }
}

/// The issue's own example, below the edge: a date of year −1 does not read back from the
/// log (the envelope's date number cannot hold it), so the command is refused naming the
/// event, and nothing is appended.
#[test]
fn a_date_the_log_cannot_read_back_is_refused_before_it_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(dir.path());
    let head = ledger.log().head().position;
    let error = execute(
        &ledger,
        "year-minus-one",
        RegisterEmployer {
            employer: EmployerId::new("E1"),
            region: RegionId::new("chongqing"),
            category: EmployerCategory::Enterprise,
            name: "Acme".to_owned(),
            registered_on: jiff::civil::date(-1, 6, 1),
            average_monthly_wage: Yuan::parse("wage", "6000.00").unwrap(),
        }
        .into(),
    )
    .unwrap_err();
    assert!(
        matches!(&error, ExecuteError::Unreadable { event_type, .. } if event_type == "EmployerRegistered"),
        "{error}"
    );
    assert_eq!(ledger.log().head().position, head);
}
