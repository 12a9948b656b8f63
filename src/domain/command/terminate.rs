//! Termination of an enrollment.

use jiff::civil::Date;

use super::{require_person, status_name};
use crate::domain::event::{EnrollmentStatusChanged, Event, person_stream};
use crate::domain::ids::PersonId;
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::{State, Status};

/// End an enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminateEnrollment {
    /// The person.
    pub person: PersonId,
    /// Last day is the day before.
    pub on: Date,
    /// Why.
    pub reason: String,
}

impl TerminateEnrollment {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        vec![person_stream(&self.person)]
    }

    /// Decision.
    pub fn decide(&self, state: &State, _rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        let person = require_person(state, &self.person, self.on)?;
        let (status, since) = person.current_status();
        if status == Status::Terminated {
            return Err(Rejection::EnrollmentNotActive {
                person: self.person.clone(),
                status: status_name(status),
                since,
            });
        }
        if self.on < since {
            return Err(Rejection::StatusChangeOutOfOrder {
                person: self.person.clone(),
                date: self.on,
                last_change: since,
            });
        }
        Ok(vec![Event::EnrollmentTerminated(EnrollmentStatusChanged {
            person: self.person.clone(),
            region: person.region.clone(),
            on: self.on,
            reason: self.reason.clone(),
        })])
    }
}
