//! Employer registration: region, category, previous-year average monthly wage.

use jiff::civil::Date;

use crate::domain::event::{EmployerRegistered, Event, employer_stream, region_stream};
use crate::domain::ids::{EmployerId, RegionId};
use crate::domain::money::Yuan;
use crate::domain::party::EmployerCategory;
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::State;

/// Register an employer (用人单位参保登记).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterEmployer {
    /// The employer.
    pub employer: EmployerId,
    /// Its pooling region (a prefecture for Gansu).
    pub region: RegionId,
    /// Its category.
    pub category: EmployerCategory,
    /// Its name.
    pub name: String,
    /// Registration date.
    pub registered_on: Date,
    /// Its employees' previous-year average monthly wage (the allowance base for the
    /// registration year).
    pub average_monthly_wage: Yuan,
}

impl RegisterEmployer {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        vec![employer_stream(&self.employer), region_stream(&self.region)]
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        rules.require_region(&self.region)?;
        if let Some(existing) = state.employers.get(&self.employer) {
            return Err(Rejection::EmployerAlreadyRegistered {
                employer: self.employer.clone(),
                registered_on: existing.registered_on,
            });
        }
        // The allowance is this wage × days / 30: a zero wage would grant nothing.
        if self.average_monthly_wage.is_negative() || self.average_monthly_wage.is_zero() {
            return Err(Rejection::AmountNotPositive {
                field: "average_monthly_wage",
                amount: self.average_monthly_wage,
            });
        }
        Ok(vec![Event::EmployerRegistered(EmployerRegistered {
            employer: self.employer.clone(),
            region: self.region.clone(),
            category: self.category,
            name: self.name.clone(),
            registered_on: self.registered_on,
            wage_year: self.registered_on.year(),
            average_monthly_wage: self.average_monthly_wage,
        })])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::testing::*;

    /// Registration records region, category and the wage; unknown regions and
    /// duplicates are refused.
    #[test]
    fn registration() {
        let (events, scenario) = given([])
            .when(register(
                "tianshui-school",
                "gansu-tianshui",
                EmployerCategory::Institution,
                "4800",
                day(2019, 3, 1),
            ))
            .then_continue();
        let Event::EmployerRegistered(registered) = &events[0] else {
            panic!("registered")
        };
        assert_eq!(
            (registered.wage_year, registered.average_monthly_wage),
            (2019, yuan("4800"))
        );
        let twice = scenario
            .when(register(
                "tianshui-school",
                "gansu-tianshui",
                EmployerCategory::Institution,
                "4800",
                day(2019, 3, 2),
            ))
            .then_rejected();
        assert!(matches!(twice, Rejection::EmployerAlreadyRegistered { .. }));
        let nowhere = given([])
            .when(register(
                "x",
                "atlantis",
                EmployerCategory::Enterprise,
                "1",
                day(2019, 3, 1),
            ))
            .then_rejected();
        assert!(matches!(nowhere, Rejection::UnknownRegion { .. }));
    }
}
