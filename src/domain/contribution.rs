//! Contribution arithmetic shared by assessment, back-payment and re-assessment: the
//! rules in force for an employer-month, one line per person, the SPEC §3 split, and
//! the balanced transaction of a set of lines.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::ids::{EmployerId, Month, PersonId, RegionId};
use super::money::{Rate, Yuan};
use super::party::{EmployerCategory, PersonKind};
use super::posting::{Account, Transaction};
use super::rejection::Rejection;
use super::rulebook::{AppliedRule, Rulebook};
use super::state::FundState;

/// Most contribution lines one event carries. A line is well under 512 bytes encoded, so
/// an event stays far below sled's 128 KiB inline-value limit.
pub const LINES_PER_EVENT_MAX: usize = 200;
/// Upper bound of one encoded contribution line, bytes (names, ids and 10 decimals).
pub const LINE_BYTES_MAX: usize = 512;
/// sled keeps values above this size in blob files it never fsyncs.
pub const STORED_VALUE_BYTES_MAX: usize = 128 * 1024;
const _: () = assert!(
    LINES_PER_EVENT_MAX * LINE_BYTES_MAX < STORED_VALUE_BYTES_MAX,
    "a full chunk of lines must fit in one inline sled value"
);

/// How the contribution base was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BaseSource {
    /// The declared wage, inside floor and cap.
    Declared,
    /// Raised to the floor (缴费基数下限).
    Floor,
    /// Lowered to the cap (缴费基数上限).
    Cap,
    /// Wage unknown: the rule's default base.
    Default,
}

/// The money of one line (or a sum of lines, or a signed difference of two).
///
/// Invariants (checked by the laws): `employer_bmi = employer_total − maternity`,
/// `employer_pooled = employer_bmi − employer_personal_account`, and
/// `total = employer_total + individual + mutual_aid_employer + mutual_aid_individual`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContributionAmounts {
    /// Employer total `round(base × (bmi_rate + maternity_rate))`.
    pub employer_total: Yuan,
    /// Maternity part `round(base × maternity_rate)`.
    pub maternity: Yuan,
    /// Employer BMI part: total − maternity.
    pub employer_bmi: Yuan,
    /// Of the employer BMI part, the share to personal accounts.
    pub employer_personal_account: Yuan,
    /// Of the employer BMI part, the share to the pooled fund.
    pub employer_pooled: Yuan,
    /// Individual BMI part, to the personal account.
    pub individual: Yuan,
    /// Employer part to the mutual-aid fund (Beijing 1%).
    pub mutual_aid_employer: Yuan,
    /// Individual fixed monthly amount to the mutual-aid fund (Beijing 3 yuan).
    pub mutual_aid_individual: Yuan,
    /// Everything the line asks for.
    pub total: Yuan,
}

impl ContributionAmounts {
    fn fields(&self) -> [Yuan; 9] {
        [
            self.employer_total,
            self.maternity,
            self.employer_bmi,
            self.employer_personal_account,
            self.employer_pooled,
            self.individual,
            self.mutual_aid_employer,
            self.mutual_aid_individual,
            self.total,
        ]
    }

    fn combine(
        &self,
        other: &ContributionAmounts,
        operation: fn(Yuan, Yuan) -> Result<Yuan, Rejection>,
    ) -> Result<ContributionAmounts, Rejection> {
        Ok(ContributionAmounts {
            employer_total: operation(self.employer_total, other.employer_total)?,
            maternity: operation(self.maternity, other.maternity)?,
            employer_bmi: operation(self.employer_bmi, other.employer_bmi)?,
            employer_personal_account: operation(
                self.employer_personal_account,
                other.employer_personal_account,
            )?,
            employer_pooled: operation(self.employer_pooled, other.employer_pooled)?,
            individual: operation(self.individual, other.individual)?,
            mutual_aid_employer: operation(self.mutual_aid_employer, other.mutual_aid_employer)?,
            mutual_aid_individual: operation(
                self.mutual_aid_individual,
                other.mutual_aid_individual,
            )?,
            total: operation(self.total, other.total)?,
        })
    }

    /// Field-wise sum.
    pub fn checked_add(&self, other: &ContributionAmounts) -> Result<Self, Rejection> {
        self.combine(other, Yuan::checked_add)
    }

    /// Field-wise difference `self − other`.
    pub fn checked_sub(&self, other: &ContributionAmounts) -> Result<Self, Rejection> {
        self.combine(other, Yuan::checked_sub)
    }

    /// True when every field is zero.
    pub fn is_zero(&self) -> bool {
        self.fields().iter().all(|amount| amount.is_zero())
    }

    /// True when no field is negative.
    pub fn is_non_negative(&self) -> bool {
        self.fields().iter().all(|amount| !amount.is_negative())
    }

