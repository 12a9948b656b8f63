//! Maternity allowance (生育津贴): days = national 98 + difficult birth + extra babies +
//! the region's extra days, each the rule in force on the birth date; amount =
//! round(employer's previous-year average monthly wage × days / 30), rounded once.
//! Eligible when enrolled in maternity on the birth date; where the region stops benefits
//! on interruption (克州), an interrupted person is refused. One allowance per birth.

use jiff::civil::Date;

use super::{require_employer, require_maternity_eligible, require_person, require_region_of};
use crate::domain::benefit::{Birth, allowance_days};
use crate::domain::contribution::maternity_destination;
use crate::domain::event::{AllowanceGranted, Event, employer_stream, fund_stream, person_stream};
use crate::domain::ids::{EmployerId, Month, PersonId, RegionId};
use crate::domain::posting::{Account, Transaction, credit, debit};
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::State;

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
        })])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use crate::domain::event::Event;
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
