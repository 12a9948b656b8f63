//! Fund risk warning (基金风险预警): months of cover of the pooled fund = balance ÷ the
//! trailing 12-month average monthly expenditure, banded by the region's thresholds
//! (SPEC §6: red < 3, amber 3–6, green 6–9, watch 9–15, over-reserved > 15).

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ids::RegionId;
use super::money::Yuan;
use super::rejection::Rejection;
use super::rulebook::Rulebook;

/// A risk band of the pooled fund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RiskBand {
    /// Under the red threshold.
    Red,
    /// Under the amber threshold.
    Amber,
    /// Under the green threshold.
    Green,
    /// Under the watch threshold.
    Watch,
    /// At or above the watch threshold.
    OverReserved,
}

/// Months of cover: `balance × 12 ÷ trailing 12-month expenditure`; `None` when nothing
/// was spent (cover is unbounded).
pub fn months_of_cover(balance: Yuan, trailing_year_expenditure: Yuan) -> Option<Decimal> {
    if trailing_year_expenditure.is_zero() || trailing_year_expenditure.is_negative() {
        return None;
    }
    balance
        .decimal()
        .checked_mul(Decimal::from(12))
        .and_then(|scaled| scaled.checked_div(trailing_year_expenditure.decimal()))
}

/// The band of a pooled-fund balance on `date` under the thresholds in force then.
pub fn risk_band(
    rules: &Rulebook,
    region: &RegionId,
    date: Date,
    balance: Yuan,
    trailing_year_expenditure: Yuan,
) -> Result<RiskBand, Rejection> {
    let Some(cover) = months_of_cover(balance, trailing_year_expenditure) else {
        return Ok(if balance.is_negative() {
            RiskBand::Red
        } else {
            RiskBand::OverReserved
        });
    };
    let bands = [
        ("risk_red_below_months", RiskBand::Red),
        ("risk_amber_below_months", RiskBand::Amber),
        ("risk_green_below_months", RiskBand::Green),
        ("risk_watch_below_months", RiskBand::Watch),
    ];
    for (parameter, band) in bands {
        let (threshold, _) = rules.count(region, parameter, date)?;
        if cover < Decimal::from(threshold) {
            return Ok(band);
        }
    }
    Ok(RiskBand::OverReserved)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::testing::{day, region, yuan};

    /// Cover of 5 months is amber; 3 is amber (the red band is below 3); 15 is over-reserved.
    #[test]
    fn bands_follow_the_thresholds() {
        let rules = Rulebook::shipped().unwrap();
        let band = |balance: &str, spent: &str| {
            risk_band(
                &rules,
                &region("tianjin"),
                day(2024, 6, 30),
                yuan(balance),
                yuan(spent),
            )
            .unwrap()
        };
        // 1,000,000 × 12 ÷ 2,400,000 = 5 months
        assert_eq!(band("1000000", "2400000"), RiskBand::Amber);
        // 600,000 × 12 ÷ 2,400,000 = 3 months
        assert_eq!(band("600000", "2400000"), RiskBand::Amber);
        // 590,000 × 12 ÷ 2,400,000 = 2.95 months
        assert_eq!(band("590000", "2400000"), RiskBand::Red);
        // 3,000,000 × 12 ÷ 2,400,000 = 15 months
        assert_eq!(band("3000000", "2400000"), RiskBand::OverReserved);
        assert_eq!(band("1", "0"), RiskBand::OverReserved);
    }
}
