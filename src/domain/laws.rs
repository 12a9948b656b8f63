//! Laws of the domain, checked with proptest: contribution lines add up to their totals
//! and are never negative; postings balance and every region's ledger sums to zero over
//! any history of decisions; amounts are never negative except in refunds; rule lookup
//! returns the value whose `effective_from` is the latest not after the date; every
//! event survives a bincode round trip (the log stores them as opaque bytes).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::benefit::{ClaimKind, Delivery, HospitalLevel};
use super::command::{
    CloseMaternityFund, Command, ResumeEnrollment, SettleClearance, SettleMedicalClaim,
    TransferMaternityBalance,
};
use super::contribution::{ContributionRules, lines_transaction};
use super::event::{AdjustmentKind, Event};
use super::ids::{ClaimId, PregnancyId};
use super::ids::{Month, PersonId, RegionId};
use super::money::{Yuan, round_fen};
use super::party::{EmployerCategory, PersonKind};
use super::posting::Account;
use super::rulebook::{Confidence, RegionDefinition, RuleValue, Rulebook};
use super::testing::*;

const REGIONS: [&str; 6] = [
    "beijing",
    "chongqing",
    "gansu-lanzhou",
    "gansu-tianshui",
    "kizilsu",
    "tianjin",
];
const CATEGORIES: [EmployerCategory; 7] = [
    EmployerCategory::Agency,
    EmployerCategory::Institution,
    EmployerCategory::SelfFundedInstitution,
    EmployerCategory::Enterprise,
    EmployerCategory::IndividualBusiness,
    EmployerCategory::PrivateNonEnterprise,
    EmployerCategory::SocialOrganisation,
];
const KINDS: [PersonKind; 3] = [
    PersonKind::Employee,
    PersonKind::EarlyRetiree,
    PersonKind::Retiree,
];

fn fen(amount: i64) -> Yuan {
    Yuan::from_decimal(Decimal::new(amount, 2))
}

proptest! {
    /// Any region, month, category, kind and wage: the line adds up (BMI = total −
    /// maternity, pooled = BMI − personal account, total = sum of parts), nothing is
    /// negative, and its transaction balances with the receivable debited by the total.
    #[test]
    fn contribution_lines_add_up_and_are_never_negative(
        region_index in 0..REGIONS.len(),
        category_index in 0..CATEGORIES.len(),
        kind_index in 0..KINDS.len(),
        year in 2020i16..=2025,
        month_of_year in 1i8..=12,
        wage in proptest::option::of(0i64..=20_000_000),
    ) {
        let rules = Rulebook::shipped().unwrap();
        let region = RegionId::new(REGIONS[region_index]);
        let at = Month { year, month: month_of_year };
        let contribution =
            ContributionRules::in_force(&rules, &region, CATEGORIES[category_index], at).unwrap();
        let line = contribution
            .line(&PersonId::new("p"), KINDS[kind_index], wage.map(fen))
            .unwrap();
        prop_assert!(line.amounts.adds_up(), "lines add up: {:?}", line.amounts);
        prop_assert!(line.amounts.is_non_negative(), "never negative: {:?}", line.amounts);
        if !line.amounts.total.is_zero() {
            let destination = Account::BmiPooledMaternity;
            let (totals, transaction) =
                lines_transaction(&region, std::slice::from_ref(&line), destination, Account::ContributionReceivable)
                    .unwrap();
            prop_assert_eq!(totals.total, line.amounts.total);
            prop_assert_eq!(transaction.net(Account::ContributionReceivable).unwrap(), line.amounts.total);
        }
    }

    /// Rounding: within half a fen of the exact value, and symmetric around zero.
    #[test]
    fn rounding_is_within_half_a_fen_and_symmetric(mantissa in -10_000_000_000i64..10_000_000_000, scale in 0u32..=6) {
        let exact = Decimal::new(mantissa, scale);
        let rounded = round_fen(exact);
        prop_assert!((rounded.decimal() - exact).abs() <= Decimal::new(5, 3));
        prop_assert_eq!(round_fen(-exact), rounded.negated());
    }

    /// Lookup on any date returns the value whose effective_from is the latest not after
    /// that date, or a typed miss when every value starts later.
    #[test]
    fn rule_lookup_takes_the_latest_value_not_after_the_date(
        entries in proptest::collection::vec((0i32..4000, 0u32..1000), 1..12),
        query in 0i32..4000,
    ) {
        let origin = day(2015, 1, 1);
        let region = RegionId::new("test");
        let mut rules = Rulebook::empty();
        rules.define_region(RegionDefinition { id: region.clone(), name: "测试".into(), parent: None });
        for (offset, value) in &entries {
            rules.set(region.clone(), "national_leave_days".into(), RuleValue {
                value: value.to_string(),
                effective_from: origin.checked_add(jiff::Span::new().days(*offset)).unwrap(),
                authority: "test".into(),
                document: "test".into(),
                tag: Confidence::Assumption,
            });
        }
        let date = origin.checked_add(jiff::Span::new().days(query)).unwrap();
        // Brute force: the last entry (later entries replace equal dates) with the
        // greatest offset not after the query.
        let expected = entries
            .iter()
            .enumerate()
            .filter(|(_, (offset, _))| *offset <= query)
            .max_by_key(|(index, (offset, _))| (*offset, *index))
            .map(|(_, (_, value))| *value);
        let found = rules.count(&region, "national_leave_days", date).ok().map(|(value, _)| value);
        prop_assert_eq!(found, expected);
    }
}

