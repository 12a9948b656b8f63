//! The dated rulebook: per region, named parameters, each a list of values with
//! `effective_from`, authority, document number and confidence tag (SPEC §4, §6).
//!
//! Regions nest (全国 → 甘肃省 → 兰州市): a lookup walks from the region up its parents
//! and takes the first region that has a value in force on the date. The shipped values
//! are data, one TOML file per region in this folder, embedded with `include_str!` and
//! expressible as genesis `RegionDefined` / `RuleAmended` events so the log can hold them.

use std::collections::BTreeMap;

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::event::{Event, RegionDefined, RuleAmended};
use super::ids::RegionId;
use super::money::{Rate, Yuan};
use super::rejection::Rejection;

/// The shipped rulebook files, in load order (parents before children).
pub const SHIPPED_FILES: [(&str, &str); 6] = [
    ("national.toml", include_str!("national.toml")),
    ("chongqing.toml", include_str!("chongqing.toml")),
    ("gansu.toml", include_str!("gansu.toml")),
    ("kizilsu.toml", include_str!("kizilsu.toml")),
    ("tianjin.toml", include_str!("tianjin.toml")),
    ("beijing.toml", include_str!("beijing.toml")),
];

/// Deepest region nesting a lookup follows; guards against a parent cycle in bad data.
pub const REGION_DEPTH_MAX: usize = 8;

/// How sure we are of a value (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Confidence {
    /// `[C]` confirmed in an official text.
    #[serde(rename = "C")]
    Confirmed,
    /// `[S]` secondary sources only.
    #[serde(rename = "S")]
    Secondary,
    /// `[A]` our assumption.
    #[serde(rename = "A")]
    Assumption,
}

/// What kind of value a parameter holds; amendments are checked against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterKind {
    /// A fraction such as `0.085`, in [0, 1).
    Rate,
    /// A multiplier in [0, 1], such as the COVID relief factor `0.5`.
    Factor,
    /// Yuan, such as `5360` or `3.00`.
    Amount,
    /// A whole number of days or months.
    Count,
    /// A civil date `YYYY-MM-DD`.
    Date,
    /// `true` or `false`.
    Flag,
    /// `fixed` or `min_actual_fixed`.
    PaymentMode,
}

/// The kind of a known parameter name, or `None` for an unknown name.
pub fn parameter_kind(parameter: &str) -> Option<ParameterKind> {
    let family = parameter.split('.').next().unwrap_or(parameter);
    let kind = match family {
        "employer_bmi_rate"
        | "maternity_rate"
        | "individual_bmi_rate"
        | "employer_personal_account_rate"
        | "mutual_aid_employer_rate" => ParameterKind::Rate,
        "employer_bmi_relief_factor" => ParameterKind::Factor,
        "base_floor"
        | "base_cap"
        | "default_base"
        | "mutual_aid_individual_monthly"
        | "delivery_payment"
        | "prenatal_quota" => ParameterKind::Amount,
        "contribution_year_start_month"
        | "national_leave_days"
        | "difficult_birth_extra_days"
        | "extra_baby_days"
        | "miscarriage_early_days"
        | "miscarriage_late_days"
        | "regional_extra_leave_days"
        | "allowance_days_max"
        | "allowance_divisor_days"
        | "risk_red_below_months"
        | "risk_amber_below_months"
        | "risk_green_below_months"
        | "risk_watch_below_months" => ParameterKind::Count,
        "merge_date" | "clearance_cutoff" => ParameterKind::Date,
        "flexible_workers_allowed" | "benefits_stop_on_interruption" | "maternity_income_item" => {
            ParameterKind::Flag
        }
        "delivery_payment_mode" => ParameterKind::PaymentMode,
        _ => return None,
    };
    Some(kind)
}

/// Checks that `value` parses as the parameter's kind.
pub fn validate_value(region: &RegionId, parameter: &str, value: &str) -> Result<(), Rejection> {
    let kind = parameter_kind(parameter).ok_or_else(|| Rejection::UnknownParameter {
        parameter: parameter.to_string(),
    })?;
    let invalid = |expected: &'static str| Rejection::RuleValueInvalid {
        region: region.clone(),
        parameter: parameter.to_string(),
        value: value.to_string(),
        expected,
    };
    match kind {
        ParameterKind::Rate => parse_rate(value)
            .filter(|rate| !rate.fraction().is_sign_negative() && rate.fraction() < Decimal::ONE)
            .map(|_| ())
            .ok_or_else(|| invalid("a fraction in [0, 1), e.g. 0.085")),
        ParameterKind::Factor => parse_rate(value)
            .filter(|factor| {
                !factor.fraction().is_sign_negative() && factor.fraction() <= Decimal::ONE
            })
            .map(|_| ())
            .ok_or_else(|| invalid("a multiplier in [0, 1], e.g. 0.5")),
        ParameterKind::Amount => Yuan::parse("value", value)
            .ok()
            .filter(|amount| !amount.is_negative())
            .map(|_| ())
            .ok_or_else(|| invalid("a non-negative yuan amount, e.g. 5360 or 3.00")),
        ParameterKind::Count => value
            .parse::<u32>()
            .map(|_| ())
            .map_err(|_| invalid("a whole number")),
        ParameterKind::Date => value
            .parse::<Date>()
            .map(|_| ())
            .map_err(|_| invalid("a date YYYY-MM-DD")),
        ParameterKind::Flag => parse_flag(value)
            .map(|_| ())
            .ok_or_else(|| invalid("true or false")),
        ParameterKind::PaymentMode => PaymentMode::parse(value)
            .map(|_| ())
            .ok_or_else(|| invalid("fixed or min_actual_fixed")),
    }
}

