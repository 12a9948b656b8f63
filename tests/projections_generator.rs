//! The scale generator: a deterministic region history written through the real command
//! path, whose books show exactly what the generator expected.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use fundledger::domain::scenarios::{ScaleConfig, ScaleGenerator, ScaleTotals, Step};
use fundledger::domain::{Month, RegionId, Rulebook, Yuan};
use fundledger::projections::Ledger;
use fundledger::projections::report::region_report;
use fundledger::projections::stored;
use support::ledger::{execute, temp_ledger};

/// Every step of a generator: setup, then month by month.
fn generate(config: &ScaleConfig, rules: &Rulebook) -> (Vec<Step>, ScaleTotals) {
    let mut generator = ScaleGenerator::new(config.clone(), rules);
    let mut steps = generator.setup();
    while let Some(month) = generator.next_month().unwrap() {
        steps.extend(month);
    }
    (steps, generator.totals())
}

/// Counts the events of each type in the log.
fn count(ledger: &Ledger, event_type: &str) -> u32 {
    let head = ledger.log().head().position;
    let mut found = 0;
    for envelope in ledger.log().read_range(1, head) {
        let envelope = envelope.unwrap();
        if stored::from_envelope(&envelope).unwrap().event_type() == event_type {
            found += 1;
        }
    }
    found
}

fn balance(books: &fundledger::projections::Books, region: &RegionId, account: &str) -> Yuan {
    let report = region_report(
        books,
        &books.rulebook(),
        region,
        jiff::civil::date(2099, 12, 31),
    )
    .unwrap();
    report
        .balances
        .iter()
        .find(|line| line.account == account)
        .unwrap()
        .balance
}

fn run_and_check(config: &ScaleConfig) -> ScaleTotals {
    let rules = Rulebook::shipped().unwrap();
    let (steps, totals) = generate(config, &rules);
    let (again, _) = generate(config, &rules);
    assert_eq!(steps, again, "the same seed gives the same history");

    let (_dir, ledger) = temp_ledger();
    for step in &steps {
        execute(&ledger, step);
    }
    let books = ledger.projector().current().unwrap();
    let region = &config.region;
    // Receivable = assessed − collected; bank = collected + back-paid (paid at once).
    assert_eq!(
        balance(&books, region, "contribution_receivable"),
        totals.assessed.checked_sub(totals.collected).unwrap()
    );
    assert_eq!(
        balance(&books, region, "fund_bank"),
        totals.collected.checked_add(totals.back_paid).unwrap()
    );
    let report = region_report(
        &books,
        &books.rulebook(),
        region,
        jiff::civil::date(2099, 12, 31),
    )
    .unwrap();
    // Each birth: one allowance, a prenatal and a delivery claim.
    assert_eq!(
        report.statistics.allowance_person_times,
        u64::from(totals.births)
    );
    assert_eq!(
        report.statistics.maternity_medical_person_times,
        2 * u64::from(totals.births)
    );
    assert_eq!(count(&ledger, "EnrollmentSuspended"), totals.interruptions);
    assert!(count(&ledger, "ContributionBackPaid") > 0);
    assert!(books.region(region).unwrap().net().is_zero());

    // A full rebuild folds the same books as the incremental fold.
    ledger.projector().rebuild(&mut |_| {}).unwrap();
    assert_eq!(*ledger.projector().current().unwrap(), *books);
    totals
}

/// Kizilsu, 3 employers of 40 over 2019-10..2020-03 (across the merger), with high rates
/// so that every kind of event occurs: every generated command is accepted, and the books
/// show the generator's own totals.
#[test]
fn kizilsu_history_is_accepted_and_adds_up() {
    let config = ScaleConfig {
        births_per_million: 20_000,
        back_payments_per_million: 10_000,
        interruptions_per_million: 10_000,
        arrears_per_million: 100_000,
        roster_max: 25,
        ..ScaleConfig::realistic(
            7,
            RegionId::new("kizilsu"),
            3,
            40,
            Month {
                year: 2019,
                month: 10,
            },
            6,
        )
    };
    let totals = run_and_check(&config);
    assert!(totals.births > 0 && totals.interruptions > 0 && totals.back_paid_person_months > 0);
}

/// Beijing, July-to-June declaration years and a new declaration in January: every
/// generated command is accepted and the books add up.
#[test]
fn beijing_history_is_accepted_and_adds_up() {
    let config = ScaleConfig {
        births_per_million: 20_000,
        back_payments_per_million: 10_000,
        interruptions_per_million: 10_000,
        ..ScaleConfig::realistic(
            11,
            RegionId::new("beijing"),
            2,
            30,
            Month {
                year: 2020,
                month: 10,
            },
            8,
        )
    };
    let totals = run_and_check(&config);
    assert!(totals.births > 0);
}
