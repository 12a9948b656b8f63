//! Transfer of the maternity fund's balance into the BMI pooled fund's maternity line,
//! after the clearance. Moves everything the fund holds on the transfer date (the
//! verified balance plus anything booked after the cutoff); repeated while something is
//! left to sweep before the closure.

use jiff::civil::Date;

use crate::domain::event::{Event, MaternityFundBalanceTransferred, fund_stream, ledger_stream};
use crate::domain::ids::RegionId;
use crate::domain::posting::{Account, Transaction, credit, debit};
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::State;

/// Move the maternity fund's balance into the pooled fund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferMaternityBalance {
    /// The region.
    pub region: RegionId,
    /// Transfer date.
    pub transferred_on: Date,
}

impl TransferMaternityBalance {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        vec![fund_stream(&self.region), ledger_stream(&self.region)]
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        rules.require_region(&self.region)?;
        let fund = state.funds.get(&self.region);
        if fund.and_then(|fund| fund.cleared.as_ref()).is_none() {
            return Err(Rejection::MergerStepOutOfOrder {
                region: self.region.clone(),
                step: "transfer",
                missing: "clearance",
            });
        }
        if let Some(closed_on) = fund.and_then(|fund| fund.closed_on) {
            return Err(Rejection::MaternityFundClosed {
                region: self.region.clone(),
                closed_on,
            });
        }
        // Funds carry credit balances: the amount held is −(debits − credits).
        let held = state
            .ledgers
            .get(&self.region)
            .map_or(crate::domain::money::Yuan::ZERO, |ledger| {
                ledger.balance(Account::MaternityFund).negated()
            });
        // A back-payment booked after the transfer but before the closure credits the
        // maternity fund again: a further transfer sweeps it. With nothing held, a second
        // transfer is a repeat.
        if let Some(done_on) = fund.and_then(|fund| fund.transferred_on)
            && held.is_zero()
        {
            return Err(Rejection::MergerStepRepeated {
                region: self.region.clone(),
                step: "transfer",
                done_on,
            });
        }
        let transaction = if held.is_zero() {
            None
        } else {
            let (from, to) = if held.is_negative() {
                (
                    credit(Account::MaternityFund, held.abs()),
                    debit(Account::BmiPooledMaternity, held.abs()),
                )
            } else {
                (
                    debit(Account::MaternityFund, held),
                    credit(Account::BmiPooledMaternity, held),
                )
            };
            Some(Transaction::new(self.region.clone(), vec![from, to])?)
        };
        Ok(vec![Event::MaternityFundBalanceTransferred(
            MaternityFundBalanceTransferred {
                region: self.region.clone(),
                transferred_on: self.transferred_on,
                amount: held,
                transaction,
            },
        )])
    }
}