fn parse_rate(value: &str) -> Option<Rate> {
    value.parse::<Decimal>().ok().map(Rate::from_fraction)
}

fn parse_flag(value: &str) -> Option<bool> {
    match value {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// How a per-disease delivery payment is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentMode {
    /// The fixed amount whatever the actual cost.
    Fixed,
    /// min(actual cost, fixed amount).
    MinActualFixed,
}

impl PaymentMode {
    fn parse(value: &str) -> Option<PaymentMode> {
        match value {
            "fixed" => Some(PaymentMode::Fixed),
            "min_actual_fixed" => Some(PaymentMode::MinActualFixed),
            _ => None,
        }
    }
}

/// One dated value of a parameter, with its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleValue {
    /// The value as text; typed accessors parse it.
    pub value: String,
    /// First day the value is in force.
    pub effective_from: Date,
    /// Who approved it.
    pub authority: String,
    /// The document number or title.
    pub document: String,
    /// Confidence tag.
    pub tag: Confidence,
}

/// A region and its parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionDefinition {
    /// The region id.
    pub id: RegionId,
    /// Its Chinese name.
    pub name: String,
    /// The parent it inherits from, if any.
    pub parent: Option<RegionId>,
}

/// Which rule value a computation used: recorded in events so audit never re-derives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedRule {
    /// The parameter name as looked up.
    pub parameter: String,
    /// The region whose value was found (may be a parent of the one asked about).
    pub found_in: RegionId,
    /// The value.
    pub value: String,
    /// Its effective date.
    pub effective_from: Date,
    /// Its document.
    pub document: String,
}

/// An error loading the shipped TOML (a build defect, not a business outcome).
#[derive(Debug, thiserror::Error)]
pub enum RulebookLoadError {
    /// The TOML does not parse.
    #[error("rulebook file {file}: {message}")]
    Syntax {
        /// The file.
        file: &'static str,
        /// The parser's message.
        message: String,
    },
    /// A value is invalid for its parameter.
    #[error("rulebook file {file}: {rejection}")]
    Value {
        /// The file.
        file: &'static str,
        /// What is wrong.
        rejection: Rejection,
    },
}

#[derive(Deserialize)]
struct RulebookFile {
    #[serde(default)]
    region: Vec<RegionDefinition>,
    #[serde(default)]
    value: Vec<FileValue>,
}

#[derive(Deserialize)]
struct FileValue {
    region: RegionId,
    parameter: String,
    value: String,
    effective_from: Date,
    authority: String,
    document: String,
    tag: Confidence,
}

/// All regions' dated parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rulebook {
    regions: BTreeMap<RegionId, RegionDefinition>,
    values: BTreeMap<(RegionId, String), BTreeMap<Date, RuleValue>>,
}

impl Rulebook {
    /// An empty rulebook (replay builds it from genesis events).
    pub fn empty() -> Rulebook {
        Rulebook::default()
    }

    /// The rulebook shipped with the product, parsed from the embedded TOML files.
    pub fn shipped() -> Result<Rulebook, RulebookLoadError> {
        let mut rulebook = Rulebook::empty();
        for (file, text) in SHIPPED_FILES {
            let parsed: RulebookFile =
                toml::from_str(text).map_err(|error| RulebookLoadError::Syntax {
                    file,
                    message: error.to_string(),
                })?;
            for region in parsed.region {
                rulebook.define_region(region);
            }
            for entry in parsed.value {
                validate_value(&entry.region, &entry.parameter, &entry.value)
                    .map_err(|rejection| RulebookLoadError::Value { file, rejection })?;
                let value = RuleValue {
                    value: entry.value,
                    effective_from: entry.effective_from,
                    authority: entry.authority,
                    document: entry.document,
                    tag: entry.tag,
                };
                rulebook.set(entry.region, entry.parameter, value);
            }
        }
        Ok(rulebook)
    }

