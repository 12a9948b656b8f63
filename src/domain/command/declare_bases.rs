//! Base declaration (缴费基数申报): once a year the employer declares each employee's
//! previous-year average monthly wage. A later declaration for the same year is a
//! correction; for months already assessed it is a retroactive change and produces
//! difference events.

use jiff::civil::Date;

use super::require_employer_in;
use crate::domain::contribution::{LINES_PER_EVENT_MAX, declaration_year};
use crate::domain::event::{
    BasesDeclared, DeclaredWage, Event, employer_stream, fund_stream, person_stream,
};
use crate::domain::ids::{EmployerId, RegionId};
use crate::domain::money::Yuan;
use crate::domain::reassessment::Reassessment;
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::State;

/// Declare (or correct) a year's contribution bases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclareBases {
    /// The employer.
    pub employer: EmployerId,
    /// The employer's region (checked against the registration).
    pub region: RegionId,
    /// The contribution year the bases apply to.
    pub year: i16,
    /// Per-person wages.
    pub lines: Vec<DeclaredWage>,
    /// The employer's previous-year average monthly wage (allowance base), if declared.
    pub employer_average_monthly_wage: Option<Yuan>,
    /// Declaration date.
    pub declared_on: Date,
}

impl DeclareBases {
    /// Streams read; the fund stream decides where a pre-merger difference goes, and each
    /// declared person's stream says whether she is the employer's employee.
    pub fn reads(&self) -> Vec<String> {
        let mut streams = vec![employer_stream(&self.employer), fund_stream(&self.region)];
        streams.extend(self.lines.iter().map(|line| person_stream(&line.person)));
        streams
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        let employer = require_employer_in(state, &self.employer, &self.region)?;
        if self.lines.is_empty() && self.employer_average_monthly_wage.is_none() {
            return Err(Rejection::EmptyDeclaration {
                employer: self.employer.clone(),
                year: self.year,
            });
        }
        let wages = self
            .lines
            .iter()
            .filter_map(|line| line.wage.map(|wage| ("wage", wage)));
        let employer_wage = self
            .employer_average_monthly_wage
            .map(|wage| ("employer_average_monthly_wage", wage));
        if let Some((field, amount)) = wages
            .chain(employer_wage)
            .find(|(_, amount)| amount.is_negative())
        {
            return Err(Rejection::AmountNegative { field, amount });
        }
        if let Some(wage) = self
            .employer_average_monthly_wage
            .filter(|wage| wage.is_zero())
        {
            return Err(Rejection::AmountNotPositive {
                field: "employer_average_monthly_wage",
                amount: wage,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(line) = self.lines.iter().find(|line| !seen.insert(&line.person)) {
            return Err(Rejection::DuplicatePerson {
                field: "lines",
                person: line.person.clone(),
            });
        }
        // A base declared by one employer for another's employee (or for nobody's) would
        // price her contributions at a wage her employer never declared: wrong whoever
        // sends it, so the rule is here and not only in the edge's token scope.
        let employs = |line: &&DeclaredWage| {
            state
                .persons
                .get(&line.person)
                .is_some_and(|person| person.employer.as_ref() == Some(&self.employer))
        };
        if let Some(line) = self.lines.iter().find(|line| !employs(line)) {
            return Err(Rejection::NotOwnEmployee {
                field: "lines",
                person: line.person.clone(),
                employer: self.employer.clone(),
            });
        }
        let correction = employer.declarations.contains_key(&self.year);
        // One event per LINES_PER_EVENT_MAX lines keeps every stored value small; the
        // state merges them (each line sets one person's wage).
        let chunks: Vec<&[DeclaredWage]> = if self.lines.is_empty() {
            vec![&[]]
        } else {
            self.lines.chunks(LINES_PER_EVENT_MAX).collect()
        };
        let mut events: Vec<Event> = chunks
            .into_iter()
            .map(|lines| {
                Event::BasesDeclared(BasesDeclared {
                    employer: self.employer.clone(),
                    region: employer.region.clone(),
                    year: self.year,
                    lines: lines.to_vec(),
                    employer_average_monthly_wage: self.employer_average_monthly_wage,
                    declared_on: self.declared_on,
                    correction,
                })
            })
            .collect();
        if correction {
            let cause = format!("base declaration correction for {}", self.year);
            let reassessment = Reassessment {
                employer_id: &self.employer,
                employer,
                fund: state.funds.get(&employer.region),
                booked_on: self.declared_on,
                cause: &cause,
            };
            let mut months = Vec::new();
            for month in employer.months.keys() {
                let (year, _) = declaration_year(rules, &employer.region, *month)?;
                if year == self.year {
                    months.push(*month);
                }
            }
            let wage_of = |line: &crate::domain::contribution::ContributionLine| {
                self.lines
                    .iter()
                    .find(|declared| declared.person == line.person)
                    .map_or(line.declared_wage, |declared| declared.wage)
            };
            for month in months {
                events.extend(reassessment.month(rules, month, &wage_of)?);
            }
        }
        Ok(events)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::event::AdjustmentKind;
    use crate::domain::party::{EmployerCategory, PersonKind};
    use crate::domain::testing::*;

    /// Correcting a year's declared base after months were assessed appends a difference
    /// per assessed month of that year.
    #[test]
    fn correction_of_a_past_year_appends_differences() {
        let events = gansu_lanzhou()
            .and(assess(
                "lz-firm",
                "gansu-lanzhou",
                month(2020, 1),
                &["ma"],
                day(2020, 1, 10),
            ))
            .when(declare(
                "lz-firm",
                "gansu-lanzhou",
                2020,
                &[("ma", Some("6500"))],
                None,
                day(2020, 4, 1),
            ))
            .then_events();
        let Event::BasesDeclared(declared) = &events[0] else {
            panic!("declared")
        };
        assert!(declared.correction);
        let Event::ContributionAdjusted(adjusted) = &events[1] else {
            panic!("a difference")
        };
        assert_eq!(adjusted.kind, AdjustmentKind::BackPayment);
        let difference = &adjusted.chunk.lines[0].amounts;
        // employer: 6500 × 7.7% = 500.50 against 6000 × 7.7% = 462.00 → 38.50
        assert_eq!(difference.employer_total, yuan("38.50"));
        // individual: 6500 × 2% = 130.00 against 120.00 → 10.00; total 48.50
        assert_eq!(difference.individual, yuan("10.00"));
        assert_eq!(difference.total, yuan("48.50"));
        assert_eq!(adjusted.new_lines[0].base, yuan("6500"));
    }

    /// A first declaration of a year is not a correction and appends nothing else.
    /// A declaration of 450 persons is stored as 200 + 200 + 50 lines, all of them applied;
    /// a person listed twice is refused by name.
    #[test]
    fn large_declarations_are_chunked_and_duplicates_refused() {
        let ids: Vec<String> = (0..450).map(|index| format!("p{index}")).collect();
        let wages: Vec<(&str, Option<&str>)> =
            ids.iter().map(|id| (id.as_str(), Some("5000"))).collect();
        let staffed = ids.iter().fold(gansu_lanzhou(), |scenario, id| {
            scenario.and(enroll(
                id,
                "lz-firm",
                "gansu-lanzhou",
                PersonKind::Employee,
                day(2020, 1, 2),
            ))
        });
        let events = staffed
            .when(declare(
                "lz-firm",
                "gansu-lanzhou",
                2021,
                &wages,
                None,
                day(2021, 1, 5),
            ))
            .then_events();
        let sizes: Vec<usize> = events
            .iter()
            .map(|event| match event {
                Event::BasesDeclared(declared) => declared.lines.len(),
                _ => 0,
            })
            .collect();
        assert_eq!(sizes, [200, 200, 50]);
        let rejection = gansu_lanzhou()
            .when(declare(
                "lz-firm",
                "gansu-lanzhou",
                2021,
                &[("ma", Some("5000")), ("ma", Some("5100"))],
                None,
                day(2021, 1, 5),
            ))
            .then_rejected();
        assert!(matches!(
            rejection,
            Rejection::DuplicatePerson { field: "lines", .. }
        ));
    }

    /// A zero employer wage would grant a zero allowance: refused as not positive.
    #[test]
    fn a_zero_employer_wage_is_refused() {
        let rejection = gansu_lanzhou()
            .when(declare(
                "lz-firm",
                "gansu-lanzhou",
                2021,
                &[],
                Some("0"),
                day(2021, 1, 5),
            ))
            .then_rejected();
        assert!(matches!(
            rejection,
            Rejection::AmountNotPositive {
                field: "employer_average_monthly_wage",
                ..
            }
        ));
    }

    /// Regression (issue 19): an employer declared a base for another employer's employee
    /// and it was accepted. An employer acts only on its own employees: a line for
    /// another's employee, or for a person enrolled nowhere, refuses the declaration,
    /// naming the person and the declaring employer only.
    #[test]
    fn an_employer_declares_bases_only_for_its_own_employees() {
        let scenario = gansu_lanzhou()
            .and(register(
                "lz-other",
                "gansu-lanzhou",
                EmployerCategory::Enterprise,
                "4000",
                day(2019, 1, 2),
            ))
            .and(enroll(
                "wu",
                "lz-other",
                "gansu-lanzhou",
                PersonKind::Employee,
                day(2019, 2, 1),
            ));
        for stranger in ["wu", "nobody"] {
            let rejection = scenario
                .when(declare(
                    "lz-firm",
                    "gansu-lanzhou",
                    2021,
                    &[("ma", Some("6500")), (stranger, Some("9000"))],
                    None,
                    day(2021, 1, 5),
                ))
                .then_rejected();
            assert_eq!(
                rejection,
                Rejection::NotOwnEmployee {
                    field: "lines",
                    person: person(stranger),
                    employer: employer("lz-firm"),
                }
            );
        }
        // wu's own employer declares her base.
        let events = scenario
            .when(declare(
                "lz-other",
                "gansu-lanzhou",
                2021,
                &[("wu", Some("9000"))],
                None,
                day(2021, 1, 5),
            ))
            .then_events();
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn first_declaration_is_not_a_correction() {
        let events = gansu_lanzhou()
            .when(declare(
                "lz-firm",
                "gansu-lanzhou",
                2021,
                &[("ma", Some("6500"))],
                None,
                day(2021, 1, 5),
            ))
            .then_events();
        assert_eq!(events.len(), 1);
        assert!(matches!(&events[0], Event::BasesDeclared(declared) if !declared.correction));
    }
}
