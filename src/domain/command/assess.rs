//! Monthly contribution assessment for an employer: base = declared previous-year
//! average monthly wage clamped to the floor and cap in force that month (unknown wage:
//! the default base); rates by employer category in force that month; lines split per
//! SPEC §3. Pre-merger months credit the maternity fund; merged months the pooled
//! fund's maternity line. A pre-merger month after the maternity fund closed is refused:
//! it is a back-payment now.

use jiff::civil::Date;

use super::{require_employer_in, roster_lines};
use crate::domain::contribution::{ContributionRules, chunk_lines, maternity_destination};
use crate::domain::event::{Event, employer_stream, fund_stream, person_stream};
use crate::domain::ids::{EmployerId, Month, PersonId, RegionId};
use crate::domain::posting::Account;
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::{State, Status};

/// Assess an employer-month for a roster of persons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessContributions {
    /// The employer.
    pub employer: EmployerId,
    /// Its region.
    pub region: RegionId,
    /// The contribution month.
    pub month: Month,
    /// The persons assessed (the roster from the employer's enrollment projection).
    pub persons: Vec<PersonId>,
    /// Booking date.
    pub booked_on: Date,
}

impl AssessContributions {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        let mut streams = vec![employer_stream(&self.employer), fund_stream(&self.region)];
        streams.extend(self.persons.iter().map(person_stream));
        streams
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        let employer = require_employer_in(state, &self.employer, &self.region)?;
        let contribution =
            ContributionRules::in_force(rules, &self.region, employer.category, self.month)?;
        let lines = roster_lines(
            state,
            &self.employer,
            employer,
            self.month,
            &self.persons,
            &[Status::Active],
            &contribution,
        )?;
        let destination = maternity_destination(
            rules,
            &self.region,
            self.month,
            state.funds.get(&self.region),
            self.booked_on,
            true,
        )?;
        let chunks = chunk_lines(
            &self.employer,
            &self.region,
            self.month,
            lines,
            &contribution.applied,
            destination,
            Account::ContributionReceivable,
        )?;
        Ok(chunks
            .into_iter()
            .map(Event::ContributionAssessed)
            .collect())
    }
}
