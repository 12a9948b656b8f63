//! Re-assessment after a retroactive change (a rule amendment or a corrected base
//! declaration): recompute each line of an employer-month under the rules as they now
//! read for that month and append the signed difference (补缴 / 退费), never an edit.

use jiff::civil::Date;

use super::contribution::{
    ContributionLine, ContributionRules, chunk_lines, maternity_destination,
};
use super::event::{AdjustmentKind, ContributionAdjusted, Event};
use super::ids::{EmployerId, Month};
use super::money::Yuan;
use super::posting::Account;
use super::rejection::Rejection;
use super::rulebook::Rulebook;
use super::state::{EmployerState, FundState};

/// What a re-assessment needs to know about one employer-month.
pub struct Reassessment<'a> {
    /// The employer.
    pub employer_id: &'a EmployerId,
    /// Its state (lines as assessed so far).
    pub employer: &'a EmployerState,
    /// The region's fund state (decides where a pre-merger maternity difference goes).
    pub fund: Option<&'a FundState>,
    /// The booking date of the difference.
    pub booked_on: Date,
    /// The amendment document or the correction, recorded as the cause.
    pub cause: &'a str,
}

impl Reassessment<'_> {
    /// Difference events for one month; empty when nothing changes. `wage_of` gives the
    /// wage to recompute each line with (the declared wage unless a correction changes it).
    pub fn month(
        &self,
        rules: &Rulebook,
        month: Month,
        wage_of: &dyn Fn(&ContributionLine) -> Option<Yuan>,
    ) -> Result<Vec<Event>, Rejection> {
        let Some(account) = self.employer.months.get(&month) else {
            return Ok(Vec::new());
        };
        let region = &self.employer.region;
        let contribution =
            ContributionRules::in_force(rules, region, self.employer.category, month)?;
        let mut differences = Vec::new();
        let mut new_lines = Vec::new();
        for old in account.lines.values() {
            let new = contribution.line(&old.person, old.kind, wage_of(old))?;
            let amounts = new.amounts.checked_sub(&old.amounts)?;
            if amounts.is_zero() {
                continue;
            }
            differences.push(ContributionLine {
                amounts,
                ..new.clone()
            });
            new_lines.push(new);
        }
        if differences.is_empty() {
            return Ok(Vec::new());
        }
        let destination =
            maternity_destination(rules, region, month, self.fund, self.booked_on, false)?;
        let chunks = chunk_lines(
            self.employer_id,
            region,
            month,
            differences,
            &contribution.applied,
            destination,
            Account::ContributionReceivable,
        )?;
        let mut events = Vec::with_capacity(chunks.len());
        for (chunk, new) in chunks
            .into_iter()
            .zip(new_lines.chunks(super::contribution::LINES_PER_EVENT_MAX))
        {
            let total = chunk.totals.total;
            let kind = if total.is_negative() {
                AdjustmentKind::Refund
            } else if total.is_zero() {
                AdjustmentKind::Reclassification
            } else {
                AdjustmentKind::BackPayment
            };
            events.push(Event::ContributionAdjusted(ContributionAdjusted {
                chunk,
                kind,
                cause: self.cause.to_string(),
                booked_on: self.booked_on,
                new_lines: new.to_vec(),
            }));
        }
        Ok(events)
    }
}
