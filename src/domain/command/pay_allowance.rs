//! Maternity allowance (生育津贴): days = national 98 + difficult birth + extra babies +
//! the region's extra days, each the rule in force on the birth date; amount =
//! round(employer's previous-year average monthly wage × days / 30), rounded once.
//! Eligible when enrolled in maternity on the birth date; where the region stops benefits
//! on interruption (克州), an interrupted person is refused.
//!
//! One allowance per birth, and a birth is the mother and the delivery date, not the
//! caller's birth id: a delivery within [`SAME_BIRTH_WINDOW_DAYS`] of a delivery already
//! granted to the same mother is the same birth (twins and triplets are one birth with a
//! count of babies) and is refused, naming the first grant's birth id and log position. An
//! operator may grant it anyway with a reason, which the grant records.
//!
//! Miscarriages (流产) are outside the window: a pregnancy lost within 180 days of a
//! delivery, or a delivery within 180 days of a lost pregnancy, is a plausible second
//! event, not the same one. Only the same date is the same birth for them: one mother ends
//! no two pregnancies on one day.

use jiff::civil::Date;

use super::{require_employer, require_maternity_eligible, require_person, require_region_of};
use crate::domain::benefit::{Birth, allowance_days};
use crate::domain::contribution::maternity_destination;
use crate::domain::event::{
    AllowanceGranted, Event, SameBirthOverride, employer_stream, fund_stream, person_stream,
};
use crate::domain::ids::{BirthId, EmployerId, Month, PersonId, RegionId};
use crate::domain::posting::{Account, Transaction, credit, debit};
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::{GrantedAllowance, PersonState, State};

/// Two deliveries of one mother this many days apart or fewer are one birth (issue 19; an
/// assumption of ours, not a rule of the rulebook's regions).
pub const SAME_BIRTH_WINDOW_DAYS: i32 = 180;

/// Grant the maternity allowance for a birth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayAllowance {
    /// The insured woman.
    pub person: PersonId,
    /// Her employer (whose wage is the base).
    pub employer: EmployerId,
    /// Her region.
    pub region: RegionId,
    /// The birth.
    pub birth: Birth,
    /// Decision date.
    pub granted_on: Date,
    /// Set by an operator to grant it although an allowance for the same birth was granted
    /// before: why. Must not be blank, and must override something.
    pub override_reason: Option<String>,
}

impl PayAllowance {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        vec![
            person_stream(&self.person),
            employer_stream(&self.employer),
            fund_stream(&self.region),
        ]
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        let person = require_person(state, &self.person, self.birth.date)?;
        require_region_of(&self.person, person, &self.region)?;
        if let Some(granted) = person.allowances.get(&self.birth.id) {
            return Err(Rejection::AllowanceAlreadyGranted {
                birth_id: self.birth.id.clone(),
                granted_on: granted.granted_on,
            });
        }
        let overrode = self.check_same_birth(person)?;
        require_maternity_eligible(&self.person, person, self.birth.date, rules)?;
        let employer = require_employer(state, &self.employer)?;
        if person.employer.as_ref() != Some(&self.employer) {
            return Err(Rejection::PersonNotWithEmployer {
                person: self.person.clone(),
                employer: self.employer.clone(),
            });
        }
        let days = allowance_days(rules, &person.region, &self.birth)?;
        let year = self.birth.date.year();
        let (wage_year, wage) =
            employer
                .wage_for(year)
                .ok_or_else(|| Rejection::EmployerWageUnknown {
                    employer: self.employer.clone(),
                    year,
                })?;
        let amount = wage.times_ratio(days.allowance_days, days.divisor)?;
        let paid_from = maternity_destination(
            rules,
            &person.region,
            Month::of(self.birth.date),
            state.funds.get(&person.region),
            self.granted_on,
            false,
        )?;
        let transaction = Transaction::new(
            person.region.clone(),
            vec![
                debit(paid_from, amount),
                credit(Account::BenefitsPayable, amount),
            ],
        )?;
        Ok(vec![Event::AllowanceGranted(AllowanceGranted {
            person: self.person.clone(),
            employer: self.employer.clone(),
            region: person.region.clone(),
            birth: self.birth.clone(),
            granted_on: self.granted_on,
            days,
            wage_year,
            wage,
            amount,
            transaction,
            overrode,
        })])
    }

    /// Refuses a second allowance for the same birth unless overridden with a reason; the
    /// override to record, if any.
    fn check_same_birth(
        &self,
        person: &PersonState,
    ) -> Result<Option<SameBirthOverride>, Rejection> {
        let reason = match &self.override_reason {
            Some(reason) if reason.trim().is_empty() => {
                return Err(Rejection::OverrideWithoutReason {
                    field: "override_reason",
                });
            }
            reason => reason,
        };
        let first = first_grant_of_the_same_birth(person, &self.birth);
        match (first, reason) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(Rejection::NothingToOverride {
                field: "override_reason",
                birth_id: self.birth.id.clone(),
            }),
            (Some((first_id, first)), None) => Err(Rejection::SameBirthAlreadyGranted {
                person: self.person.clone(),
                birth_id: self.birth.id.clone(),
                birth_date: self.birth.date,
                first_birth_id: first_id.clone(),
                first_birth_date: first.birth_date,
                first_position: first.position,
                window_days: SAME_BIRTH_WINDOW_DAYS,
            }),
            (Some((first_id, first)), Some(reason)) => Ok(Some(SameBirthOverride {
                reason: reason.clone(),
                first_birth_id: first_id.clone(),
                first_birth_date: first.birth_date,
                first_position: first.position,
            })),
        }
    }
}

