//! Resumption of interrupted contributions.

use jiff::civil::Date;

use super::require_person;
use crate::domain::event::{EnrollmentStatusChanged, Event, person_stream};
use crate::domain::ids::PersonId;
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::{State, Status};

/// Resume a suspended enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeEnrollment {
    /// The person.
    pub person: PersonId,
    /// First day contributing again.
    pub on: Date,
    /// Why.
    pub reason: String,
}

impl ResumeEnrollment {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        vec![person_stream(&self.person)]
    }

    /// Decision.
    pub fn decide(&self, state: &State, _rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        let person = require_person(state, &self.person, self.on)?;
        let (status, since) = person.current_status();
        if status != Status::Suspended {
            return Err(Rejection::EnrollmentNotSuspended {
                person: self.person.clone(),
            });
        }
        if self.on < since {
            return Err(Rejection::StatusChangeOutOfOrder {
                person: self.person.clone(),
                date: self.on,
                last_change: since,
            });
        }
        Ok(vec![Event::EnrollmentResumed(EnrollmentStatusChanged {
            person: self.person.clone(),
            region: person.region.clone(),
            on: self.on,
            reason: self.reason.clone(),
        })])
    }
}
