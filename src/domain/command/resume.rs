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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::party::{EmployerCategory, PersonKind};
    use crate::domain::testing::*;

    fn resume(on: Date) -> ResumeEnrollment {
        ResumeEnrollment {
            person: person("gulnar"),
            on,
            reason: "恢复缴费".to_string(),
        }
    }

    /// Kizilsu: once contributions resume, the allowance is paid again.
    #[test]
    fn resumed_person_is_eligible_again() {
        let scenario = given([
            register(
                "kz-agency",
                "kizilsu",
                EmployerCategory::Agency,
                "6000",
                day(2020, 1, 2),
            ),
            enroll(
                "gulnar",
                "kz-agency",
                "kizilsu",
                PersonKind::Employee,
                day(2020, 1, 2),
            ),
            suspend("gulnar", "kizilsu", day(2020, 3, 1)),
        ]);
        let not_suspended = given([
            register(
                "kz-agency",
                "kizilsu",
                EmployerCategory::Agency,
                "6000",
                day(2020, 1, 2),
            ),
            enroll(
                "gulnar",
                "kz-agency",
                "kizilsu",
                PersonKind::Employee,
                day(2020, 1, 2),
            ),
        ])
        .when(resume(day(2020, 3, 1)))
        .then_rejected();
        assert!(matches!(
            not_suspended,
            Rejection::EnrollmentNotSuspended { .. }
        ));
        let events = scenario
            .and(resume(day(2020, 4, 1)))
            .when(pay_allowance(
                "gulnar",
                "kz-agency",
                "kizilsu",
                birth("g-b1", day(2020, 5, 10), false, 1),
                day(2020, 5, 20),
            ))
            .then_events();
        assert!(matches!(events[0], Event::AllowanceGranted(_)));
    }
}
