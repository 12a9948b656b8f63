//! Clearance (清算核实) of the maternity fund as of the cutoff in force (Gansu
//! 2019-11-30): income, expenditure, receivables and pending payables from the region's
//! postings up to the cutoff, and the verified balance = income − expenditure.

use jiff::civil::Date;

use crate::domain::event::{Event, MaternityFundCleared, fund_stream, ledger_stream};
use crate::domain::ids::RegionId;
use crate::domain::posting::Account;
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::{Ledger, State};

/// Settle the clearance report of a region's maternity fund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleClearance {
    /// The region.
    pub region: RegionId,
    /// The cutoff, which must equal the `clearance_cutoff` rule.
    pub cutoff: Date,
    /// Date of the report.
    pub settled_on: Date,
    /// Who verified it.
    pub verified_by: String,
}

impl SettleClearance {
    /// Streams read: the fund's merger steps and the region's postings.
    pub fn reads(&self) -> Vec<String> {
        vec![fund_stream(&self.region), ledger_stream(&self.region)]
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        rules.require_region(&self.region)?;
        let (rule_cutoff, rule) = rules.date(&self.region, "clearance_cutoff", self.cutoff)?;
        if rule_cutoff != self.cutoff {
            return Err(Rejection::ClearanceCutoffMismatch {
                region: self.region.clone(),
                requested: self.cutoff,
                rule: rule_cutoff,
            });
        }
        let fund = state.funds.get(&self.region);
        if let Some(cleared) = fund.and_then(|fund| fund.cleared.as_ref()) {
            return Err(Rejection::ClearanceAlreadySettled {
                region: self.region.clone(),
                cutoff: cleared.cutoff,
            });
        }
        if let Some(closed_on) = fund.and_then(|fund| fund.closed_on) {
            return Err(Rejection::MaternityFundClosed {
                region: self.region.clone(),
                closed_on,
            });
        }
        let empty = Ledger::default();
        let ledger = state.ledgers.get(&self.region).unwrap_or(&empty);
        let (expenditure, income) = ledger.sides_as_of(Account::MaternityFund, self.cutoff);
        let receivables = ledger.balance_as_of(Account::ContributionReceivable, self.cutoff);
        let pending_payables = ledger
            .balance_as_of(Account::BenefitsPayable, self.cutoff)
            .negated();
        Ok(vec![Event::MaternityFundCleared(MaternityFundCleared {
            region: self.region.clone(),
            cutoff: self.cutoff,
            rule,
            settled_on: self.settled_on,
            verified_by: self.verified_by.clone(),
            income,
            expenditure,
            receivables,
            pending_payables,
            balance: income.checked_sub(expenditure)?,
        })])
    }
}
