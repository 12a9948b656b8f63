//! Golden snapshots: each canonical scenario replayed through a fresh ledger, its region
//! report at each key date stored in `snapshots/golden-<region>-<date>.snap`. A rule
//! change, a fold change or a decision change that alters a figure shows up as a diff to
//! review. The figures are worked out in `src/domain/scenarios.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use fundledger::domain::scenarios::{Scenario, canonical};
use fundledger::projections::report::{BalanceLine, RegionReport, Risk, Statistics, region_report};
use fundledger::projections::{Books, MonthLines};
use serde::Serialize;
use support::ledger::{run, scenario, temp_ledger};

/// A region report without the log position: the position depends on how many genesis
/// events the whole rulebook makes, which every region's rule data changes; the figures do
/// not. The tests check the position separately.
#[derive(Debug, PartialEq, Eq, Serialize)]
struct Golden<'a> {
    region: &'a str,
    as_of: jiff::civil::Date,
    balances: &'a [BalanceLine],
    lines: &'a MonthLines,
    statistics: &'a Statistics,
    risk: &'a Risk,
}

impl<'a> Golden<'a> {
    fn of(report: &'a RegionReport) -> Golden<'a> {
        Golden {
            region: &report.region,
            as_of: report.as_of,
            balances: &report.balances,
            lines: &report.lines,
            statistics: &report.statistics,
            risk: &report.risk,
        }
    }
}

/// The scenario's reports at its report dates, read off the books at the log's head.
fn reports(books: &Books, scenario: &Scenario) -> Vec<RegionReport> {
    let rules = books.rulebook();
    scenario
        .report_dates
        .iter()
        .map(|as_of| region_report(books, &rules, &scenario.region, *as_of).unwrap())
        .collect()
}

/// Runs the region's scenario in a fresh ledger, checks that a rebuild gives the same
/// books, and checks every report against its snapshot.
fn check_golden(region: &str) {
    let scenario = scenario(region);
    let (_dir, ledger) = temp_ledger();
    run(&ledger, &scenario);
    let books = ledger.projector().current().unwrap();
    let head = ledger.log().head().position;
    assert_eq!(books.position(), head, "the books are at the log's head");
    assert!(
        books.region(&scenario.region).unwrap().net().is_zero(),
        "the region's postings sum to zero"
    );
    // A full rebuild folds exactly the books the incremental fold built.
    ledger.projector().rebuild(&mut |_| {}).unwrap();
    assert_eq!(*ledger.projector().current().unwrap(), *books);
    for report in reports(&books, &scenario) {
        assert_eq!(report.known_at_position, head);
        let name = format!("golden-{region}-{}", report.as_of);
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            description => scenario.title,
            omit_expression => true,
        }, {
            insta::assert_yaml_snapshot!(name, Golden::of(&report));
        });
    }
}

/// Chongqing's books at the merge eve, the first merged month, after the birth, and the
/// year end match their snapshots.
#[test]
fn chongqing_reports_match_the_golden_snapshots() {
    check_golden("chongqing");
}

/// Gansu (Lanzhou)'s books at 2019-08 (back-paid later), the clearance cutoff, the year
/// ends match their snapshots.
#[test]
fn gansu_lanzhou_reports_match_the_golden_snapshots() {
    check_golden("gansu-lanzhou");
}

/// Kizilsu's books at the clearance cutoff, the merge eve, before the interruption and the
/// year end match their snapshots.
#[test]
fn kizilsu_reports_match_the_golden_snapshots() {
    check_golden("kizilsu");
}

/// Tianjin's books before, at and after the 2024-05-22 maternity income item, and at the
/// year end, match their snapshots.
#[test]
fn tianjin_reports_match_the_golden_snapshots() {
    check_golden("tianjin");
}

/// Beijing's books in the first two merged months, after the birth and at the year end
/// match their snapshots.
#[test]
fn beijing_reports_match_the_golden_snapshots() {
    check_golden("beijing");
}

