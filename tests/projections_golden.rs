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
        .map(|as_of| region_report(books, &rules, &scenario.region, *as_of))
        .collect()
}

/// Runs the region's scenario in a fresh ledger and checks every report against its
/// snapshot.
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
