//! Maternity allowance (生育津贴): days = national 98 + difficult birth + extra babies +
//! the region's extra days, each the rule in force on the birth date; amount =
//! round(employer's previous-year average monthly wage × days / 30), rounded once.
//! Eligible when enrolled in maternity on the birth date; where the region stops benefits
//! on interruption (克州), an interrupted person is refused. One allowance per birth.

use jiff::civil::Date;

use super::{require_employer, require_maternity_eligible, require_person};
use crate::domain::benefit::{Birth, allowance_days};
use crate::domain::contribution::maternity_destination;
use crate::domain::event::{AllowanceGranted, Event, employer_stream, fund_stream, person_stream};
use crate::domain::ids::{EmployerId, Month, PersonId, RegionId};
use crate::domain::posting::{Account, Transaction, credit, debit};
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::State;

/// Grant the maternity allowance for a birth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayAllowance {
    /// The insured woman.
    pub person: PersonId,
    /// Her employer (whose wage is the base).
    pub employer: EmployerId,
    /// Her region.
    pub region: RegionId,
    /// The birth.
    pub birth: Birth,
    /// Decision date.
    pub granted_on: Date,
}

impl PayAllowance {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        vec![
            person_stream(&self.person),
            employer_stream(&self.employer),
            fund_stream(&self.region),
        ]
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        let person = require_person(state, &self.person, self.birth.date)?;
        if let Some(granted) = person.allowances.get(&self.birth.id) {
            return Err(Rejection::AllowanceAlreadyGranted {
                birth_id: self.birth.id.clone(),
                granted_on: granted.granted_on,
            });
        }
        require_maternity_eligible(&self.person, person, self.birth.date, rules)?;
        let employer = require_employer(state, &self.employer)?;
        if person.employer.as_ref() != Some(&self.employer) {
            return Err(Rejection::PersonNotWithEmployer {
                person: self.person.clone(),
                employer: self.employer.clone(),
            });
        }
        let days = allowance_days(rules, &person.region, &self.birth)?;
        let year = self.birth.date.year();
        let (wage_year, wage) =
            employer
                .wage_for(year)
                .ok_or_else(|| Rejection::EmployerWageUnknown {
                    employer: self.employer.clone(),
                    year,
                })?;
        let amount = wage.times_ratio(days.allowance_days, days.divisor)?;
        let paid_from = maternity_destination(
            rules,
            &person.region,
            Month::of(self.birth.date),
            state.funds.get(&person.region),
            self.granted_on,
            false,
        )?;
        let transaction = Transaction::new(
            person.region.clone(),
            vec![
                debit(paid_from, amount),
                credit(Account::BenefitsPayable, amount),
            ],
        )?;
        Ok(vec![Event::AllowanceGranted(AllowanceGranted {
            person: self.person.clone(),
            employer: self.employer.clone(),
            region: person.region.clone(),
            birth: self.birth.clone(),
            granted_on: self.granted_on,
            days,
            wage_year,
            wage,
            amount,
            transaction,
        })])
    }
}