    /// True when the parts add up to the totals (the SPEC §3 invariants).
    pub fn adds_up(&self) -> bool {
        let bmi = self.employer_total.checked_sub(self.maternity);
        let pooled = self
            .employer_bmi
            .checked_sub(self.employer_personal_account);
        let total = Yuan::sum(&[
            self.employer_total,
            self.individual,
            self.mutual_aid_employer,
            self.mutual_aid_individual,
        ]);
        bmi == Ok(self.employer_bmi)
            && pooled == Ok(self.employer_pooled)
            && total == Ok(self.total)
    }

    /// Sums many amounts.
    pub fn sum<'a>(
        amounts: impl IntoIterator<Item = &'a ContributionAmounts>,
    ) -> Result<ContributionAmounts, Rejection> {
        amounts
            .into_iter()
            .try_fold(ContributionAmounts::default(), |total, amount| {
                total.checked_add(amount)
            })
    }

    /// The fund accounts credited, and by how much (negative for a refund).
    pub fn credits(
        &self,
        maternity_destination: Account,
    ) -> Result<Vec<(Account, Yuan)>, Rejection> {
        Ok(vec![
            (maternity_destination, self.maternity),
            (Account::BmiPooledFund, self.employer_pooled),
            (
                Account::PersonalAccounts,
                self.employer_personal_account
                    .checked_add(self.individual)?,
            ),
            (
                Account::MutualAidFund,
                self.mutual_aid_employer
                    .checked_add(self.mutual_aid_individual)?,
            ),
        ])
    }
}

/// One person's contribution for one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionLine {
    /// The person.
    pub person: PersonId,
    /// The person's kind (early retirees pay no individual part).
    pub kind: PersonKind,
    /// The declared previous-year average monthly wage, if any.
    pub declared_wage: Option<Yuan>,
    /// The base used.
    pub base: Yuan,
    /// How the base was chosen.
    pub base_source: BaseSource,
    /// The money.
    pub amounts: ContributionAmounts,
}

/// The contribution rules in force for one employer category, region and month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionRules {
    /// Employer BMI rate.
    pub employer_bmi_rate: Rate,
    /// Multiplier of the employer BMI rate (COVID relief 医保发〔2020〕6号: 0.5; else 1).
    pub employer_bmi_relief_factor: Rate,
    /// Maternity rate.
    pub maternity_rate: Rate,
    /// Individual BMI rate.
    pub individual_rate: Rate,
    /// Employer share to personal accounts.
    pub personal_account_rate: Rate,
    /// Employer mutual-aid rate.
    pub mutual_aid_employer_rate: Rate,
    /// Individual monthly mutual-aid amount.
    pub mutual_aid_individual_monthly: Yuan,
    /// Base floor, if the region has one.
    pub base_floor: Option<Yuan>,
    /// Base cap, if the region has one.
    pub base_cap: Option<Yuan>,
    /// Base for an unknown wage.
    pub default_base: Yuan,
    /// The base declaration year the month draws its wages from (Beijing's contribution
    /// year starts in July, so 2021-03 uses the declaration of 2020).
    pub declaration_year: i16,
    /// Every rule value used, for the event.
    pub applied: Vec<AppliedRule>,
}

/// The declaration year of a month: its calendar year if the month is on or after the
/// region's `contribution_year_start_month`, else the year before.
pub fn declaration_year(
    rules: &Rulebook,
    region: &RegionId,
    month: Month,
) -> Result<(i16, AppliedRule), Rejection> {
    let (start, rule) = rules.count(region, "contribution_year_start_month", month.first_day())?;
    let starts_this_year = i64::from(month.month) >= i64::from(start);
    Ok((
        if starts_this_year {
            month.year
        } else {
            month.year - 1
        },
        rule,
    ))
}

