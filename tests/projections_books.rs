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
    );
    // The 2019-12-20 prenatal claim of 60.00 came out of the maternity fund (pre-merger).
    assert_eq!(
        report.lines.maternity_expenditure,
        Yuan::parse("test", "60.00").unwrap()
    );
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
