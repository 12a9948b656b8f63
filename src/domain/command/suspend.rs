//! Suspension: contributions interrupted (中断参保缴费). Where the region stops benefits
//! on interruption (克州), a running allowance stops and its unpaid days are withdrawn.

use jiff::civil::Date;

use super::{require_person, require_region_of, status_name};
use crate::domain::event::{
    AllowanceStopped, EnrollmentStatusChanged, Event, fund_stream, person_stream,
};
use crate::domain::ids::{BirthId, PersonId, RegionId};
use crate::domain::money::Yuan;
use crate::domain::posting::{Account, Transaction, credit, debit};
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::{GrantedAllowance, PersonState, State, Status};

/// Interrupt a person's contributions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuspendEnrollment {
    /// The person.
    pub person: PersonId,
    /// Her region (its fund stream decides where a withdrawn allowance goes back to).
    pub region: RegionId,
    /// First day interrupted.
    pub on: Date,
    /// Why.
    pub reason: String,
}

impl SuspendEnrollment {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        vec![person_stream(&self.person), fund_stream(&self.region)]
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        let person = require_person(state, &self.person, self.on)?;
        require_region_of(&self.person, person, &self.region)?;
        let (status, since) = person.current_status();
        if status != Status::Active {
            return Err(Rejection::EnrollmentNotActive {
                person: self.person.clone(),
                status: status_name(status),
                since,
            });
        }
        if self.on < since {
            return Err(Rejection::StatusChangeOutOfOrder {
                person: self.person.clone(),
                date: self.on,
                last_change: since,
            });
        }
        let mut events = vec![Event::EnrollmentSuspended(EnrollmentStatusChanged {
            person: self.person.clone(),
            region: person.region.clone(),
            on: self.on,
            reason: self.reason.clone(),
        })];
        if rules.flag(&person.region, "benefits_stop_on_interruption", self.on)? {
            for (birth_id, allowance) in &person.allowances {
                if let Some(stopped) = self.stop(state, person, birth_id, allowance)? {
                    events.push(Event::AllowanceStopped(stopped));
                }
            }
        }
        Ok(events)
    }

    /// The stop of one allowance, if it is running on the suspension date.
    fn stop(
        &self,
        state: &State,
        person: &PersonState,
        birth_id: &BirthId,
        allowance: &GrantedAllowance,
    ) -> Result<Option<AllowanceStopped>, Rejection> {
        if allowance.stopped_on.is_some() || self.on < allowance.birth_date {
            return Ok(None);
        }
        let elapsed = allowance
            .birth_date
            .until(self.on)
            .map(|span| span.get_days())
            .map_err(|_| Rejection::ArithmeticOverflow {
                operation: "days since birth",
            })?;
        let days_paid = u32::try_from(elapsed).unwrap_or(u32::MAX);
        if days_paid >= allowance.allowance_days {
            return Ok(None);
        }
        let days_stopped = allowance.allowance_days - days_paid;
        // Withdraw the granted amount less what the paid days earn: each figure is rounded
        // once and the withdrawal is their exact difference.
        let earned = allowance.wage.times_ratio(days_paid, allowance.divisor)?;
        let withdrawn = allowance.amount.checked_sub(earned)?;
        // The withdrawal goes back to the fund that paid, unless that was the maternity
        // fund and it has closed since: then to the pooled fund's maternity line.
        let closed = state
            .funds
            .get(&self.region)
            .and_then(|fund| fund.closed_on)
            .is_some_and(|closed_on| closed_on <= self.on);
        let back_to = match allowance.paid_from {
            Account::MaternityFund if closed => Account::BmiPooledMaternity,
            account => account,
        };
        let transaction = if withdrawn.is_zero() || withdrawn.is_negative() {
            None
        } else {
            Some(Transaction::new(
                person.region.clone(),
                vec![
                    debit(Account::BenefitsPayable, withdrawn),
                    credit(back_to, withdrawn),
                ],
            )?)
        };
        Ok(Some(AllowanceStopped {
            person: self.person.clone(),
            region: person.region.clone(),
            birth_id: birth_id.clone(),
            stopped_on: self.on,
            days_paid,
            days_stopped,
            amount_withdrawn: if transaction.is_some() {
                withdrawn
            } else {
                Yuan::ZERO
            },
            transaction,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::party::{EmployerCategory, PersonKind};
    use crate::domain::testing::*;

    /// Kizilsu: interrupting contributions during a running allowance stops it and
    /// withdraws the unpaid days.
    #[test]
    fn kizilsu_interruption_stops_a_running_allowance() {
        let events = given([
            register(
                "kz-agency",
                "kizilsu",
                EmployerCategory::Agency,
                "6000",
                day(2020, 1, 2),
            ),
            enroll(
                "gulnar",
                "kz-agency",
                "kizilsu",
                PersonKind::Employee,
                day(2020, 1, 2),
            ),
            // 98 + 60 = 158 days; 6000 × 158 / 30 = 31600.00
            pay_allowance(
                "gulnar",
                "kz-agency",
                "kizilsu",
                birth("g-b1", day(2020, 2, 1), false, 1),
                day(2020, 2, 5),
            ),
        ])
        .when(suspend("gulnar", "kizilsu", day(2020, 3, 2)))
        .then_events();
        assert!(matches!(events[0], Event::EnrollmentSuspended(_)));
        let Event::AllowanceStopped(stopped) = &events[1] else {
            panic!("allowance stops")
        };
        assert_eq!(stopped.days_paid, 30); // 2020-02-01 .. 2020-03-01: 29 + 1 days
        assert_eq!(stopped.days_stopped, 128); // 158 − 30
        // 31600.00 − 6000 × 30 / 30 = 31600.00 − 6000.00 = 25600.00
        assert_eq!(stopped.amount_withdrawn, yuan("25600.00"));
        assert_eq!(
            credited(&events[1], Account::BmiPooledMaternity),
            yuan("25600.00")
        );
        assert_eq!(
            credited(&events[1], Account::BenefitsPayable),
            yuan("-25600.00")
        );
    }

    /// Suspending a suspended enrollment is refused.
    #[test]
    fn suspending_twice_is_refused() {
        let rejection = given([
            register(
                "kz-agency",
                "kizilsu",
                EmployerCategory::Agency,
                "6000",
                day(2020, 1, 2),
            ),
            enroll(
                "gulnar",
                "kz-agency",
                "kizilsu",
                PersonKind::Employee,
                day(2020, 1, 2),
            ),
            suspend("gulnar", "kizilsu", day(2020, 3, 2)),
        ])
        .when(suspend("gulnar", "kizilsu", day(2020, 4, 2)))
        .then_rejected();
        assert!(matches!(
            rejection,
            Rejection::EnrollmentNotActive {
                status: "suspended",
                ..
            }
        ));
    }

    /// Kizilsu: an allowance paid by the maternity fund before the merger, stopped after
    /// the fund closed, is withdrawn back to the pooled fund's maternity line.
    #[test]
    fn withdrawal_after_closure_goes_to_the_pooled_fund() {
        use crate::domain::command::{
            CloseMaternityFund, SettleClearance, TransferMaternityBalance,
        };
        let events = given([
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
            // 98 + 60 = 158 days; 6000 × 158 / 30 = 31600.00, from the maternity fund
            pay_allowance(
                "gulnar",
                "kz-agency",
                "kizilsu",
                birth("g-b1", day(2019, 11, 10), false, 1),
                day(2019, 11, 15),
            ),
            SettleClearance {
                region: region("kizilsu"),
                cutoff: day(2019, 9, 30),
                settled_on: day(2019, 10, 20),
                verified_by: "克州医疗保障局".to_string(),
            }
            .into(),
            TransferMaternityBalance {
                region: region("kizilsu"),
                transferred_on: day(2019, 12, 20),
            }
            .into(),
            CloseMaternityFund {
                region: region("kizilsu"),
                closed_on: day(2019, 12, 25),
            }
            .into(),
        ])
        .when(suspend("gulnar", "kizilsu", day(2019, 12, 28)))
        .then_events();
        let Event::AllowanceStopped(stopped) = &events[1] else {
            panic!("allowance stops")
        };
        assert_eq!(stopped.days_paid, 48); // 2019-11-10 .. 2019-12-27: 21 + 27 days
        // 31600.00 − 6000 × 48 / 30 = 31600.00 − 9600.00 = 22000.00
        assert_eq!(stopped.amount_withdrawn, yuan("22000.00"));
        assert_eq!(
            credited(&events[1], Account::BmiPooledMaternity),
            yuan("22000.00")
        );
        assert_eq!(credited(&events[1], Account::MaternityFund), yuan("0"));
    }
}
