//! Regressions of the books fold found while building the golden scenarios.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use fundledger::domain::{RegionId, Yuan};
use fundledger::projections::report::region_report;
use jiff::civil::date;
use support::ledger::{execute, scenario, temp_ledger};

/// Regression: the books never kept the region and rule events, so `Books::rulebook()` was
/// empty and the ledger refused every command ("tianjin is not a pooling region"). The
/// books of a fresh ledger now carry the whole genesis rulebook.
#[test]
fn books_carry_the_rulebook_as_known_at_their_position() {
    let (_dir, ledger) = temp_ledger();
    let books = ledger.projector().current().unwrap();
    // A fresh ledger holds only genesis: one event per region definition and rule value.
    assert_eq!(
        books.rule_event_count() as u64,
        ledger.log().head().position
    );
    let rules = books.rulebook();
    let maternity = rules
        .find(
            &RegionId::new("beijing"),
            "maternity_rate",
            date(2020, 1, 1),
        )
        .unwrap();
    assert_eq!(maternity.value, "0.008"); // Beijing 9.8% = 9% BMI + 0.8% maternity
    let cutoff = rules
        .find(
            &RegionId::new("gansu-lanzhou"),
            "clearance_cutoff",
            date(2019, 12, 5),
        )
        .unwrap();
    assert_eq!(cutoff.value, "2019-11-30"); // set on the province, found from the prefecture
}

/// Regression: a claim paid from the maternity fund moves no BMI account; its BMI
/// expenditure was the negation of zero and rendered as "-0" in reports.
#[test]
fn a_claim_paid_by_the_maternity_fund_adds_a_plain_zero_to_bmi_expenditure() {
    let chongqing = scenario("chongqing");
    let (_dir, ledger) = temp_ledger();
    for step in chongqing
        .steps
        .iter()
        .take_while(|step| !step.command_id.contains("declare-2020"))
    {
        execute(&ledger, step);
    }
    let books = ledger.projector().current().unwrap();
    let report = region_report(
        &books,
        &books.rulebook(),
        &RegionId::new("chongqing"),
        date(2019, 12, 31),
    )
    .unwrap();
    // The 2019-12-20 prenatal claim of 60.00 came out of the maternity fund (pre-merger):
    // the maternity fund's own line, not the BMI fund's "of which maternity".
    assert_eq!(
        report.lines.maternity_fund_expenditure,
        Yuan::parse("test", "60.00").unwrap()
    );
    assert!(report.lines.maternity_expenditure.is_zero());
    assert!(report.lines.bmi_expenditure.is_zero());
    assert!(
        !report.lines.bmi_expenditure.decimal().is_sign_negative(),
        "zero, not minus zero"
    );
}

/// The maternity income item is classified when read, by the rulebook as known at the
/// books' position: a retroactive amendment of the rule (Tianjin's item from 2024-04-01,
/// recorded in August) shows in the figures as known now, not as known before it.
#[test]
fn a_retroactive_income_item_amendment_reclassifies_as_known_now() {
    use fundledger::domain::command::amend_rule::AmendRule;
    use fundledger::domain::scenarios::Step;
    use fundledger::domain::{Command, Confidence};

    let (_dir, ledger) = temp_ledger();
    support::ledger::run(&ledger, &scenario("tianjin"));
    let tianjin = RegionId::new("tianjin");
    let item = |position: u64| {
        let books = ledger.projector().as_known(position).unwrap();
        region_report(&books, &books.rulebook(), &tianjin, date(2024, 6, 30))
            .unwrap()
            .lines
            .maternity_income_item
    };
    let before = ledger.log().head().position;
    // 2024-05 and 2024-06 show 90.00 each (in force on the months' last days).
    assert_eq!(item(before), Yuan::parse("t", "180.00").unwrap());
    let amendment: Command = AmendRule {
        region: tianjin.clone(),
        parameter: "maternity_income_item".to_owned(),
        value: "true".to_owned(),
        effective_from: date(2024, 4, 1),
        authority: "天津市医疗保障局".to_owned(),
        document: "test: the item from April".to_owned(),
        tag: Confidence::Assumption,
        recorded_on: date(2024, 8, 1),
        reassess: Vec::new(),
    }
    .into();
    execute(
        &ledger,
        &Step {
            command_id: "amend-income-item".to_owned(),
            command: amendment,
        },
    );
    // Now 2024-04 shows its 90.00 too: 3 × 90.00 = 270.00; as known before, still 180.00.
    assert_eq!(item(u64::MAX), Yuan::parse("t", "270.00").unwrap());
    assert_eq!(item(before), Yuan::parse("t", "180.00").unwrap());
}