/// The earliest grant (by log position, then decision date) to the same mother that is the
/// same birth as `birth`: a delivery within [`SAME_BIRTH_WINDOW_DAYS`] of a delivery, or
/// any grant on the same date.
fn first_grant_of_the_same_birth<'a>(
    person: &'a PersonState,
    birth: &Birth,
) -> Option<(&'a BirthId, &'a GrantedAllowance)> {
    let window = if birth.miscarriage_months.is_none() {
        SAME_BIRTH_WINDOW_DAYS
    } else {
        0
    };
    person
        .allowances
        .iter()
        .filter(|(_, granted)| {
            let window = if granted.miscarriage { 0 } else { window };
            days_apart(granted.birth_date, birth.date).is_some_and(|days| days <= window)
        })
        .min_by_key(|(id, granted)| {
            // A grant of the same batch has no position yet: it came after the recorded ones.
            (
                granted.position.unwrap_or(u64::MAX),
                granted.granted_on,
                *id,
            )
        })
}

/// Whole days between two dates, either order; `None` only beyond jiff's date range.
fn days_apart(one: Date, other: Date) -> Option<i32> {
    one.until(other).ok().map(|span| span.get_days().abs())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use crate::domain::command::Command;
    use crate::domain::event::{Event, SameBirthOverride};
    use crate::domain::ids::BirthId;
    use crate::domain::party::{EmployerCategory, PersonKind};
    use crate::domain::posting::Account;
    use crate::domain::rejection::Rejection;
    use crate::domain::testing::*;

    fn beijing_firm() -> Scenario {
        given([
            register(
                "bj-firm",
                "beijing",
                EmployerCategory::Enterprise,
                "10000",
                day(2021, 1, 2),
            ),
            enroll(
                "chen",
                "bj-firm",
                "beijing",
                PersonKind::Employee,
                day(2021, 1, 2),
            ),
            enroll(
                "sun",
                "bj-firm",
                "beijing",
                PersonKind::Employee,
                day(2021, 1, 2),
            ),
        ])
    }

    fn granted(events: &[Event]) -> &crate::domain::event::AllowanceGranted {
        match &events[0] {
            Event::AllowanceGranted(granted) => granted,
            other => panic!("expected AllowanceGranted, got {}", other.event_type()),
        }
    }

    /// Beijing twins, difficult birth, the day before and the day Beijing's extra leave
    /// went from 30 to 60 days (2021-11-26): days and amount follow the birth date.
    #[test]
    fn beijing_twin_difficult_birth_before_and_after_2021_11_26() {
        let scenario = beijing_firm();
        let before = scenario
            .when(pay_allowance(
                "chen",
                "bj-firm",
                "beijing",
                birth("chen-b1", day(2021, 11, 25), true, 2),
                day(2021, 12, 1),
            ))
            .then_events();
        let before = granted(&before);
        assert_eq!(before.days.leave_days, 158); // 98 + 15 difficult + 15 second baby + 30
        assert_eq!(before.days.allowance_days, 158);
        assert_eq!(before.amount, yuan("52666.67")); // 10000 × 158 / 30 = 52666.666… → 52666.67

        let after = scenario
            .when(pay_allowance(
                "sun",
                "bj-firm",
                "beijing",
                birth("sun-b1", day(2021, 11, 26), true, 2),
                day(2021, 12, 1),
            ))
            .then_events();
        let granted_after = granted(&after);
        assert_eq!(granted_after.days.regional, 60);
        assert_eq!(granted_after.days.leave_days, 188); // 98 + 15 + 15 + 60
        assert_eq!(granted_after.amount, yuan("62666.67")); // 10000 × 188 / 30 = 62666.666… → 62666.67
        // Paid from the pooled fund's maternity line, owed to her until paid out.
        assert_eq!(
            credited(&after[0], Account::BmiPooledMaternity),
            yuan("-62666.67")
        );
        assert_eq!(
            credited(&after[0], Account::BenefitsPayable),
            yuan("62666.67")
        );
        snapshot_events("domain_beijing_twin_difficult_birth_2021_11_26", &after);
    }

    /// One allowance per birth: a second for the same birth is refused.
    #[test]
    fn second_allowance_for_the_same_birth_is_refused() {
        let the_birth = birth("chen-b1", day(2022, 3, 1), false, 1);
        let rejection = beijing_firm()
            .and(pay_allowance(
                "chen",
                "bj-firm",
                "beijing",
                the_birth.clone(),
                day(2022, 3, 10),
            ))
            .when(pay_allowance(
                "chen",
                "bj-firm",
                "beijing",
                the_birth,
                day(2022, 4, 10),
            ))
            .then_rejected();
        assert_eq!(
            rejection,
            Rejection::AllowanceAlreadyGranted {
                birth_id: crate::domain::ids::BirthId::new("chen-b1"),
                granted_on: day(2022, 3, 10)
            }
        );
    }

    /// chen's first allowance, for the birth `chen-b1` on 2022-03-01 (granted 2022-03-10),
    /// and its position in the harness's history (the log's stand-in).
    fn chen_granted_once() -> (Scenario, u64) {
        let scenario = beijing_firm().and(pay_allowance(
            "chen",
            "bj-firm",
            "beijing",
            birth("chen-b1", day(2022, 3, 1), false, 1),
            day(2022, 3, 10),
        ));
        let position = scenario.history.len() as u64;
        (scenario, position)
    }

    /// A second allowance for chen: `birth_id` on `date`, with an override reason or none.
    fn chen_again(birth_id: &str, date: jiff::civil::Date, reason: Option<&str>) -> Command {
        let mut command = pay_allowance(
            "chen",
            "bj-firm",
            "beijing",
            birth(birth_id, date, false, 1),
            day(2022, 9, 10),
        );
        if let Command::PayAllowance(pay) = &mut command {
            pay.override_reason = reason.map(str::to_owned);
        }
        command
    }

    fn same_birth(
        birth_id: &str,
        birth_date: jiff::civil::Date,
        first_position: Option<u64>,
    ) -> Rejection {
        Rejection::SameBirthAlreadyGranted {
            person: crate::domain::ids::PersonId::new("chen"),
            birth_id: BirthId::new(birth_id),
            birth_date,
            first_birth_id: BirthId::new("chen-b1"),
            first_birth_date: day(2022, 3, 1),
            first_position,
            window_days: 180,
        }
    }

    /// Regression (issue 19): the same mother and the same delivery date under a new birth
    /// id was paid again. A birth is the mother and the date: refused, naming the first
    /// grant's birth id and position.
    #[test]
    fn same_mother_same_date_new_birth_id_is_refused_naming_the_first_grant() {
        let (scenario, position) = chen_granted_once();
        let rejection = scenario
            .when(chen_again("chen-b2", day(2022, 3, 1), None))
            .then_rejected();
        assert_eq!(
            rejection,
            same_birth("chen-b2", day(2022, 3, 1), Some(position))
        );
    }

    /// The window is 180 days either side, inclusive: 2022-03-01 + 179 days = 2022-08-27
    /// and + 180 = 2022-08-28 are the same birth, as is − 180 = 2021-09-02; + 181 =
    /// 2022-08-29 and − 181 = 2021-09-01 are other births, granted.
    #[test]
    fn deliveries_179_and_180_days_apart_are_one_birth_181_days_are_two() {
        let (scenario, position) = chen_granted_once();
        for date in [day(2022, 8, 27), day(2022, 8, 28), day(2021, 9, 2)] {
            let rejection = scenario
                .when(chen_again("chen-b2", date, None))
                .then_rejected();
            assert_eq!(rejection, same_birth("chen-b2", date, Some(position)));
        }
        for date in [day(2022, 8, 29), day(2021, 9, 1)] {
            let events = scenario
                .when(chen_again("chen-b2", date, None))
                .then_events();
            assert_eq!(granted(&events).overrode, None);
        }
    }

    /// Twins are one birth with a count: granted once with 2 babies (98 + 15 second baby +
    /// 60 = 173 days; 10000 × 173 / 30 = 57666.666… → 57666.67), the second twin's claim
    /// under its own birth id is refused as the same birth.
    #[test]
    fn twins_are_one_birth_with_a_count() {
        let (events, scenario) = beijing_firm()
            .when(pay_allowance(
                "chen",
                "bj-firm",
                "beijing",
                birth("chen-b1", day(2022, 3, 1), false, 2),
                day(2022, 3, 10),
            ))
            .then_continue();
        assert_eq!(granted(&events).days.allowance_days, 173);
        assert_eq!(granted(&events).amount, yuan("57666.67"));
        let rejection = scenario
            .when(chen_again("chen-b1-twin-2", day(2022, 3, 1), None))
            .then_rejected();
        assert_eq!(
            rejection,
            same_birth(
                "chen-b1-twin-2",
                day(2022, 3, 1),
                Some(scenario.history.len() as u64)
            )
        );
    }

    /// An operator's override with a reason grants it and records the reason and the
    /// grant overridden (98 + 60 = 158 days; 10000 × 158 / 30 = 52666.67, paid again); a
    /// blank reason, or a reason where nothing is refused, is refused.
    #[test]
    fn override_with_a_reason_is_granted_and_recorded() {
        let (scenario, position) = chen_granted_once();
        let events = scenario
            .when(chen_again(
                "chen-b2",
                day(2022, 3, 1),
                Some("the first grant was paid to a closed account"),
            ))
            .then_events();
        assert_eq!(granted(&events).amount, yuan("52666.67"));
        assert_eq!(
            granted(&events).overrode,
            Some(SameBirthOverride {
                reason: "the first grant was paid to a closed account".to_owned(),
                first_birth_id: BirthId::new("chen-b1"),
                first_birth_date: day(2022, 3, 1),
                first_position: Some(position),
            })
        );
        let blank = scenario
            .when(chen_again("chen-b2", day(2022, 3, 1), Some(" \t")))
            .then_rejected();
        assert_eq!(
            blank,
            Rejection::OverrideWithoutReason {
                field: "override_reason"
            }
        );
        let nothing = scenario
            .when(chen_again(
                "chen-b3",
                day(2022, 8, 29),
                Some("just in case"),
            ))
            .then_rejected();
        assert_eq!(
            nothing,
            Rejection::NothingToOverride {
                field: "override_reason",
                birth_id: BirthId::new("chen-b3"),
            }
        );
    }

    /// Miscarriages are outside the 180-day window (a pregnancy lost within 180 days of a
    /// delivery is plausible): 100 days after chen's delivery a miscarriage at 2 months is
    /// granted (15 days; 10000 × 15 / 30 = 5000.00). Only the same date is the same birth:
    /// a miscarriage recorded on the delivery's date is refused.
    #[test]
    fn a_miscarriage_is_the_same_birth_only_on_the_same_date() {
        let (scenario, position) = chen_granted_once();
        let miscarriage = |birth_id: &str, date| {
            let mut command = chen_again(birth_id, date, None);
            if let Command::PayAllowance(pay) = &mut command {
                pay.birth.miscarriage_months = Some(2);
            }
            command
        };
        // 2022-03-01 + 100 days = 2022-06-09
        let events = scenario
            .when(miscarriage("chen-m1", day(2022, 6, 9)))
            .then_events();
        assert_eq!(granted(&events).amount, yuan("5000.00"));
        let rejection = scenario
            .when(miscarriage("chen-m1", day(2022, 3, 1)))
            .then_rejected();
        assert_eq!(
            rejection,
            same_birth("chen-m1", day(2022, 3, 1), Some(position))
        );
    }

    /// Two grants for one birth in one batch: the second is refused, naming the first as
    /// granted earlier in the batch (it has no log position yet).
    #[test]
    fn a_batch_granting_one_birth_twice_is_refused() {
        let scenario = beijing_firm();
        let commands = [
            chen_again("chen-b1", day(2022, 3, 1), None),
            chen_again("chen-b2", day(2022, 3, 1), None),
        ];
        let rejection =
            crate::domain::decide_all(&scenario.state, &commands, &scenario.rules).unwrap_err();
        let Rejection::InBatch { index, rejection } = rejection else {
            panic!("a batch refusal, got {rejection}");
        };
        assert_eq!(index, 1);
        assert_eq!(*rejection, same_birth("chen-b2", day(2022, 3, 1), None));
        assert!(
            rejection
                .to_string()
                .contains("granted earlier in this batch")
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Law: for any second birth id and any delivery date from 300 days before to 300
        /// days after chen's granted delivery, the second allowance is refused as the same
        /// birth, naming the first grant, exactly when the dates are at most 180 days apart.
        #[test]
        fn a_second_delivery_is_refused_exactly_within_180_days(
            birth_id in "[a-z0-9]{1,12}",
            offset in -300i32..=300,
        ) {
            let (scenario, position) = chen_granted_once();
            let date = day(2022, 3, 1)
                .checked_add(jiff::Span::new().days(offset))
                .unwrap();
            let outcome = scenario.when(chen_again(&birth_id, date, None)).result;
            if offset.abs() <= 180 {
                proptest::prop_assert_eq!(
                    outcome.unwrap_err(),
                    same_birth(&birth_id, date, Some(position))
                );
            } else {
                proptest::prop_assert!(outcome.is_ok(), "{outcome:?}");
            }
        }
    }

    /// Kizilsu stops benefits for a person whose contributions are interrupted.
    #[test]
    fn kizilsu_interrupted_person_is_refused() {
        let rejection = given([
            register(
                "kz-agency",
                "kizilsu",
                EmployerCategory::Agency,
                "6000",
                day(2019, 1, 2),
            ),
            enroll(
                "gulnar",
                "kz-agency",
                "kizilsu",
                PersonKind::Employee,
                day(2019, 1, 2),
            ),
            suspend("gulnar", "kizilsu", day(2020, 3, 1)),
        ])
        .when(pay_allowance(
            "gulnar",
            "kz-agency",
            "kizilsu",
            birth("g-b1", day(2020, 4, 10), false, 1),
            day(2020, 4, 20),
        ))
        .then_rejected();
        assert!(matches!(
            rejection,
            Rejection::ContributionsInterrupted { .. }
        ));
    }

    /// Beijing does not stop benefits on interruption: the same person is paid.
    #[test]
    fn beijing_interrupted_person_is_still_paid() {
        let events = beijing_firm()
            .and(suspend("chen", "beijing", day(2022, 2, 1)))
            .when(pay_allowance(
                "chen",
                "bj-firm",
                "beijing",
                birth("chen-b1", day(2022, 3, 1), false, 1),
                day(2022, 3, 10),
            ))
            .then_events();
        // 98 + 60 = 158 days; 10000 × 158 / 30 = 52666.67
        assert_eq!(granted(&events).amount, yuan("52666.67"));
    }

    /// A retiree holds no maternity insurance: no allowance.
    #[test]
    fn retiree_is_not_enrolled_in_maternity() {
        let rejection = beijing_firm()
            .and(enroll(
                "old",
                "bj-firm",
                "beijing",
                PersonKind::EarlyRetiree,
                day(2021, 1, 2),
            ))
            .when(pay_allowance(
                "old",
                "bj-firm",
                "beijing",
                birth("o-b1", day(2022, 3, 1), false, 1),
                day(2022, 3, 10),
            ))
            .then_rejected();
        assert!(matches!(
            rejection,
            Rejection::NotEnrolledInMaternity { .. }
        ));
    }

    /// Miscarriage at 3 months: 15 days; at 5 months: 42 days (national rules), no
    /// regional extra days.
    #[test]
    fn miscarriage_days_follow_the_national_rule() {
        let scenario = beijing_firm();
        let early = crate::domain::benefit::Birth {
            miscarriage_months: Some(3),
            babies: 0,
            ..birth("chen-m1", day(2022, 3, 1), false, 0)
        };
        let events = scenario
            .when(pay_allowance(
                "chen",
                "bj-firm",
                "beijing",
                early,
                day(2022, 3, 5),
            ))
            .then_events();
        assert_eq!(granted(&events).days.allowance_days, 15);
        assert_eq!(granted(&events).amount, yuan("5000.00")); // 10000 × 15 / 30 = 5000.00
        let late = crate::domain::benefit::Birth {
            miscarriage_months: Some(5),
            ..birth("sun-m1", day(2022, 3, 1), false, 0)
        };
        let events = scenario
            .when(pay_allowance(
                "sun",
                "bj-firm",
                "beijing",
                late,
                day(2022, 3, 5),
            ))
            .then_events();
        assert_eq!(granted(&events).amount, yuan("14000.00")); // 10000 × 42 / 30 = 14000.00
    }

    /// Chongqing: 98 + 80 = 178 days from 2021-11-25 [S]; before, 98 + 30 = 128 [A].
    #[test]
    fn chongqing_allowance_days_follow_the_birth_date() {
        let scenario = given([
            register(
                "cq-firm",
                "chongqing",
                EmployerCategory::Enterprise,
                "9000",
                day(2021, 1, 2),
            ),
            enroll(
                "li",
                "cq-firm",
                "chongqing",
                PersonKind::Employee,
                day(2021, 1, 2),
            ),
            enroll(
                "he",
                "cq-firm",
                "chongqing",
                PersonKind::Employee,
                day(2021, 1, 2),
            ),
        ]);
        let before = scenario
            .when(pay_allowance(
                "li",
                "cq-firm",
                "chongqing",
                birth("li-b1", day(2021, 6, 1), false, 1),
                day(2021, 6, 10),
            ))
            .then_events();
        assert_eq!(granted(&before).amount, yuan("38400.00")); // 9000 × 128 / 30 = 38400.00
        let after = scenario
            .when(pay_allowance(
                "he",
                "cq-firm",
                "chongqing",
                birth("he-b1", day(2021, 12, 1), false, 1),
                day(2021, 12, 10),
            ))
            .then_events();
        assert_eq!(granted(&after).amount, yuan("53400.00")); // 9000 × 178 / 30 = 53400.00
    }

    /// The command's region must be hers: it decides which fund stream was loaded.
    #[test]
    fn allowance_in_another_region_is_refused() {
        let rejection = beijing_firm()
            .when(pay_allowance(
                "chen",
                "bj-firm",
                "tianjin",
                birth("c-b1", day(2022, 3, 1), false, 1),
                day(2022, 3, 10),
            ))
            .then_rejected();
        assert!(matches!(rejection, Rejection::PersonRegionMismatch { .. }));
    }
}