/// One step of a random history on the Gansu (兰州) scenario.
#[derive(Debug, Clone)]
enum Step {
    Assess {
        month: usize,
        persons: Vec<bool>,
    },
    Collect {
        month: usize,
        per_mille: i64,
    },
    BackPay {
        month: usize,
        person: usize,
    },
    Prenatal {
        amount: i64,
        month: usize,
    },
    Amend {
        rate_per_mille: i64,
        month: usize,
        parameter: bool,
    },
    Correct {
        wage: i64,
    },
    Allowance {
        person: usize,
        month: usize,
    },
    Merge {
        step: usize,
    },
    Suspend {
        person: usize,
        month: usize,
        resume: bool,
    },
    StopBenefitsOnInterruption,
    Delivery {
        amount: i64,
        month: usize,
        caesarean: bool,
    },
}

const PEOPLE: [&str; 3] = ["ma", "zhang", "liu"];

fn month_at(index: usize) -> Month {
    // 2019-06 .. 2020-05
    let zero_based = 5 + index as i32;
    Month {
        year: 2019 + (zero_based / 12) as i16,
        month: (zero_based % 12) as i8 + 1,
    }
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0usize..12, proptest::collection::vec(any::<bool>(), 3))
            .prop_map(|(month, persons)| Step::Assess { month, persons }),
        (0usize..12, 1i64..=1000).prop_map(|(month, per_mille)| Step::Collect { month, per_mille }),
        (0usize..12, 0usize..3).prop_map(|(month, person)| Step::BackPay { month, person }),
        (1i64..200_000, 0usize..12).prop_map(|(amount, month)| Step::Prenatal { amount, month }),
        (40i64..=110, 0usize..12, any::<bool>()).prop_map(|(rate_per_mille, month, parameter)| {
            Step::Amend {
                rate_per_mille,
                month,
                parameter,
            }
        }),
        (100_000i64..3_000_000).prop_map(|wage| Step::Correct { wage }),
        (0usize..3, 0usize..12).prop_map(|(person, month)| Step::Allowance { person, month }),
        (0usize..3).prop_map(|step| Step::Merge { step }),
        (0usize..3, 0usize..12, any::<bool>()).prop_map(|(person, month, resume)| Step::Suspend {
            person,
            month,
            resume
        }),
        Just(Step::StopBenefitsOnInterruption),
        (1i64..800_000, 0usize..12, any::<bool>()).prop_map(|(amount, month, caesarean)| {
            Step::Delivery {
                amount,
                month,
                caesarean,
            }
        }),
    ]
}

