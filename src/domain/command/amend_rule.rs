//! Rule amendment: a new dated value of a parameter, naming who approved it and the
//! document. A retroactive amendment (effective before the day it is recorded) re-assesses
//! the listed employers' months from its effective date and appends one difference event
//! (补缴 / 退费) per affected employer-month; nothing already appended is edited.

use jiff::civil::Date;

use super::{is_within, require_employer};
use crate::domain::event::{Event, RuleAmended, employer_stream, fund_stream, region_stream};
use crate::domain::ids::{EmployerId, RegionId};
use crate::domain::reassessment::Reassessment;
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::{Confidence, RuleValue, Rulebook, validate_value};
use crate::domain::state::State;

/// Amend one parameter of one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmendRule {
    /// The region the value is set on.
    pub region: RegionId,
    /// The parameter.
    pub parameter: String,
    /// The value as text (checked against the parameter's kind).
    pub value: String,
    /// First day in force.
    pub effective_from: Date,
    /// Who approved it.
    pub authority: String,
    /// Document number.
    pub document: String,
    /// Confidence tag.
    pub tag: Confidence,
    /// The day the ledger learns it (a value effective before it is retroactive).
    pub recorded_on: Date,
    /// Employers to re-assess (from the region's employer projection); their funds'
    /// regions are read too.
    pub reassess: Vec<EmployerId>,
}

impl AmendRule {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        let mut streams = vec![region_stream(&self.region), fund_stream(&self.region)];
        streams.extend(self.reassess.iter().map(employer_stream));
        streams
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        rules.require_region(&self.region)?;
        if self.authority.trim().is_empty() || self.document.trim().is_empty() {
            return Err(Rejection::AmendmentWithoutAuthority {
                parameter: self.parameter.clone(),
            });
        }
        validate_value(&self.region, &self.parameter, &self.value)?;
        let value = RuleValue {
            value: self.value.clone(),
            effective_from: self.effective_from,
            authority: self.authority.clone(),
            document: self.document.clone(),
            tag: self.tag,
        };
        let amended = RuleAmended {
            region: self.region.clone(),
            parameter: self.parameter.clone(),
            value: value.clone(),
            recorded_on: self.recorded_on,
            genesis: false,
        };
        let mut events = vec![Event::RuleAmended(amended.clone())];
        if self.effective_from >= self.recorded_on {
            return Ok(events);
        }
        let mut amended_rules = rules.clone();
        amended_rules.apply(&Event::RuleAmended(amended));
        for employer_id in &self.reassess {
            events.extend(self.reassess_employer(state, &amended_rules, employer_id)?);
        }
        Ok(events)
    }

    fn reassess_employer(
        &self,
        state: &State,
        amended_rules: &Rulebook,
        employer_id: &EmployerId,
    ) -> Result<Vec<Event>, Rejection> {
        let employer = require_employer(state, employer_id)?;
        if !is_within(amended_rules, &employer.region, &self.region) {
            return Err(Rejection::EmployerOutsideRegion {
                employer: employer_id.clone(),
                employer_region: employer.region.clone(),
                region: self.region.clone(),
            });
        }
        let reassessment = Reassessment {
            employer_id,
            employer,
            fund: state.funds.get(&employer.region),
            booked_on: self.recorded_on,
            cause: &self.document,
        };
        let mut events = Vec::new();
        let affected = employer
            .months
            .keys()
            .filter(|month| month.last_day() >= self.effective_from);
        for month in affected {
            events.extend(reassessment.month(amended_rules, *month, &|line| line.declared_wage)?);
        }
        Ok(events)
    }
}
