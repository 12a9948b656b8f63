//! Back-payment (补缴) for an arrears month: computed with that month's rate and base
//! (甘政办发〔2019〕95号: 按照欠费期间相应的缴费费率和缴费基数计算), paid at once, and booked
//! into the fund open on the booking date: once the maternity fund is closed, its part
//! goes to the pooled fund's maternity line. The business date stays the arrears month.

use jiff::civil::Date;

use super::assess::Roster;
use super::require_employer_in;
use crate::domain::event::{ContributionBackPaid, Event};
use crate::domain::ids::{EmployerId, Month, PersonId, RegionId};
use crate::domain::posting::Account;
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::{State, Status};

/// Back-pay an arrears month for persons not assessed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackPayContributions {
    /// The employer.
    pub employer: EmployerId,
    /// Its region.
    pub region: RegionId,
    /// The arrears month.
    pub month: Month,
    /// The persons.
    pub persons: Vec<PersonId>,
    /// Booking date (after the month).
    pub booked_on: Date,
}

impl BackPayContributions {
    fn roster(&self) -> Roster<'_> {
        Roster::new(
            &self.employer,
            &self.region,
            self.month,
            &self.persons,
            self.booked_on,
        )
    }

    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        self.roster().reads()
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        let employer = require_employer_in(state, &self.employer, &self.region)?;
        if self.booked_on <= self.month.last_day() {
            return Err(Rejection::BackPaymentNotInPast {
                month: self.month,
                booked_on: self.booked_on,
            });
        }
        // Rules and base of the arrears month, not of the booking date; paid at once.
        let chunks = self.roster().chunks(
            state,
            rules,
            employer,
            &[Status::Active, Status::Suspended],
            false,
            Account::FundBank,
        )?;
        Ok(chunks
            .into_iter()
            .map(|chunk| {
                Event::ContributionBackPaid(ContributionBackPaid {
                    chunk,
                    booked_on: self.booked_on,
                })
            })
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::testing::*;

    /// Gansu back-payment for 2019-08 booked on 2020-03-15: the 2019 rate (7% + 0.7%) and
    /// the 2019 base (5000), not 2020's (7.5% from the amendment, base 6000); the maternity
    /// fund is closed by then, so its part goes to the pooled fund's maternity line; the
    /// business date stays 2019-08.
    #[test]
    fn gansu_back_payment_uses_the_arrears_month_rate_and_base() {
        let scenario = gansu_lanzhou_closed().and(amend(
            "gansu-lanzhou",
            "employer_bmi_rate",
            "0.075",
            day(2020, 1, 1),
            day(2019, 12, 28),
            &[],
        ));
        let events = scenario
            .when(back_pay(
                "lz-firm",
                "gansu-lanzhou",
                month(2019, 8),
                &["ma"],
                day(2020, 3, 15),
            ))
            .then_events();
        let chunk = chunks(&events)[0];
        let line = &chunk.lines[0];
        assert_eq!(line.base, yuan("5000")); // 2019's declared base, not 2020's 6000
        assert_eq!(line.amounts.employer_total, yuan("385.00")); // 5000 × (7% + 0.7%) = 385.00
        assert_eq!(line.amounts.maternity, yuan("35.00")); // 5000 × 0.7% = 35.00
        assert_eq!(line.amounts.employer_bmi, yuan("350.00")); // 385.00 − 35.00
        assert_eq!(line.amounts.individual, yuan("100.00")); // 5000 × 2% = 100.00
        assert_eq!(line.amounts.total, yuan("485.00")); // 385.00 + 100.00
        // (Today's rules would give 6000 × (7.5% + 0.7%) = 492.00 employer total.)
        let rate = chunk
            .rules
            .iter()
            .find(|rule| rule.parameter == "employer_bmi_rate")
            .unwrap();
        assert_eq!(
            (rate.value.as_str(), rate.effective_from),
            ("0.07", day(2019, 1, 1))
        );
        assert_eq!(chunk.maternity_destination, Account::BmiPooledMaternity);
        assert_eq!(
            credited(&events[0], Account::BmiPooledMaternity),
            yuan("35.00")
        );
        assert_eq!(credited(&events[0], Account::FundBank), yuan("-485.00")); // paid at once
        assert_eq!(events[0].business_date(), day(2019, 8, 1));
        snapshot_events("domain_gansu_back_payment_2019_08", &events);
    }

    /// Booked while the maternity fund is still open, a pre-merger back-payment credits it.
    #[test]
    fn back_payment_before_closure_credits_the_maternity_fund() {
        let events = gansu_lanzhou()
            .when(back_pay(
                "lz-firm",
                "gansu-lanzhou",
                month(2019, 8),
                &["zhang"],
                day(2019, 10, 20),
            ))
            .then_events();
        assert_eq!(credited(&events[0], Account::MaternityFund), yuan("28.00")); // 4000 × 0.7%
    }

    /// A back-payment must be booked after its month.
    #[test]
    fn back_payment_for_the_current_month_is_refused() {
        let rejection = gansu_lanzhou()
            .when(back_pay(
                "lz-firm",
                "gansu-lanzhou",
                month(2019, 10),
                &["ma"],
                day(2019, 10, 20),
            ))
            .then_rejected();
        assert!(matches!(rejection, Rejection::BackPaymentNotInPast { .. }));
    }
}