/// The five scenarios run in one ledger (as the demo does) give every region the same
/// figures as its scenario alone: the regions' books do not touch each other.
#[test]
fn all_scenarios_in_one_ledger_give_each_region_its_own_figures() {
    let scenarios = canonical();
    let (_dir, shared) = temp_ledger();
    for scenario in &scenarios {
        run(&shared, scenario);
    }
    let together = shared.projector().current().unwrap();
    for scenario in &scenarios {
        let (_dir, alone) = temp_ledger();
        run(&alone, scenario);
        let alone = alone.projector().current().unwrap();
        let expected = reports(&alone, scenario);
        let found = reports(&together, scenario);
        assert_eq!(expected.len(), found.len());
        for (expected, found) in expected.iter().zip(&found) {
            assert_eq!(
                Golden::of(expected),
                Golden::of(found),
                "{} as of {}",
                scenario.region,
                expected.as_of
            );
        }
    }
}

/// The events of every canonical scenario, run in one ledger, in log order.
fn scenario_events() -> Vec<fundledger::domain::Event> {
    let (_dir, ledger) = temp_ledger();
    let mut events = Vec::new();
    for scenario in canonical() {
        for step in &scenario.steps {
            let executed = support::ledger::execute(&ledger, step);
            events.extend(executed.events.into_iter().map(|(_, event)| event));
        }
    }
    events
}

fn yuan(text: &str) -> fundledger::domain::Yuan {
    fundledger::domain::Yuan::parse("test", text).unwrap()
}

