//! Rule amendment: a new dated value of a parameter, naming who approved it and the
//! document. A retroactive amendment (effective before the day it is recorded) re-assesses
//! the listed employers' months from its effective date and appends one difference event
//! (补缴 / 退费) per affected employer-month; nothing already appended is edited.

use jiff::civil::Date;

use super::{is_within, require_employer_in};
use crate::domain::event::{Event, RuleAmended, employer_stream, fund_stream, region_stream};
use crate::domain::ids::{EmployerId, RegionId};
use crate::domain::reassessment::Reassessment;
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::{Confidence, RuleValue, Rulebook, validate_value};
use crate::domain::state::State;

/// Amend one parameter of one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmendRule {
    /// The region the value is set on.
    pub region: RegionId,
    /// The parameter.
    pub parameter: String,
    /// The value as text (checked against the parameter's kind).
    pub value: String,
    /// First day in force.
    pub effective_from: Date,
    /// Who approved it.
    pub authority: String,
    /// Document number.
    pub document: String,
    /// Confidence tag.
    pub tag: Confidence,
    /// The day the ledger learns it (a value effective before it is retroactive).
    pub recorded_on: Date,
    /// Employers to re-assess (from the region's employer projection), each with its own
    /// region (the amended region or one below it), whose fund stream is read too.
    pub reassess: Vec<EmployerRef>,
}

/// An employer to re-assess and the region it is registered in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployerRef {
    /// The employer.
    pub employer: EmployerId,
    /// Its region (checked against the registration).
    pub region: RegionId,
}