/// A terminated enrollment counts the person out of each insurance it carried, from the
/// termination date on; before that date the person is still counted.
#[test]
fn a_termination_lowers_the_insured_counts() {
    use fundledger::domain::command::enroll::Enroll;
    use fundledger::domain::command::register_employer::RegisterEmployer;
    use fundledger::domain::command::terminate::TerminateEnrollment;
    use fundledger::domain::scenarios::Step;
    use fundledger::domain::{Command, EmployerCategory, EmployerId, PersonId, PersonKind};

    let (_dir, ledger) = temp_ledger();
    let beijing = RegionId::new("beijing");
    let steps: Vec<Command> = vec![
        RegisterEmployer {
            employer: EmployerId::new("bj-1"),
            region: beijing.clone(),
            category: EmployerCategory::Enterprise,
            name: "北京一号".to_owned(),
            registered_on: date(2020, 1, 1),
            average_monthly_wage: Yuan::parse("wage", "9000").unwrap(),
        }
        .into(),
        Enroll {
            person: PersonId::new("wu"),
            region: beijing.clone(),
            employer: Some(EmployerId::new("bj-1")),
            kind: PersonKind::Employee,
            enrolled_on: date(2020, 2, 1),
        }
        .into(),
        TerminateEnrollment {
            person: PersonId::new("wu"),
            on: date(2020, 6, 1),
            reason: "离职".to_owned(),
        }
        .into(),
    ];
    for (index, command) in steps.into_iter().enumerate() {
        execute(
            &ledger,
            &Step {
                command_id: format!("step-{index}"),
                command,
            },
        );
    }
    let books = ledger.projector().current().unwrap();
    let insured = |on| {
        let statistics = region_report(&books, &books.rulebook(), &beijing, on)
            .unwrap()
            .statistics;
        (statistics.insured_bmi, statistics.insured_maternity)
    };
    assert_eq!(insured(date(2020, 5, 31)), (1, 1)); // an employee carries both
    assert_eq!(insured(date(2020, 6, 1)), (0, 0)); // terminated on 2020-06-01
}

/// The books' view of stored events (contribution chunks without their lines, totals and
/// rules; enrollments and status changes without their persons, employers and texts, which
/// it steps over) folds every canonical scenario to the same books as the full decode; and
/// it does step over them, so its schema-1 variant indices are right.
#[test]
fn the_books_view_of_stored_events_folds_as_the_full_decode() {
    use fundledger::domain::Event;
    use fundledger::projections::Books;
    use fundledger::projections::stored;

    let (_dir, ledger) = temp_ledger();
    for scenario in fundledger::domain::scenarios::canonical() {
        support::ledger::run(&ledger, &scenario);
    }
    let head = ledger.log().head().position;
    let mut full = Books::default();
    let mut viewed = Books::default();
    let mut stepped_over = std::collections::BTreeSet::new();
    ledger
        .log()
        .scan_range::<fundledger::log::Error>(1, head, &mut |stored_event| {
            let decoded = stored::from_event_ref(&stored_event).unwrap();
            let view = stored::for_books(&stored_event).unwrap();
            assert_eq!(view.event_type(), decoded.event_type());
            assert_eq!(view.region(), decoded.region());
            assert_eq!(view.business_date(), decoded.business_date());
            assert_eq!(view.transaction(), decoded.transaction());
            full.apply(stored_event.position, &decoded).unwrap();
            viewed.apply(stored_event.position, &view).unwrap();
            match (&view, &decoded) {
                (
                    Event::ContributionAssessed(chunk)
                    | Event::ContributionBackPaid(fundledger::domain::event::ContributionBackPaid {
                        chunk,
                        ..
                    }),
                    _,
                ) => assert!(chunk.lines.is_empty() && chunk.rules.is_empty()),
                (Event::PersonEnrolled(view), Event::PersonEnrolled(decoded)) => {
                    assert_eq!(view.insurance, decoded.insurance);
                    assert_eq!(view.kind, decoded.kind);
                    assert!(view.person.as_str().is_empty() && view.employer.is_none());
                }
                (Event::PersonMigrated(view), Event::PersonMigrated(decoded)) => {
                    assert_eq!((&view.held, &view.added), (&decoded.held, &decoded.added));
                    assert!(view.person.as_str().is_empty() && view.added_by.is_empty());
                }
                (
                    Event::EnrollmentSuspended(view)
                    | Event::EnrollmentResumed(view)
                    | Event::EnrollmentTerminated(view),
                    Event::EnrollmentSuspended(decoded)
                    | Event::EnrollmentResumed(decoded)
                    | Event::EnrollmentTerminated(decoded),
                ) => {
                    assert_eq!(view.insurance, decoded.insurance);
                    assert!(view.person.as_str().is_empty() && view.reason.is_empty());
                }
                _ => {
                    assert_eq!(view, decoded);
                    return Ok(());
                }
            }
            stepped_over.insert(view.event_type());
            Ok(())
        })
        .unwrap();
    assert_eq!(
        stepped_over.into_iter().collect::<Vec<_>>(),
        [
            "ContributionAssessed",
            "ContributionBackPaid",
            "EnrollmentSuspended",
            "PersonEnrolled",
            "PersonMigrated",
        ],
        "the scenarios enroll, migrate and suspend persons, and assess and back-pay \
         contributions (a termination is folded by the test above)"
    );
    assert_eq!(viewed, full);
    assert_eq!(full.position(), head);
}