impl ContributionRules {
    /// The rules in force on the first day of `month` (the business date of a month).
    pub fn in_force(
        rules: &Rulebook,
        region: &RegionId,
        category: EmployerCategory,
        month: Month,
    ) -> Result<ContributionRules, Rejection> {
        let date = month.first_day();
        let key = category.rule_key();
        let mut applied = Vec::new();
        let mut rate = |name: &str| -> Result<Rate, Rejection> {
            let (value, rule) = rules.rate_for_category(region, name, key, date)?;
            applied.push(rule);
            Ok(value)
        };
        let employer_bmi_rate = rate("employer_bmi_rate")?;
        let employer_bmi_relief_factor = rate("employer_bmi_relief_factor")?;
        let maternity_rate = rate("maternity_rate")?;
        let individual_rate = rate("individual_bmi_rate")?;
        let personal_account_rate = rate("employer_personal_account_rate")?;
        let mutual_aid_employer_rate = rate("mutual_aid_employer_rate")?;
        let (mutual_aid_individual_monthly, rule) =
            rules.amount(region, "mutual_aid_individual_monthly", date)?;
        applied.push(rule);
        let (default_base, rule) = rules.amount(region, "default_base", date)?;
        applied.push(rule);
        let mut optional = |name: &str| -> Result<Option<Yuan>, Rejection> {
            Ok(rules
                .optional_amount(region, name, date)?
                .map(|(value, rule)| {
                    applied.push(rule);
                    value
                }))
        };
        let base_floor = optional("base_floor")?;
        let base_cap = optional("base_cap")?;
        let (declaration_year, rule) = declaration_year(rules, region, month)?;
        applied.push(rule);
        Ok(ContributionRules {
            employer_bmi_rate,
            employer_bmi_relief_factor,
            maternity_rate,
            individual_rate,
            personal_account_rate,
            mutual_aid_employer_rate,
            mutual_aid_individual_monthly,
            base_floor,
            base_cap,
            default_base,
            declaration_year,
            applied,
        })
    }

    /// The base for a declared wage: clamped to floor and cap; the default if unknown.
    pub fn base(&self, declared_wage: Option<Yuan>) -> (Yuan, BaseSource) {
        let (wage, source) = match declared_wage {
            Some(wage) => (wage, BaseSource::Declared),
            None => (self.default_base, BaseSource::Default),
        };
        match (self.base_floor, self.base_cap) {
            (Some(floor), _) if wage < floor => (floor, BaseSource::Floor),
            (_, Some(cap)) if wage > cap => (cap, BaseSource::Cap),
            _ => (wage, source),
        }
    }

    /// One person's line (SPEC §3 split; each computed figure rounded once).
    pub fn line(
        &self,
        person: &PersonId,
        kind: PersonKind,
        declared_wage: Option<Yuan>,
    ) -> Result<ContributionLine, Rejection> {
        let (base, base_source) = self.base(declared_wage);
        let mut amounts = ContributionAmounts::default();
        if kind.employer_pays() {
            // The relief halves the BMI part only; the maternity part is never reduced.
            let relieved = self
                .employer_bmi_rate
                .fraction()
                .checked_mul(self.employer_bmi_relief_factor.fraction())
                .map(Rate::from_fraction)
                .ok_or(Rejection::ArithmeticOverflow {
                    operation: "rate × relief factor",
                })?;
            let merged_rate = relieved.checked_add(self.maternity_rate)?;
            amounts.maternity = base.times_rate(self.maternity_rate)?;
            amounts.employer_total = base.times_rate(merged_rate)?;
            amounts.employer_bmi = amounts.employer_total.checked_sub(amounts.maternity)?;
            amounts.employer_personal_account = base.times_rate(self.personal_account_rate)?;
            amounts.employer_pooled = amounts
                .employer_bmi
                .checked_sub(amounts.employer_personal_account)?;
            amounts.mutual_aid_employer = base.times_rate(self.mutual_aid_employer_rate)?;
        }
        if kind.pays_individual_part() {
            amounts.individual = base.times_rate(self.individual_rate)?;
        }
        amounts.mutual_aid_individual = self.mutual_aid_individual_monthly;
        amounts.total = Yuan::sum(&[
            amounts.employer_total,
            amounts.individual,
            amounts.mutual_aid_employer,
            amounts.mutual_aid_individual,
        ])?;
        Ok(ContributionLine {
            person: person.clone(),
            kind,
            declared_wage,
            base,
            base_source,
            amounts,
        })
    }
}

/// Where the maternity part of `month` goes when booked on `booked_on`.
///
/// Merged months go to the pooled fund's maternity line. Pre-merger months go to the
/// maternity fund while it is open; once it is closed, an original assessment is refused
/// (`strict`), while back-payments and differences go to the fund open on the booking
/// date: the pooled fund's maternity line.
pub fn maternity_destination(
    rules: &Rulebook,
    region: &RegionId,
    month: Month,
    fund: Option<&FundState>,
    booked_on: Date,
    strict: bool,
) -> Result<Account, Rejection> {
    if rules.is_merged_on(region, month.first_day())? {
        return Ok(Account::BmiPooledMaternity);
    }
    match fund
        .and_then(|fund| fund.closed_on)
        .filter(|closed_on| *closed_on <= booked_on)
    {
        Some(closed_on) if strict => Err(Rejection::MaternityFundClosed {
            region: region.clone(),
            closed_on,
        }),
        Some(_) => Ok(Account::BmiPooledMaternity),
        None => Ok(Account::MaternityFund),
    }
}

