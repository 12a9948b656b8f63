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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::party::{EmployerCategory, PersonKind};
    use crate::domain::testing::*;

    /// A terminated person is not enrolled in maternity after the termination date, and
    /// cannot be assessed for a later month.
    #[test]
    fn terminated_person_loses_benefits_and_assessment() {
        let scenario = given([
            register(
                "tj-firm",
                "tianjin",
                EmployerCategory::Enterprise,
                "7000",
                day(2020, 1, 2),
            ),
            enroll(
                "hu",
                "tj-firm",
                "tianjin",
                PersonKind::Employee,
                day(2020, 1, 2),
            ),
        ])
        .and(TerminateEnrollment {
            person: person("hu"),
            on: day(2020, 6, 1),
            reason: "离职".to_string(),
        });
        let allowance = scenario
            .when(pay_allowance(
                "hu",
                "tj-firm",
                "tianjin",
                birth("h-b1", day(2020, 7, 1), false, 1),
                day(2020, 7, 5),
            ))
            .then_rejected();
        assert!(matches!(
            allowance,
            Rejection::NotEnrolledInMaternity { .. }
        ));
        let assessment = scenario
            .when(assess(
                "tj-firm",
                "tianjin",
                month(2020, 7),
                &["hu"],
                day(2020, 7, 10),
            ))
            .then_rejected();
        assert!(matches!(
            assessment,
            Rejection::EnrollmentNotActive {
                status: "terminated",
                ..
            }
        ));
    }
}
