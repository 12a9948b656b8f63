//! Gansu's migration (甘政办发〔2019〕95号): a record enrolled in both insurances before
//! the merger is registered in BMI carrying maternity; a record with one only gets the
//! missing type added by the agency, and the event says so and by whom.

use jiff::civil::Date;

use super::require_employer;
use crate::domain::event::{Event, PersonMigrated, employer_stream, person_stream, region_stream};
use crate::domain::ids::{EmployerId, PersonId, RegionId};
use crate::domain::party::InsuranceType;
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::State;

/// One pre-merger record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationRecord {
    /// The person.
    pub person: PersonId,
    /// The employer.
    pub employer: EmployerId,
    /// Held BMI before the merger.
    pub held_bmi: bool,
    /// Held maternity before the merger.
    pub held_maternity: bool,
    /// Insured since.
    pub insured_since: Date,
}

/// Migrate a batch of pre-merger records into the merged registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateEnrollments {
    /// The region.
    pub region: RegionId,
    /// The agency adding missing types (医保经办机构).
    pub agency: String,
    /// Migration date.
    pub migrated_on: Date,
    /// The records.
    pub records: Vec<MigrationRecord>,
}

impl MigrateEnrollments {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        let mut streams = vec![region_stream(&self.region)];
        for record in &self.records {
            streams.push(person_stream(&record.person));
            streams.push(employer_stream(&record.employer));
        }
        streams
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        rules.require_region(&self.region)?;
        let mut seen = std::collections::BTreeSet::new();
        if let Some(record) = self
            .records
            .iter()
            .find(|record| !seen.insert(&record.person))
        {
            return Err(Rejection::DuplicatePerson {
                field: "records",
                person: record.person.clone(),
            });
        }
        let mut events = Vec::with_capacity(self.records.len());
        for record in &self.records {
            events.push(self.migrate(state, record)?);
        }
        Ok(events)
    }

    fn migrate(&self, state: &State, record: &MigrationRecord) -> Result<Event, Rejection> {
        let employer = require_employer(state, &record.employer)?;
        if employer.region != self.region {
            return Err(Rejection::EmployerRegionMismatch {
                employer: record.employer.clone(),
                employer_region: employer.region.clone(),
                region: self.region.clone(),
            });
        }
        if let Some(existing) = state.persons.get(&record.person) {
            return Err(Rejection::PersonAlreadyEnrolled {
                person: record.person.clone(),
                enrolled_on: existing.enrolled_on,
            });
        }
        let mut held = Vec::new();
        let mut added = Vec::new();
        for (had, insurance) in [
            (record.held_bmi, InsuranceType::BasicMedical),
            (record.held_maternity, InsuranceType::Maternity),
        ] {
            if had {
                held.push(insurance)
            } else {
                added.push(insurance)
            }
        }
        if held.is_empty() {
            return Err(Rejection::MigrationWithoutInsurance {
                person: record.person.clone(),
            });
        }
        Ok(Event::PersonMigrated(PersonMigrated {
            person: record.person.clone(),
            region: self.region.clone(),
            employer: record.employer.clone(),
            held,
            added,
            added_by: self.agency.clone(),
            migrated_on: self.migrated_on,
            insured_since: record.insured_since,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::testing::*;

    /// Gansu migration: "both" is registered as is; "one only" gets the missing type added
    /// by the agency, and the event says which and by whom.
    #[test]
    fn gansu_migration_adds_the_missing_type() {
        let scenario = gansu_lanzhou();
        let migrated: Vec<&PersonMigrated> = scenario
            .history
            .iter()
            .filter_map(|event| match event {
                Event::PersonMigrated(migrated) => Some(migrated),
                _ => None,
            })
            .collect();
        assert_eq!(migrated.len(), 3);
        assert_eq!(migrated[0].added, Vec::<InsuranceType>::new()); // ma: both held
        assert_eq!(migrated[1].added, vec![InsuranceType::Maternity]); // zhang: BMI only
        assert_eq!(migrated[2].added, vec![InsuranceType::BasicMedical]); // liu: maternity only
        assert_eq!(migrated[1].added_by, "兰州市医疗保障局");
        for id in ["ma", "zhang", "liu"] {
            assert!(
                scenario.state.persons[&person(id)].has_maternity(),
                "{id} carries maternity"
            );
        }
    }

    /// A record with neither insurance is not a migration.
    #[test]
    fn record_without_insurance_is_refused() {
        let rejection = gansu_lanzhou()
            .when(MigrateEnrollments {
                region: region("gansu-lanzhou"),
                agency: "兰州市医疗保障局".to_string(),
                migrated_on: day(2019, 9, 1),
                records: vec![MigrationRecord {
                    person: person("nobody"),
                    employer: employer("lz-firm"),
                    held_bmi: false,
                    held_maternity: false,
                    insured_since: day(2018, 1, 2),
                }],
            })
            .then_rejected();
        assert!(matches!(
            rejection,
            Rejection::MigrationWithoutInsurance { .. }
        ));
    }

    /// Regression: a person listed twice was migrated twice and counted twice as insured.
    #[test]
    fn a_person_listed_twice_is_refused() {
        let record = MigrationRecord {
            person: person("twice"),
            employer: employer("lz-firm"),
            held_bmi: true,
            held_maternity: true,
            insured_since: day(2018, 1, 2),
        };
        let rejection = gansu_lanzhou()
            .when(MigrateEnrollments {
                region: region("gansu-lanzhou"),
                agency: "兰州市医疗保障局".to_string(),
                migrated_on: day(2019, 9, 1),
                records: vec![record.clone(), record],
            })
            .then_rejected();
        assert!(matches!(
            rejection,
            Rejection::DuplicatePerson {
                field: "records",
                ..
            }
        ));
    }
}
