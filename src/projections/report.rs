//! Reports read off the books: a region's balances, lines, statistics and risk band as of
//! a business date, as the books stood at some log position. Plain data, rendered by the
//! API, the CLI and the golden snapshots alike.

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;

use super::books::{Books, MonthLines, SumOverflow, normal_balance};
use crate::domain::{Account, Month, RegionId, Rulebook, Yuan, risk, round_fen};

/// One account's balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceLine {
    /// The account's stable name.
    pub account: &'static str,
    /// Debits up to the date.
    pub debits: Yuan,
    /// Credits up to the date.
    pub credits: Yuan,
    /// The balance in the account's normal direction (assets: debits − credits; funds and
    /// liabilities: credits − debits).
    pub balance: Yuan,
}

/// The national monthly table figures of a region up to a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statistics {
    /// Persons insured in BMI (参保人数·职工医保).
    pub insured_bmi: i64,
    /// Persons insured in maternity insurance (参保人数·生育保险).
    pub insured_maternity: i64,
    /// Maternity benefit person-times (享受待遇人次·生育保险): medical plus allowance.
    pub benefit_person_times: u64,
    /// Of which maternity medical claims.
    pub maternity_medical_person_times: u64,
    /// Of which allowances.
    pub allowance_person_times: u64,
}

/// The fund risk warning on the pooled fund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Risk {
    /// The pooled fund's balance (its maternity line included).
    pub pooled_fund_balance: Yuan,
    /// Average monthly pooled-fund expenditure over the 12 months ending with the date's month.
    pub average_monthly_expenditure: Yuan,
    /// Balance ÷ average expenditure, to two decimals; `None` without expenditure.
    pub months_of_cover: Option<Decimal>,
    /// The band from the rulebook in force on the date.
    pub band: String,
}

/// A region's books as of a business date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionReport {
    /// The region.
    pub region: String,
    /// The business date the figures are as of.
    pub as_of: Date,
    /// The log position the books stood at.
    pub known_at_position: u64,
    /// Balances by account.
    pub balances: Vec<BalanceLine>,
    /// Income and expenditure lines, summed over every month up to the date's month.
    pub lines: MonthLines,
    /// Statistics.
    pub statistics: Statistics,
    /// Risk warning.
    pub risk: Risk,
}

/// Sums the month lines of a region up to and including `to`, the income item classified
/// by `rules`; an error if a sum overflows.
pub fn lines_through(
    books: &Books,
    rules: &Rulebook,
    region: &RegionId,
    to: Month,
) -> Result<MonthLines, SumOverflow> {
    let mut total = MonthLines::default();
    if let Some(region_books) = books.region(region) {
        for (_, month) in
            region_books.classified_months(region, rules, Month { year: 1, month: 1 }, to)
        {
            add_lines(&mut total, &month)?;
        }
    }
    Ok(total)
}

/// Adds `amount` to the line `what` of `total`, refusing an overflow.
fn sum(what: &str, total: &mut Yuan, amount: Yuan) -> Result<(), SumOverflow> {
    *total = total
        .checked_add(amount)
        .map_err(|_| SumOverflow::of(what))?;
    Ok(())
}

/// Adds `count` to the count `what` of `total`, refusing an overflow.
fn count(what: &str, total: &mut u64, count: u64) -> Result<(), SumOverflow> {
    *total = total
        .checked_add(count)
        .ok_or_else(|| SumOverflow::of(what))?;
    Ok(())
}

fn add_lines(total: &mut MonthLines, month: &MonthLines) -> Result<(), SumOverflow> {
    sum("bmi_income", &mut total.bmi_income, month.bmi_income)?;
    let maternity = month.bmi_income_maternity;
    sum(
        "bmi_income_maternity",
        &mut total.bmi_income_maternity,
        maternity,
    )?;
    let item = month.maternity_income_item;
    sum(
        "maternity_income_item",
        &mut total.maternity_income_item,
        item,
    )?;
    let fund = month.maternity_fund_income;
    sum(
        "maternity_fund_income",
        &mut total.maternity_fund_income,
        fund,
    )?;
    let personal = month.personal_account_income;
    sum(
        "personal_account_income",
        &mut total.personal_account_income,
        personal,
    )?;
    sum(
        "mutual_aid_income",
        &mut total.mutual_aid_income,
        month.mutual_aid_income,
    )?;
    sum(
        "bmi_expenditure",
        &mut total.bmi_expenditure,
        month.bmi_expenditure,
    )?;
    let spent = month.maternity_expenditure;
    sum(
        "maternity_expenditure",
        &mut total.maternity_expenditure,
        spent,
    )?;
    sum(
        "maternity_fund_expenditure",
        &mut total.maternity_fund_expenditure,
        month.maternity_fund_expenditure,
    )?;
    sum(
        "maternity_medical",
        &mut total.maternity_medical,
        month.maternity_medical,
    )?;
    count(
        "maternity_medical_person_times",
        &mut total.maternity_medical_person_times,
        month.maternity_medical_person_times,
    )?;
    sum("allowance", &mut total.allowance, month.allowance)?;
    count(
        "allowance_person_times",
        &mut total.allowance_person_times,
        month.allowance_person_times,
    )?;
    sum("collected", &mut total.collected, month.collected)?;
    sum(
        "maternity_balance_transferred",
        &mut total.maternity_balance_transferred,
        month.maternity_balance_transferred,
    )
}