/// The balanced transaction of a set of lines: funds credited per line type, `counter`
/// (the receivable, or the bank for money paid at once) debited with the total.
pub fn lines_transaction(
    region: &RegionId,
    lines: &[ContributionLine],
    maternity_destination: Account,
    counter: Account,
) -> Result<(ContributionAmounts, Transaction), Rejection> {
    let totals = ContributionAmounts::sum(lines.iter().map(|line| &line.amounts))?;
    let credits = totals.credits(maternity_destination)?;
    let transaction = Transaction::from_signed_credits(region.clone(), counter, &credits)?;
    Ok((totals, transaction))
}

/// A chunk of lines of one employer-month, as carried by one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineChunk {
    /// The employer.
    pub employer: EmployerId,
    /// The region whose books move.
    pub region: RegionId,
    /// The contribution month.
    pub month: Month,
    /// Chunk index within the command, from 0.
    pub chunk: u32,
    /// The lines.
    pub lines: Vec<ContributionLine>,
    /// Their sum.
    pub totals: ContributionAmounts,
    /// Where the maternity part went.
    pub maternity_destination: Account,
    /// The rules used.
    pub rules: Vec<AppliedRule>,
    /// The postings.
    pub transaction: Transaction,
}

/// Splits lines into chunks of at most [`LINES_PER_EVENT_MAX`], each with its own
/// balanced transaction.
pub fn chunk_lines(
    employer: &EmployerId,
    region: &RegionId,
    month: Month,
    lines: Vec<ContributionLine>,
    rules: &[AppliedRule],
    maternity_destination: Account,
    counter: Account,
) -> Result<Vec<LineChunk>, Rejection> {
    let mut chunks = Vec::new();
    for (index, slice) in lines.chunks(LINES_PER_EVENT_MAX).enumerate() {
        let (totals, transaction) =
            lines_transaction(region, slice, maternity_destination, counter)?;
        chunks.push(LineChunk {
            employer: employer.clone(),
            region: region.clone(),
            month,
            chunk: u32::try_from(index).unwrap_or(u32::MAX),
            lines: slice.to_vec(),
            totals,
            maternity_destination,
            rules: rules.to_vec(),
            transaction,
        });
    }
    Ok(chunks)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::command::{MigrateEnrollments, MigrationRecord};
    use crate::domain::event::Event;
    use crate::domain::testing::*;

    /// 450 employees assessed in one command: three events of 200, 200 and 50 lines, each
    /// balanced, each encoded well under sled's 128 KiB inline limit, totals adding up.
    #[test]
    fn large_rosters_are_chunked_into_small_events() {
        let ids: Vec<String> = (0..450).map(|n| format!("62010219900101{n:04}")).collect();
        let records = ids
            .iter()
            .map(|id| MigrationRecord {
                person: person(id),
                employer: employer("lz-firm"),
                held_bmi: true,
                held_maternity: true,
                insured_since: day(2018, 1, 2),
            })
            .collect();
        let wages: Vec<(&str, Option<&str>)> =
            ids.iter().map(|id| (id.as_str(), Some("5000"))).collect();
        let roster: Vec<&str> = ids.iter().map(String::as_str).collect();
        let events = gansu_lanzhou()
            .and(MigrateEnrollments {
                region: region("gansu-lanzhou"),
                agency: "兰州市医疗保障局".to_string(),
                migrated_on: day(2019, 9, 1),
                records,
            })
            .and(declare(
                "lz-firm",
                "gansu-lanzhou",
                2019,
                &wages,
                None,
                day(2019, 9, 2),
            ))
            .when(assess(
                "lz-firm",
                "gansu-lanzhou",
                month(2019, 10),
                &roster,
                day(2019, 10, 10),
            ))
            .then_events();
        let sizes: Vec<usize> = chunks(&events)
            .iter()
            .map(|chunk| chunk.lines.len())
            .collect();
        assert_eq!(sizes, [200, 200, 50]);
        let config = bincode::config::standard();
        for event in &events {
            let bytes = bincode::serde::encode_to_vec(event, config).unwrap();
            assert!(
                bytes.len() < STORED_VALUE_BYTES_MAX,
                "{} bytes",
                bytes.len()
            );
            let Event::ContributionAssessed(chunk) = event else {
                panic!("assessed")
            };
            assert!(
                bytes.len() / chunk.lines.len() < LINE_BYTES_MAX,
                "lines stay under the bound"
            );
        }
        // 450 × (5000 × 7.7% + 5000 × 2%) = 450 × 485.00 = 218250.00
        let total = Yuan::sum(chunks(&events).iter().map(|chunk| &chunk.totals.total)).unwrap();
        assert_eq!(total, yuan("218250.00"));
    }
}
