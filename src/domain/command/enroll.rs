//! Enrollment: one registration enrolls an in-service employee in BMI and maternity
//! together (统一参保登记); flexible workers register themselves where the region allows
//! it (Tianjin); retirees join BMI only; early retirees are flagged.

use jiff::civil::Date;

use super::require_employer;
use crate::domain::event::{Event, PersonEnrolled, employer_stream, person_stream, region_stream};
use crate::domain::ids::{EmployerId, PersonId, RegionId};
use crate::domain::party::{InsuranceType, PersonKind};
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::State;

/// Enroll a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enroll {
    /// The person.
    pub person: PersonId,
    /// The region.
    pub region: RegionId,
    /// The employer; `None` for a flexible worker.
    pub employer: Option<EmployerId>,
    /// The person's kind.
    pub kind: PersonKind,
    /// Enrollment date.
    pub enrolled_on: Date,
}

impl Enroll {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        let mut streams = vec![person_stream(&self.person), region_stream(&self.region)];
        streams.extend(self.employer.iter().map(employer_stream));
        streams
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        rules.require_region(&self.region)?;
        if let Some(existing) = state.persons.get(&self.person) {
            return Err(Rejection::PersonAlreadyEnrolled {
                person: self.person.clone(),
                enrolled_on: existing.enrolled_on,
            });
        }
        match (&self.employer, self.kind) {
            (None, PersonKind::FlexibleWorker) => {
                if !rules.flag(&self.region, "flexible_workers_allowed", self.enrolled_on)? {
                    return Err(Rejection::FlexibleWorkersNotAllowed {
                        region: self.region.clone(),
                        date: self.enrolled_on,
                    });
                }
            }
            (Some(_), PersonKind::FlexibleWorker) => {
                return Err(Rejection::EmployerRequirement {
                    kind: self.kind.name(),
                    requirement: "enroll without an employer",
                });
            }
            (None, _) => {
                return Err(Rejection::EmployerRequirement {
                    kind: self.kind.name(),
                    requirement: "have an employer",
                });
            }
            (Some(employer_id), _) => {
                let employer = require_employer(state, employer_id)?;
                if employer.region != self.region {
                    return Err(Rejection::EmployerRegionMismatch {
                        employer: employer_id.clone(),
                        employer_region: employer.region.clone(),
                        region: self.region.clone(),
                    });
                }
            }
        }
        let mut insurance = vec![InsuranceType::BasicMedical];
        if self.kind.carries_maternity() {
            insurance.push(InsuranceType::Maternity);
        }
        Ok(vec![Event::PersonEnrolled(PersonEnrolled {
            person: self.person.clone(),
            region: self.region.clone(),
            employer: self.employer.clone(),
            kind: self.kind,
            enrolled_on: self.enrolled_on,
            insurance,
        })])
    }
}