fn command_of(step: &Step, index: usize, scenario: &Scenario) -> Command {
    let lanzhou = "gansu-lanzhou";
    match step {
        Step::Assess { month, persons } => {
            let roster: Vec<&str> = PEOPLE
                .iter()
                .zip(persons)
                .filter(|(_, on)| **on)
                .map(|(id, _)| *id)
                .collect();
            let at = month_at(*month);
            assess("lz-firm", lanzhou, at, &roster, at.first_day())
        }
        Step::Collect { month, per_mille } => {
            // A share of the arrears of a month that has some (picked by `month`), so
            // that most collections are accepted.
            let months = &scenario.state.employers[&employer("lz-firm")].months;
            let owing: Vec<(Month, Yuan)> = months
                .iter()
                .map(|(at, account)| (*at, account.arrears()))
                .filter(|(_, arrears)| !arrears.is_zero() && !arrears.is_negative())
                .collect();
            let (at, arrears) = owing
                .get(month % owing.len().max(1))
                .copied()
                .unwrap_or((month_at(*month), Yuan::ZERO));
            let share = arrears.decimal() * Decimal::new(*per_mille, 3);
            let amount = if share > Decimal::ZERO {
                round_fen(share)
            } else {
                fen(*per_mille)
            };
            collect("lz-firm", at, &amount.to_string(), at.last_day())
        }
        Step::BackPay { month, person } => {
            let at = month_at(*month);
            back_pay("lz-firm", lanzhou, at, &[PEOPLE[*person]], day(2020, 7, 1))
        }
        Step::Prenatal { amount, month } => {
            let at = month_at(*month);
            prenatal(
                &format!("claim-{index}"),
                "ma",
                lanzhou,
                &fen(*amount).to_string(),
                at.first_day(),
            )
        }
        Step::Amend {
            rate_per_mille,
            month,
            parameter,
        } => {
            let name = if *parameter {
                "employer_bmi_rate"
            } else {
                "maternity_rate"
            };
            let value = Decimal::new(*rate_per_mille, if *parameter { 3 } else { 4 });
            let from = month_at(*month).first_day();
            amend(
                lanzhou,
                name,
                &value.to_string(),
                from,
                day(2020, 6, 1),
                &["lz-firm"],
            )
        }
        Step::Correct { wage } => declare(
            "lz-firm",
            lanzhou,
            2020,
            &[("ma", Some(&fen(*wage).to_string()))],
            None,
            day(2020, 6, 15),
        ),
        Step::Allowance { person, month } => pay_allowance(
            PEOPLE[*person],
            "lz-firm",
            lanzhou,
            birth(
                &format!("birth-{index}"),
                month_at(*month).first_day(),
                index.is_multiple_of(2),
                1 + (index % 3) as u8,
            ),
            month_at(*month).last_day(),
        ),
        Step::Suspend {
            person: who,
            month,
            resume,
        } => {
            let on = month_at(*month).first_day();
            if *resume {
                ResumeEnrollment {
                    person: person(PEOPLE[*who]),
                    on,
                    reason: "law".into(),
                }
                .into()
            } else {
                suspend(PEOPLE[*who], lanzhou, on)
            }
        }
        Step::StopBenefitsOnInterruption => amend(
            lanzhou,
            "benefits_stop_on_interruption",
            "true",
            day(2019, 1, 1),
            day(2019, 1, 1),
            &[],
        ),
        Step::Delivery {
            amount,
            month,
            caesarean,
        } => SettleMedicalClaim {
            claim: ClaimId::new(format!("delivery-{index}")),
            person: person("liu"),
            region: region(lanzhou),
            institution: "law".into(),
            kind: ClaimKind::Delivery {
                pregnancy: PregnancyId::new(format!("liu-{index}")),
                delivery: if *caesarean {
                    Delivery::Caesarean
                } else {
                    Delivery::Vaginal
                },
                level: HospitalLevel::Secondary,
            },
            service_date: month_at(*month).first_day(),
            settled_on: month_at(*month).last_day(),
            actual: fen(*amount),
        }
        .into(),
        Step::Merge { step } => match step {
            0 => SettleClearance {
                region: region(lanzhou),
                cutoff: day(2019, 11, 30),
                settled_on: day(2019, 12, 5),
                verified_by: "law".into(),
            }
            .into(),
            1 => TransferMaternityBalance {
                region: region(lanzhou),
                transferred_on: day(2019, 12, 10),
            }
            .into(),
            _ => CloseMaternityFund {
                region: region(lanzhou),
                closed_on: day(2019, 12, 20),
            }
            .into(),
        },
    }
}