/// The figures the reports do not show, carried by the scenarios' events: the clearance
/// reports, the transfers, the allowances, the stopped allowance, Beijing's bases and
/// Gansu's back-payment rules, each as worked out in `src/domain/scenarios.rs`.
#[test]
fn scenario_events_carry_the_worked_figures() {
    use fundledger::domain::event::Event;
    use fundledger::domain::{Account, BaseSource, Month};
    let events = scenario_events();
    let region_of = |event: &Event| event.region().as_str().to_owned();

    let cleared: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            Event::MaternityFundCleared(report) => Some(report),
            _ => None,
        })
        .collect();
    assert_eq!(
        cleared.len(),
        2,
        "Gansu (Lanzhou) and Kizilsu clear their maternity funds"
    );
    let lanzhou = cleared[0];
    assert_eq!(lanzhou.region.as_str(), "gansu-lanzhou");
    assert_eq!(lanzhou.income, yuan("126.00")); // 2019-10 63.00 + 2019-11 63.00
    assert_eq!(lanzhou.expenditure, yuan("20.00")); // the 2019-11-05 prenatal claim
    assert_eq!(lanzhou.balance, yuan("106.00")); // 126.00 − 20.00
    assert_eq!(lanzhou.receivables, yuan("873.00")); // 2019-11 assessed, collected 2019-12-25
    assert_eq!(lanzhou.pending_payables, yuan("20.00")); // the claim, granted, not paid out
    let kizilsu = cleared[1];
    assert_eq!(kizilsu.region.as_str(), "kizilsu");
    assert_eq!(kizilsu.income, yuan("75.00")); // 2019-09: 30.00 + 25.00 + 20.00
    assert_eq!(kizilsu.expenditure, yuan("60.00")); // the 2019-09-20 prenatal claim
    assert_eq!(kizilsu.balance, yuan("15.00")); // 75.00 − 60.00
    assert_eq!(kizilsu.receivables, yuan("1475.00")); // collected 2019-10-15, after the cutoff
    assert_eq!(kizilsu.pending_payables, yuan("60.00"));

    let transferred: Vec<(String, _)> = events
        .iter()
        .filter_map(|event| match event {
            Event::MaternityFundBalanceTransferred(transfer) => {
                Some((region_of(event), transfer.amount))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        transferred,
        vec![
            ("gansu-lanzhou".to_owned(), yuan("106.00")), // the verified balance
            ("kizilsu".to_owned(), yuan("90.00")),        // 15.00 + 2019-12's 75.00
        ]
    );

    let allowances: Vec<(String, u32, _)> = events
        .iter()
        .filter_map(|event| match event {
            Event::AllowanceGranted(granted) => Some((
                region_of(event),
                granted.days.allowance_days,
                granted.amount,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        allowances,
        vec![
            ("chongqing".to_owned(), 128, yuan("30720.00")), // 7200 × (98 + 30) / 30
            ("gansu-lanzhou".to_owned(), 178, yuan("32633.33")), // 5500 × (98 + 80) / 30 = 32633.333…
            ("kizilsu".to_owned(), 158, yuan("33180.00")),       // 6300 × (98 + 60) / 30
            ("tianjin".to_owned(), 158, yuan("44766.67")), // 8500 × (98 + 60) / 30 = 44766.666…
            ("beijing".to_owned(), 158, yuan("63200.00")), // 12000 × (98 + 15 + 15 + 30) / 30
        ]
    );

    let stopped = events
        .iter()
        .find_map(|event| match event {
            Event::AllowanceStopped(stopped) => Some(stopped),
            _ => None,
        })
        .unwrap();
    assert_eq!(stopped.days_paid, 60); // 2020-02-10 .. 2020-04-09: 19 + 31 + 10 days
    assert_eq!(stopped.days_stopped, 98); // 158 − 60
    assert_eq!(stopped.amount_withdrawn, yuan("20580.00")); // 33180.00 − 6300 × 60 / 30

    let beijing_january = events
        .iter()
        .find_map(|event| match event {
            Event::ContributionAssessed(chunk)
                if chunk.region.as_str() == "beijing"
                    && chunk.month
                        == (Month {
                            year: 2020,
                            month: 1,
                        }) =>
            {
                Some(chunk)
            }
            _ => None,
        })
        .unwrap();
    let bases: Vec<(&str, _, BaseSource, _)> = beijing_january
        .lines
        .iter()
        .map(|line| {
            (
                line.person.as_str(),
                line.base,
                line.base_source,
                line.amounts.total,
            )
        })
        .collect();
    assert_eq!(
        bases,
        vec![
            ("bj-wei", yuan("5360"), BaseSource::Floor, yuan("689.08")), // 4000 raised to the floor
            ("bj-feng", yuan("25401"), BaseSource::Cap, yuan("3254.33")), // 30000 lowered to the cap
            ("bj-gao", yuan("8467"), BaseSource::Default, yuan("1086.78")), // wage unknown
            ("bj-he", yuan("8467"), BaseSource::Default, yuan("3.00")), // retiree: mutual aid only
        ]
    );
    assert_eq!(beijing_january.totals.total, yuan("5033.19"));
    assert_eq!(beijing_january.totals.mutual_aid_employer, yuan("392.28")); // 53.60 + 254.01 + 84.67

    let back_paid = events
        .iter()
        .find_map(|event| match event {
            Event::ContributionBackPaid(back_paid) => Some(back_paid),
            _ => None,
        })
        .unwrap();
    assert_eq!(back_paid.chunk.employer.as_str(), "lz-firm");
    assert_eq!(
        back_paid.chunk.month,
        Month {
            year: 2019,
            month: 8
        }
    );
    assert_eq!(back_paid.booked_on, jiff::civil::date(2020, 3, 15));
    assert_eq!(back_paid.chunk.totals.total, yuan("873.00")); // 485.00 + 388.00
    assert_eq!(
        back_paid.chunk.maternity_destination,
        Account::BmiPooledMaternity // the maternity fund closed on 2019-12-20
    );
    let rate = back_paid
        .chunk
        .rules
        .iter()
        .find(|rule| rule.parameter == "employer_bmi_rate")
        .unwrap();
    // 2019's rate, the arrears month's, not the booking date's.
    assert_eq!(
        (rate.value.as_str(), rate.effective_from),
        ("0.07", jiff::civil::date(2019, 1, 1))
    );
}
