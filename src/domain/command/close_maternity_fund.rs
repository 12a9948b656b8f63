//! Closure of the maternity fund account (克州 2019-12-20..25), after the transfer and
//! with nothing left in it. From then on a posting to the maternity fund is refused.

use jiff::civil::Date;

use crate::domain::event::{Event, MaternityFundClosed, fund_stream, ledger_stream};
use crate::domain::ids::RegionId;
use crate::domain::posting::Account;
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::State;

/// Close the maternity fund account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseMaternityFund {
    /// The region.
    pub region: RegionId,
    /// Closure date.
    pub closed_on: Date,
}

impl CloseMaternityFund {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        vec![fund_stream(&self.region), ledger_stream(&self.region)]
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        rules.require_region(&self.region)?;
        let fund = state.funds.get(&self.region);
        if let Some(done_on) = fund.and_then(|fund| fund.closed_on) {
            return Err(Rejection::MergerStepRepeated {
                region: self.region.clone(),
                step: "closure",
                done_on,
            });
        }
        if fund.and_then(|fund| fund.transferred_on).is_none() {
            return Err(Rejection::MergerStepOutOfOrder {
                region: self.region.clone(),
                step: "closure",
                missing: "transfer",
            });
        }
        let balance = state
            .ledgers
            .get(&self.region)
            .map_or(crate::domain::money::Yuan::ZERO, |ledger| {
                ledger.balance(Account::MaternityFund)
            });
        if !balance.is_zero() {
            return Err(Rejection::MaternityFundNotEmpty {
                region: self.region.clone(),
                balance: balance.negated(),
            });
        }
        Ok(vec![Event::MaternityFundClosed(MaternityFundClosed {
            region: self.region.clone(),
            closed_on: self.closed_on,
        })])
    }
}
