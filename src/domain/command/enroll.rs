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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::party::EmployerCategory;
    use crate::domain::testing::*;

    fn flexible(region_id: &str) -> Enroll {
        Enroll {
            person: person("xiao"),
            region: region(region_id),
            employer: None,
            kind: PersonKind::FlexibleWorker,
            enrolled_on: day(2020, 3, 1),
        }
    }

    /// Tianjin: a flexible worker registers herself and joins maternity with BMI.
    #[test]
    fn tianjin_flexible_worker_enrolls_herself_in_both() {
        let events = given([]).when(flexible("tianjin")).then_events();
        let Event::PersonEnrolled(enrolled) = &events[0] else {
            panic!("enrolled")
        };
        assert_eq!(enrolled.employer, None);
        assert_eq!(
            enrolled.insurance,
            vec![InsuranceType::BasicMedical, InsuranceType::Maternity]
        );
    }

    /// Beijing does not let flexible workers join maternity by themselves.
    #[test]
    fn beijing_flexible_worker_is_refused() {
        let rejection = given([]).when(flexible("beijing")).then_rejected();
        assert!(matches!(
            rejection,
            Rejection::FlexibleWorkersNotAllowed { .. }
        ));
    }

    /// One registration enrolls an in-service employee in BMI and maternity together.
    #[test]
    fn employee_enrollment_carries_maternity() {
        let events = given([register(
            "tj-firm",
            "tianjin",
            EmployerCategory::Enterprise,
            "7000",
            day(2020, 1, 2),
        )])
        .when(enroll(
            "hu",
            "tj-firm",
            "tianjin",
            PersonKind::Employee,
            day(2020, 1, 2),
        ))
        .then_events();
        let Event::PersonEnrolled(enrolled) = &events[0] else {
            panic!("enrolled")
        };
        assert_eq!(
            enrolled.insurance,
            vec![InsuranceType::BasicMedical, InsuranceType::Maternity]
        );
    }

    /// Early retirees are flagged and hold BMI only.
    #[test]
    fn early_retiree_is_flagged_and_holds_bmi_only() {
        let events = given([register(
            "kz",
            "kizilsu",
            EmployerCategory::Agency,
            "6000",
            day(2020, 1, 2),
        )])
        .when(enroll(
            "tursun",
            "kz",
            "kizilsu",
            PersonKind::EarlyRetiree,
            day(2020, 1, 2),
        ))
        .then_events();
        let Event::PersonEnrolled(enrolled) = &events[0] else {
            panic!("enrolled")
        };
        assert_eq!(enrolled.kind, PersonKind::EarlyRetiree);
        assert_eq!(enrolled.insurance, vec![InsuranceType::BasicMedical]);
    }

    /// An employee's employer must be registered in the same region; enrolling twice is refused.
    #[test]
    fn employer_and_duplicate_checks() {
        let scenario = given([register(
            "tj-firm",
            "tianjin",
            EmployerCategory::Enterprise,
            "7000",
            day(2020, 1, 2),
        )]);
        let mismatch = scenario
            .when(enroll(
                "hu",
                "tj-firm",
                "beijing",
                PersonKind::Employee,
                day(2020, 1, 2),
            ))
            .then_rejected();
        assert!(matches!(mismatch, Rejection::EmployerRegionMismatch { .. }));
        let twice = scenario
            .and(enroll(
                "hu",
                "tj-firm",
                "tianjin",
                PersonKind::Employee,
                day(2020, 1, 2),
            ))
            .when(enroll(
                "hu",
                "tj-firm",
                "tianjin",
                PersonKind::Employee,
                day(2020, 2, 2),
            ))
            .then_rejected();
        assert!(matches!(twice, Rejection::PersonAlreadyEnrolled { .. }));
    }
}