fn check_event_laws(event: &Event) -> Result<(), TestCaseError> {
    match event {
        Event::ContributionAssessed(chunk) => {
            for line in &chunk.lines {
                prop_assert!(line.amounts.adds_up() && line.amounts.is_non_negative());
            }
        }
        Event::ContributionBackPaid(back_paid) => {
            for line in &back_paid.chunk.lines {
                prop_assert!(line.amounts.adds_up() && line.amounts.is_non_negative());
            }
        }
        Event::ContributionAdjusted(adjusted) => {
            // Differences may be negative: only in refunds (or net-zero reclassifications).
            for line in &adjusted.chunk.lines {
                prop_assert!(line.amounts.adds_up());
            }
            let total = adjusted.chunk.totals.total;
            let expected = if total.is_negative() {
                AdjustmentKind::Refund
            } else if total.is_zero() {
                AdjustmentKind::Reclassification
            } else {
                AdjustmentKind::BackPayment
            };
            prop_assert_eq!(adjusted.kind, expected);
            for line in &adjusted.new_lines {
                prop_assert!(line.amounts.adds_up() && line.amounts.is_non_negative());
            }
        }
        Event::AllowanceGranted(granted) => prop_assert!(!granted.amount.is_negative()),
        Event::MedicalClaimSettled(settled) => {
            prop_assert!(!settled.paid.is_negative() && settled.paid <= settled.actual)
        }
        Event::AllowanceStopped(stopped) => prop_assert!(!stopped.amount_withdrawn.is_negative()),
        _ => {}
    }
    // The log stores events as bincode (not self-describing): they must round-trip.
    let config = bincode::config::standard();
    let bytes = bincode::serde::encode_to_vec(event, config).unwrap();
    let (decoded, read): (Event, usize) =
        bincode::serde::decode_from_slice(&bytes, config).unwrap();
    prop_assert_eq!(read, bytes.len());
    prop_assert_eq!(&decoded, event);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any sequence of decisions on the Gansu scenario (accepted or refused): every
    /// accepted decision's postings balance, every region's ledger sums to zero (checked
    /// by the harness on each fold), lines add up, amounts are never negative except in
    /// refunds, and every event round-trips through bincode.
    #[test]
    fn random_histories_keep_the_ledger_laws(steps in proptest::collection::vec(step_strategy(), 1..30)) {
        let mut scenario = gansu_lanzhou();
        let mut accepted = 0usize;
        for (index, step) in steps.iter().enumerate() {
            let outcome = scenario.when(command_of(step, index, &scenario));
            if let Ok(events) = outcome.result {
                for event in &events {
                    check_event_laws(event)?;
                }
                scenario.fold(&events);
                accepted += 1;
            }
        }
        // Arrears of every month: what the receivable says equals the month accounts.
        let ledger_receivable = scenario
            .state
            .ledgers
            .get(&region("gansu-lanzhou"))
            .map_or(Yuan::ZERO, |ledger| ledger.balance(Account::ContributionReceivable));
        let arrears = scenario.state.employers[&employer("lz-firm")]
            .months
            .values()
            .try_fold(Yuan::ZERO, |sum, month| sum.checked_add(month.arrears()))
            .unwrap();
        prop_assert_eq!(ledger_receivable, arrears, "receivable = Σ (assessed − collected)");
        prop_assert!(accepted <= steps.len());
    }
}