/// The sides of `account` in a region's books as of `as_of` (none without books).
fn sides(
    books: &Books,
    region: &RegionId,
    account: Account,
    as_of: Date,
) -> Result<super::books::Sides, SumOverflow> {
    books
        .region(region)
        .map(|r| r.sides_as_of(account, as_of))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Every account's balance of a region as of `as_of`; an error if a sum overflows.
pub fn balances(
    books: &Books,
    region: &RegionId,
    as_of: Date,
) -> Result<Vec<BalanceLine>, SumOverflow> {
    Account::ALL
        .iter()
        .map(|account| {
            let sides = sides(books, region, *account, as_of)?;
            Ok(BalanceLine {
                account: account.name(),
                debits: sides.debits,
                credits: sides.credits,
                balance: normal_balance(*account, sides)?,
            })
        })
        .collect()
}

/// The risk band of a region as of `as_of`: the domain's months-of-cover rule applied to
/// the pooled fund balance and the expenditure of the 12 months ending with `as_of`'s month;
/// an error if a sum overflows.
pub fn risk(
    books: &Books,
    rules: &Rulebook,
    region: &RegionId,
    as_of: Date,
) -> Result<Risk, SumOverflow> {
    let mut pooled = Yuan::ZERO;
    for account in [Account::BmiPooledFund, Account::BmiPooledMaternity] {
        let balance = normal_balance(account, sides(books, region, account, as_of)?)?;
        sum("the pooled fund balance", &mut pooled, balance)?;
    }
    let to = Month::of(as_of);
    let from = Month::of(
        as_of
            .checked_sub(jiff::Span::new().months(11))
            .unwrap_or(Date::MIN),
    );
    let mut spent = Yuan::ZERO;
    if let Some(region_books) = books.region(region) {
        for (_, lines) in region_books.months(from, to) {
            sum(
                "12 months of bmi_expenditure",
                &mut spent,
                lines.bmi_expenditure,
            )?;
        }
    }
    let band = match risk::risk_band(rules, region, as_of, pooled, spent) {
        Ok(risk::RiskBand::Red) => "red".to_owned(),
        Ok(risk::RiskBand::Amber) => "amber".to_owned(),
        Ok(risk::RiskBand::Green) => "green".to_owned(),
        Ok(risk::RiskBand::Watch) => "watch".to_owned(),
        Ok(risk::RiskBand::OverReserved) => "over_reserved".to_owned(),
        Err(rejection) => format!("unknown: {rejection}"),
    };
    Ok(Risk {
        pooled_fund_balance: pooled,
        average_monthly_expenditure: round_fen(spent.decimal() / Decimal::from(12)),
        months_of_cover: risk::months_of_cover(pooled, spent).map(|months| months.round_dp(2)),
        band,
    })
}

/// The full report of a region as of `as_of`; an error if a sum overflows, rather than
/// a figure with an addend dropped.
pub fn region_report(
    books: &Books,
    rules: &Rulebook,
    region: &RegionId,
    as_of: Date,
) -> Result<RegionReport, SumOverflow> {
    let lines = lines_through(books, rules, region, Month::of(as_of))?;
    let (insured_bmi, insured_maternity) = books
        .region(region)
        .map(|r| r.insured_as_of(as_of))
        .transpose()?
        .unwrap_or((0, 0));
    let mut benefit_person_times = lines.maternity_medical_person_times;
    count(
        "benefit person-times",
        &mut benefit_person_times,
        lines.allowance_person_times,
    )?;
    Ok(RegionReport {
        region: region.to_string(),
        as_of,
        known_at_position: books.position(),
        balances: balances(books, region, as_of)?,
        statistics: Statistics {
            insured_bmi,
            insured_maternity,
            benefit_person_times,
            maternity_medical_person_times: lines.maternity_medical_person_times,
            allowance_person_times: lines.allowance_person_times,
        },
        risk: risk(books, rules, region, as_of)?,
        lines,
    })
}
