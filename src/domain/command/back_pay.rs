//! Back-payment (补缴) for an arrears month: computed with that month's rate and base
//! (甘政办发〔2019〕95号: 按照欠费期间相应的缴费费率和缴费基数计算), paid at once, and booked
//! into the fund open on the booking date: once the maternity fund is closed, its part
//! goes to the pooled fund's maternity line. The business date stays the arrears month.

use jiff::civil::Date;

use super::{require_employer_in, roster_lines};
use crate::domain::contribution::{ContributionRules, chunk_lines, maternity_destination};
use crate::domain::event::{
    ContributionBackPaid, Event, employer_stream, fund_stream, person_stream,
};
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
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        let mut streams = vec![employer_stream(&self.employer), fund_stream(&self.region)];
        streams.extend(self.persons.iter().map(person_stream));
        streams
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
        // Rules and base of the arrears month, not of the booking date.
        let contribution =
            ContributionRules::in_force(rules, &self.region, employer.category, self.month)?;
        let lines = roster_lines(
            state,
            &self.employer,
            employer,
            self.month,
            &self.persons,
            &[Status::Active, Status::Suspended],
            &contribution,
        )?;
        let destination = maternity_destination(
            rules,
            &self.region,
            self.month,
            state.funds.get(&self.region),
            self.booked_on,
            false,
        )?;
        let chunks = chunk_lines(
            &self.employer,
            &self.region,
            self.month,
            lines,
            &contribution.applied,
            destination,
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