impl AmendRule {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        let mut streams = vec![region_stream(&self.region), fund_stream(&self.region)];
        for target in &self.reassess {
            streams.push(employer_stream(&target.employer));
            streams.push(fund_stream(&target.region));
        }
        streams
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        rules.require_region(&self.region)?;
        if self.authority.trim().is_empty() || self.document.trim().is_empty() {
            return Err(Rejection::AmendmentWithoutAuthority {
                parameter: self.parameter.clone(),
            });
        }
        validate_value(&self.region, &self.parameter, &self.value)?;
        let value = RuleValue {
            value: self.value.clone(),
            effective_from: self.effective_from,
            authority: self.authority.clone(),
            document: self.document.clone(),
            tag: self.tag,
        };
        let amended = RuleAmended {
            region: self.region.clone(),
            parameter: self.parameter.clone(),
            value: value.clone(),
            recorded_on: self.recorded_on,
            genesis: false,
        };
        let mut events = vec![Event::RuleAmended(amended.clone())];
        if self.effective_from >= self.recorded_on {
            return Ok(events);
        }
        let mut amended_rules = rules.clone();
        amended_rules.apply(&Event::RuleAmended(amended));
        for target in &self.reassess {
            events.extend(self.reassess_employer(state, &amended_rules, target)?);
        }
        Ok(events)
    }

    fn reassess_employer(
        &self,
        state: &State,
        amended_rules: &Rulebook,
        target: &EmployerRef,
    ) -> Result<Vec<Event>, Rejection> {
        let employer_id = &target.employer;
        let employer = require_employer_in(state, employer_id, &target.region)?;
        if !is_within(amended_rules, &employer.region, &self.region) {
            return Err(Rejection::EmployerOutsideRegion {
                employer: employer_id.clone(),
                employer_region: employer.region.clone(),
                region: self.region.clone(),
            });
        }
        let reassessment = Reassessment {
            employer_id,
            employer,
            fund: state.funds.get(&employer.region),
            booked_on: self.recorded_on,
            cause: &self.document,
        };
        let mut events = Vec::new();
        let affected = employer
            .months
            .keys()
            .filter(|month| month.last_day() >= self.effective_from);
        for month in affected {
            events.extend(reassessment.month(amended_rules, *month, &|line| line.declared_wage)?);
        }
        Ok(events)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::event::AdjustmentKind;
    use crate::domain::posting::Account;
    use crate::domain::testing::*;

    fn lanzhou_2020() -> Scenario {
        gansu_lanzhou()
            .and(assess(
                "lz-firm",
                "gansu-lanzhou",
                month(2020, 1),
                &["ma"],
                day(2020, 1, 10),
            ))
            .and(assess(
                "lz-firm",
                "gansu-lanzhou",
                month(2020, 2),
                &["ma"],
                day(2020, 2, 10),
            ))
    }

    /// A retroactive rate increase from 2020-02-01, recorded 2020-03-10: one back-payment
    /// difference for 2020-02, none for 2020-01; nothing already appended changes.
    #[test]
    fn retroactive_increase_appends_a_back_payment_per_affected_month() {
        let scenario = lanzhou_2020();
        let history_before = scenario.history.clone();
        let (events, after) = scenario
            .when(amend(
                "gansu-lanzhou",
                "employer_bmi_rate",
                "0.075",
                day(2020, 2, 1),
                day(2020, 3, 10),
                &["lz-firm"],
            ))
            .then_continue();
        assert!(matches!(events[0], Event::RuleAmended(_)));
        assert_eq!(
            events.len(),
            2,
            "one amendment, one difference (2020-02 only)"
        );
        let Event::ContributionAdjusted(adjusted) = &events[1] else {
            panic!("a difference")
        };
        assert_eq!(adjusted.chunk.month, month(2020, 2));
        assert_eq!(adjusted.kind, AdjustmentKind::BackPayment);
        let difference = &adjusted.chunk.lines[0].amounts;
        // 6000 × (7.5% + 0.7%) = 492.00; before 6000 × 7.7% = 462.00; difference 30.00
        assert_eq!(difference.employer_total, yuan("30.00"));
        assert_eq!(difference.maternity, yuan("0")); // 6000 × 0.7% = 42.00 both times
        assert_eq!(difference.total, yuan("30.00"));
        assert_eq!(credited(&events[1], Account::BmiPooledFund), yuan("30.00"));
        assert_eq!(
            credited(&events[1], Account::ContributionReceivable),
            yuan("-30.00")
        );
        assert_eq!(after.history[..history_before.len()], history_before[..]);
        // Arrears of 2020-02: 462.00 + 120.00 individual = 582.00 assessed, + 30.00 = 612.00
        let february = &after.state.employers[&employer("lz-firm")].months[&month(2020, 2)];
        assert_eq!(february.arrears(), yuan("612.00"));
    }

    /// A retroactive decrease gives a refund (退费): negative difference, fund debited.
    #[test]
    fn retroactive_decrease_appends_a_refund() {
        let events = lanzhou_2020()
            .when(amend(
                "gansu-lanzhou",
                "maternity_rate",
                "0.005",
                day(2020, 1, 1),
                day(2020, 3, 10),
                &["lz-firm"],
            ))
            .then_events();
        assert_eq!(
            events.len(),
            3,
            "one amendment, differences for 2020-01 and 2020-02"
        );
        let Event::ContributionAdjusted(adjusted) = &events[1] else {
            panic!("a difference")
        };
        assert_eq!(adjusted.kind, AdjustmentKind::Refund);
        let difference = &adjusted.chunk.lines[0].amounts;
        // maternity 6000 × 0.5% = 30.00 against 42.00: −12.00; employer total 450.00 − 462.00
        assert_eq!(difference.maternity, yuan("-12.00"));
        assert_eq!(difference.employer_total, yuan("-12.00"));
        assert_eq!(difference.employer_bmi, yuan("0")); // 420.00 both times
        assert_eq!(
            credited(&events[1], Account::BmiPooledMaternity),
            yuan("-12.00")
        );
    }

    /// An amendment names authority and document, and its value fits the parameter.
    #[test]
    fn amendment_checks() {
        let scenario = lanzhou_2020();
        let mut command = AmendRule {
            region: region("gansu-lanzhou"),
            parameter: "maternity_rate".to_string(),
            value: "0.006".to_string(),
            effective_from: day(2021, 1, 1),
            authority: String::new(),
            document: "兰政发〔2020〕1号".to_string(),
            tag: Confidence::Confirmed,
            recorded_on: day(2020, 12, 1),
            reassess: vec![],
        };
        let rejection = scenario.when(command.clone()).then_rejected();
        assert!(matches!(
            rejection,
            Rejection::AmendmentWithoutAuthority { .. }
        ));
        command.authority = "兰州市人民政府".to_string();
        command.value = "six per mille".to_string();
        let rejection = scenario.when(command).then_rejected();
        assert!(matches!(rejection, Rejection::RuleValueInvalid { .. }));
    }

    /// A prospective amendment is one event and changes later lookups only.
    #[test]
    fn prospective_amendment_is_one_event() {
        let (events, after) = lanzhou_2020()
            .when(amend(
                "gansu-lanzhou",
                "employer_bmi_rate",
                "0.075",
                day(2020, 6, 1),
                day(2020, 3, 10),
                &["lz-firm"],
            ))
            .then_continue();
        assert_eq!(events.len(), 1);
        let lanzhou = region("gansu-lanzhou");
        assert_eq!(
            after
                .rules
                .rate(&lanzhou, "employer_bmi_rate", day(2020, 5, 31))
                .unwrap()
                .1
                .value,
            "0.07"
        );
        assert_eq!(
            after
                .rules
                .rate(&lanzhou, "employer_bmi_rate", day(2020, 6, 1))
                .unwrap()
                .1
                .value,
            "0.075"
        );
    }

    /// Amending the province re-assesses an employer of a prefecture that inherits the
    /// value; an employer outside the province is refused.
    #[test]
    fn parent_amendment_reaches_inheriting_children() {
        let lanzhou_firm = EmployerRef {
            employer: employer("lz-firm"),
            region: region("gansu-lanzhou"),
        };
        let command = AmendRule {
            region: region("gansu"),
            parameter: "individual_bmi_rate".to_string(),
            value: "0.025".to_string(),
            effective_from: day(2020, 1, 1),
            authority: "甘肃省人民政府".to_string(),
            document: "甘政发〔2020〕1号".to_string(),
            tag: Confidence::Assumption,
            recorded_on: day(2020, 3, 10),
            reassess: vec![lanzhou_firm],
        };
        let events = lanzhou_2020().when(command.clone()).then_events();
        assert_eq!(
            events.len(),
            3,
            "one amendment, differences for 2020-01 and 2020-02"
        );
        let Event::ContributionAdjusted(adjusted) = &events[1] else {
            panic!("a difference")
        };
        // individual 6000 × 2.5% = 150.00 against 6000 × 2% = 120.00 → 30.00
        assert_eq!(adjusted.chunk.lines[0].amounts.individual, yuan("30.00"));

        let outsider = lanzhou_2020()
            .and(register(
                "bj",
                "beijing",
                crate::domain::party::EmployerCategory::Enterprise,
                "9000",
                day(2020, 1, 2),
            ))
            .when(AmendRule {
                reassess: vec![EmployerRef {
                    employer: employer("bj"),
                    region: region("beijing"),
                }],
                ..command
            })
            .then_rejected();
        assert!(matches!(outsider, Rejection::EmployerOutsideRegion { .. }));
    }
}