/// Every enrollment-kind event the books view steps over, resumed and terminated included
/// (which the canonical scenarios do not hold), reads back with what the books read and
/// nothing else: its variant, region, business date, kind and insurance types.
#[test]
fn the_books_view_reads_each_enrollment_kind_back() {
    use fundledger::domain::event::{EnrollmentStatusChanged, PersonEnrolled, PersonMigrated};
    use fundledger::domain::party::PersonKind;
    use fundledger::domain::{EmployerId, Event, InsuranceType, PersonId, RegionId};
    use fundledger::log::EventRef;
    use fundledger::projections::stored;

    let region = RegionId::new("beijing");
    let person = PersonId::new("p-1");
    let both = vec![InsuranceType::BasicMedical, InsuranceType::Maternity];
    let changed = EnrollmentStatusChanged {
        person: person.clone(),
        region: region.clone(),
        on: date(2021, 3, 1),
        reason: "moved away".to_owned(),
        insurance: both.clone(),
    };
    let blank_change = EnrollmentStatusChanged {
        person: PersonId::new(""),
        reason: String::new(),
        ..changed.clone()
    };
    let enrolled = PersonEnrolled {
        person: person.clone(),
        region: region.clone(),
        employer: Some(EmployerId::new("e-1")),
        kind: PersonKind::FlexibleWorker,
        enrolled_on: date(2020, 1, 6),
        insurance: vec![InsuranceType::BasicMedical],
    };
    let migrated = PersonMigrated {
        person,
        region,
        employer: EmployerId::new("e-1"),
        held: vec![InsuranceType::BasicMedical],
        added: vec![InsuranceType::Maternity],
        added_by: "agency".to_owned(),
        migrated_on: date(2019, 9, 1),
        insured_since: date(2018, 1, 2),
    };
    let cases = [
        (
            Event::PersonEnrolled(enrolled.clone()),
            Event::PersonEnrolled(PersonEnrolled {
                person: PersonId::new(""),
                employer: None,
                ..enrolled
            }),
        ),
        (
            Event::PersonMigrated(migrated.clone()),
            Event::PersonMigrated(PersonMigrated {
                person: PersonId::new(""),
                employer: EmployerId::new(""),
                added_by: String::new(),
                insured_since: migrated.migrated_on,
                ..migrated
            }),
        ),
        (
            Event::EnrollmentSuspended(changed.clone()),
            Event::EnrollmentSuspended(blank_change.clone()),
        ),
        (
            Event::EnrollmentResumed(changed.clone()),
            Event::EnrollmentResumed(blank_change.clone()),
        ),
        (
            Event::EnrollmentTerminated(changed),
            Event::EnrollmentTerminated(blank_change),
        ),
    ];
    for (position, (event, expected)) in (1..).zip(cases) {
        let stored_event = stored::to_new_event(&event).unwrap();
        let view = stored::for_books(&EventRef {
            position,
            stream_id: &stored_event.stream_id,
            event_type: &stored_event.event_type,
            schema_version: stored_event.schema_version,
            business_date: stored_event.business_date,
            payload: &stored_event.payload,
        })
        .unwrap();
        assert_eq!(view, expected, "{}", event.event_type());
    }
}

/// Regression (issue 13, point 5): "of which maternity" (其中：生育保险支出) counted the old
/// maternity fund's spending too, so Kizilsu showed 14,460.00 of which maternity against
/// 14,400.00 of BMI expenditure. In every canonical scenario, every month and the report's
/// cumulative lines, "of which maternity" is now at most BMI expenditure, and what the
/// maternity fund paid is its own line.
#[test]
fn of_which_maternity_never_exceeds_bmi_expenditure() {
    use fundledger::domain::Month;
    use fundledger::domain::scenarios::canonical;
    let mut fund_lines_seen = false;
    for scenario in canonical() {
        let (_dir, ledger) = temp_ledger();
        support::ledger::run(&ledger, &scenario);
        let books = ledger.projector().current().unwrap();
        let region = &scenario.region;
        let region_books = books.region(region).unwrap();
        let first = Month::new(1900, 1).unwrap();
        let last = Month::new(2199, 12).unwrap();
        for (month, lines) in region_books.months(first, last) {
            assert!(
                lines.maternity_expenditure <= lines.bmi_expenditure,
                "{region} {month}: of which maternity {} > BMI expenditure {}",
                lines.maternity_expenditure,
                lines.bmi_expenditure
            );
            fund_lines_seen |= !lines.maternity_fund_expenditure.is_zero();
        }
        let report = region_report(&books, &books.rulebook(), region, date(2030, 12, 31)).unwrap();
        assert!(
            report.lines.maternity_expenditure <= report.lines.bmi_expenditure,
            "{region}: {:?}",
            report.lines
        );
    }
    assert!(
        fund_lines_seen,
        "some scenario pays from the maternity fund"
    );
}