    /// Adds or replaces a region definition.
    pub fn define_region(&mut self, region: RegionDefinition) {
        self.regions.insert(region.id.clone(), region);
    }

    /// Sets a value; a later value with the same `effective_from` replaces the earlier.
    pub fn set(&mut self, region: RegionId, parameter: String, value: RuleValue) {
        self.values
            .entry((region, parameter))
            .or_default()
            .insert(value.effective_from, value);
    }

    /// Folds a rule event into the rulebook; other events are ignored. Total.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::RegionDefined(defined) => self.define_region(defined.region.clone()),
            Event::RuleAmended(amended) => self.set(
                amended.region.clone(),
                amended.parameter.clone(),
                amended.value.clone(),
            ),
            _ => {}
        }
    }

    /// The rulebook as genesis events: regions first (parents before children), then
    /// every value, so that replaying them into an empty rulebook rebuilds this one.
    pub fn genesis_events(&self) -> Vec<Event> {
        let mut events = Vec::new();
        let mut defined: Vec<&RegionDefinition> = Vec::new();
        while defined.len() < self.regions.len() {
            let before = defined.len();
            for region in self.regions.values() {
                let parent_ready = region
                    .parent
                    .as_ref()
                    .is_none_or(|parent| defined.iter().any(|done| &done.id == parent));
                if parent_ready && !defined.iter().any(|done| done.id == region.id) {
                    defined.push(region);
                }
            }
            if defined.len() == before {
                // A parent cycle or a missing parent: emit the rest as they are.
                let rest: Vec<&RegionDefinition> = self
                    .regions
                    .values()
                    .filter(|region| !defined.iter().any(|done| done.id == region.id))
                    .collect();
                defined.extend(rest);
            }
        }
        for region in defined {
            events.push(Event::RegionDefined(RegionDefined {
                region: region.clone(),
            }));
        }
        for ((region, parameter), values) in &self.values {
            for value in values.values() {
                events.push(Event::RuleAmended(RuleAmended {
                    region: region.clone(),
                    parameter: parameter.clone(),
                    value: value.clone(),
                    recorded_on: value.effective_from,
                    genesis: true,
                }));
            }
        }
        events
    }

    /// The region's definition.
    pub fn region(&self, region: &RegionId) -> Option<&RegionDefinition> {
        self.regions.get(region)
    }

    /// All region definitions.
    pub fn regions(&self) -> impl Iterator<Item = &RegionDefinition> {
        self.regions.values()
    }

    /// Refuses a region the rulebook does not know.
    pub fn require_region(&self, region: &RegionId) -> Result<&RegionDefinition, Rejection> {
        self.regions
            .get(region)
            .ok_or_else(|| Rejection::UnknownRegion {
                region: region.clone(),
            })
    }

    /// The values of one parameter set directly on one region (no inheritance).
    pub fn values_of(&self, region: &RegionId, parameter: &str) -> Vec<&RuleValue> {
        self.values
            .get(&(region.clone(), parameter.to_string()))
            .map(|values| values.values().collect())
            .unwrap_or_default()
    }

    /// The value in force on `date`: in the region, else its nearest ancestor that has
    /// one. `None` when no region in the chain has a value in force on that date.
    pub fn find(&self, region: &RegionId, parameter: &str, date: Date) -> Option<AppliedRule> {
        let mut current = Some(region.clone());
        for _ in 0..REGION_DEPTH_MAX {
            let Some(here) = current else { break };
            let in_force = self
                .values
                .get(&(here.clone(), parameter.to_string()))
                .and_then(|values| values.range(..=date).next_back());
            if let Some((_, value)) = in_force {
                return Some(AppliedRule {
                    parameter: parameter.to_string(),
                    found_in: here,
                    value: value.value.clone(),
                    effective_from: value.effective_from,
                    document: value.document.clone(),
                });
            }
            current = self
                .regions
                .get(&here)
                .and_then(|definition| definition.parent.clone());
        }
        None
    }

    /// Like [`Rulebook::find`], but a missing value is a typed error.
    pub fn lookup(
        &self,
        region: &RegionId,
        parameter: &str,
        date: Date,
    ) -> Result<AppliedRule, Rejection> {
        self.find(region, parameter, date)
            .ok_or_else(|| Rejection::RuleMissing {
                region: region.clone(),
                parameter: parameter.to_string(),
                date,
            })
    }

    fn invalid(region: &RegionId, applied: &AppliedRule, expected: &'static str) -> Rejection {
        Rejection::RuleValueInvalid {
            region: region.clone(),
            parameter: applied.parameter.clone(),
            value: applied.value.clone(),
            expected,
        }
    }

    /// A rate in force on `date`.
    pub fn rate(
        &self,
        region: &RegionId,
        parameter: &str,
        date: Date,
    ) -> Result<(Rate, AppliedRule), Rejection> {
        let applied = self.lookup(region, parameter, date)?;
        let rate = parse_rate(&applied.value)
            .ok_or_else(|| Self::invalid(region, &applied, "a fraction"))?;
        Ok((rate, applied))
    }

    /// A rate that may depend on the employer category: `name.category` if the chain
    /// has one in force, else `name`.
    pub fn rate_for_category(
        &self,
        region: &RegionId,
        parameter: &str,
        category: &str,
        date: Date,
    ) -> Result<(Rate, AppliedRule), Rejection> {
        let specific = format!("{parameter}.{category}");
        if self.find(region, &specific, date).is_some() {
            return self.rate(region, &specific, date);
        }
        self.rate(region, parameter, date)
    }

    /// An amount in force on `date`.
    pub fn amount(
        &self,
        region: &RegionId,
        parameter: &str,
        date: Date,
    ) -> Result<(Yuan, AppliedRule), Rejection> {
        let applied = self.lookup(region, parameter, date)?;
        let amount = Yuan::parse("rule value", &applied.value)
            .map_err(|_| Self::invalid(region, &applied, "a yuan amount"))?;
        Ok((amount, applied))
    }

    /// An amount that may be absent (a region without a base floor or cap).
    pub fn optional_amount(
        &self,
        region: &RegionId,
        parameter: &str,
        date: Date,
    ) -> Result<Option<(Yuan, AppliedRule)>, Rejection> {
        match self.find(region, parameter, date) {
            None => Ok(None),
            Some(_) => self.amount(region, parameter, date).map(Some),
        }
    }

    /// A count (days, months) in force on `date`.
    pub fn count(
        &self,
        region: &RegionId,
        parameter: &str,
        date: Date,
    ) -> Result<(u32, AppliedRule), Rejection> {
        let applied = self.lookup(region, parameter, date)?;
        let count = applied
            .value
            .parse::<u32>()
            .map_err(|_| Self::invalid(region, &applied, "a whole number"))?;
        Ok((count, applied))
    }

    /// A count that may be absent.
    pub fn optional_count(
        &self,
        region: &RegionId,
        parameter: &str,
        date: Date,
    ) -> Result<Option<(u32, AppliedRule)>, Rejection> {
        match self.find(region, parameter, date) {
            None => Ok(None),
            Some(_) => self.count(region, parameter, date).map(Some),
        }
    }

    /// A date parameter in force on `date`.
    pub fn date(
        &self,
        region: &RegionId,
        parameter: &str,
        date: Date,
    ) -> Result<(Date, AppliedRule), Rejection> {
        let applied = self.lookup(region, parameter, date)?;
        let value = applied
            .value
            .parse::<Date>()
            .map_err(|_| Self::invalid(region, &applied, "a date YYYY-MM-DD"))?;
        Ok((value, applied))
    }

    /// A flag in force on `date`.
    pub fn flag(&self, region: &RegionId, parameter: &str, date: Date) -> Result<bool, Rejection> {
        let applied = self.lookup(region, parameter, date)?;
        parse_flag(&applied.value).ok_or_else(|| Self::invalid(region, &applied, "true or false"))
    }

    /// The delivery payment mode in force on `date`.
    pub fn payment_mode(
        &self,
        region: &RegionId,
        date: Date,
    ) -> Result<(PaymentMode, AppliedRule), Rejection> {
        let applied = self.lookup(region, "delivery_payment_mode", date)?;
        let mode = PaymentMode::parse(&applied.value)
            .ok_or_else(|| Self::invalid(region, &applied, "fixed or min_actual_fixed"))?;
        Ok((mode, applied))
    }

    /// Whether the BMI fund income of `date` shows a maternity income item
    /// (职工生育保险基金收入项目): Tianjin from 2024-05-22. A classification for projections:
    /// the postings are the same either way, so an amendment only needs a rebuild.
    pub fn shows_maternity_income_item(
        &self,
        region: &RegionId,
        date: Date,
    ) -> Result<bool, Rejection> {
        self.flag(region, "maternity_income_item", date)
    }

    /// Whether months from `date` on are merged: `date >= merge_date` in force on `date`.
    /// A region without a merge date is treated as not (yet) merged.
    pub fn is_merged_on(&self, region: &RegionId, date: Date) -> Result<bool, Rejection> {
        match self.find(region, "merge_date", date) {
            None => Ok(false),
            Some(_) => self
                .date(region, "merge_date", date)
                .map(|(merge, _)| date >= merge),
        }
    }
}

#[cfg(test)]
mod tests;
