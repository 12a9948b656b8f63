//! Collection: money received (e.g. from the tax bureau, 税务征收) against an
//! employer-month's assessment. Arrears = assessed − collected.

use jiff::civil::Date;

use super::require_employer;
use crate::domain::event::{ContributionCollected, Event, employer_stream};
use crate::domain::ids::{EmployerId, Month};
use crate::domain::money::Yuan;
use crate::domain::posting::{Account, Transaction, credit, debit};
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::State;

/// Record money received for an employer-month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectContribution {
    /// The employer.
    pub employer: EmployerId,
    /// The month paid for.
    pub month: Month,
    /// Amount received.
    pub amount: Yuan,
    /// Date received.
    pub received_on: Date,
    /// Collector's reference.
    pub reference: String,
}

impl CollectContribution {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        vec![employer_stream(&self.employer)]
    }

    /// Decision.
    pub fn decide(&self, state: &State, _rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        let employer = require_employer(state, &self.employer)?;
        if self.amount.is_negative() || self.amount.is_zero() {
            return Err(Rejection::AmountNotPositive {
                field: "amount",
                amount: self.amount,
            });
        }
        let account = employer
            .months
            .get(&self.month)
            .filter(|account| !account.assessed.is_zero())
            .ok_or_else(|| Rejection::NothingAssessed {
                employer: self.employer.clone(),
                month: self.month,
            })?;
        let arrears = account.arrears();
        if self.amount > arrears {
            return Err(Rejection::CollectionExceedsArrears {
                employer: self.employer.clone(),
                month: self.month,
                amount: self.amount,
                arrears,
            });
        }
        let transaction = Transaction::new(
            employer.region.clone(),
            vec![
                debit(Account::FundBank, self.amount),
                credit(Account::ContributionReceivable, self.amount),
            ],
        )?;
        Ok(vec![Event::ContributionCollected(ContributionCollected {
            employer: self.employer.clone(),
            region: employer.region.clone(),
            month: self.month,
            amount: self.amount,
            received_on: self.received_on,
            reference: self.reference.clone(),
            transaction,
        })])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::testing::*;

    /// Collection lowers the arrears; collecting more than the arrears is refused.
    #[test]
    fn collection_against_arrears() {
        // ma 2019-10: 5000 × 7.7% = 385.00 + 5000 × 2% = 100.00 → 485.00 assessed
        let scenario = gansu_lanzhou().and(assess(
            "lz-firm",
            "gansu-lanzhou",
            month(2019, 10),
            &["ma"],
            day(2019, 10, 10),
        ));
        let (events, after) = scenario
            .when(collect(
                "lz-firm",
                month(2019, 10),
                "400.00",
                day(2019, 10, 20),
            ))
            .then_continue();
        assert_eq!(
            credited(&events[0], Account::ContributionReceivable),
            yuan("400.00")
        );
        let october = &after.state.employers[&employer("lz-firm")].months[&month(2019, 10)];
        assert_eq!(october.arrears(), yuan("85.00")); // 485.00 − 400.00
        let rejection = after
            .when(collect(
                "lz-firm",
                month(2019, 10),
                "85.01",
                day(2019, 10, 21),
            ))
            .then_rejected();
        assert!(matches!(
            rejection,
            Rejection::CollectionExceedsArrears { .. }
        ));
        let nothing = after
            .when(collect(
                "lz-firm",
                month(2019, 9),
                "1.00",
                day(2019, 10, 21),
            ))
            .then_rejected();
        assert!(matches!(nothing, Rejection::NothingAssessed { .. }));
    }
}
