//! Money and rates: `Yuan` (fen precision) and `Rate` (a fraction), both over
//! `rust_decimal::Decimal`. Every operation is checked; overflow is a `Rejection`.
//! Never floating point.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::rejection::Rejection;

/// An amount of money in yuan. Serialises as a decimal string (`"1234.56"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Yuan(Decimal);

/// A contribution rate as a fraction of the base (`0.085` is 8.5%). Serialises as a
/// decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rate(Decimal);

// rust_decimal's own `Deserialize` calls `deserialize_any`, which bincode (not
// self-describing) refuses with `AnyNotSupported`; these impls write and read a string
// through `serialize_str` / `deserialize_str` only, so events round-trip through bincode.
struct DecimalText;

impl serde::de::Visitor<'_> for DecimalText {
    type Value = Decimal;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a decimal number as a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Decimal, E> {
        text.parse::<Decimal>()
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(text), &self))
    }
}

impl Serialize for Yuan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Yuan {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = deserializer.deserialize_str(DecimalText)?;
        if value.scale() > 2 {
            return Err(serde::de::Error::custom("yuan with more than two decimals"));
        }
        Ok(Yuan(value))
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(DecimalText).map(Rate)
    }
}

/// Rounds a computed amount once, half away from zero (四舍五入), to 0.01 yuan.
///
/// This is the only rounding function in the crate: every figure that is not an exact
/// sum or difference of already-rounded amounts passes through here exactly once.
pub fn round_fen(value: Decimal) -> Yuan {
    Yuan(value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

fn overflow(operation: &'static str) -> Rejection {
    Rejection::ArithmeticOverflow { operation }
}

impl Yuan {
    /// Zero yuan.
    pub const ZERO: Yuan = Yuan(Decimal::ZERO);

    /// Parses a decimal string strictly: at most two decimals, no exponent, no spaces.
    pub fn parse(field: &'static str, text: &str) -> Result<Yuan, Rejection> {
        let invalid = || Rejection::MalformedAmount {
            field,
            text: text.to_string(),
        };
        let well_formed = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
            && text
                .split('.')
                .nth(1)
                .is_none_or(|fraction| fraction.len() <= 2);
        if !well_formed {
            return Err(invalid());
        }
        text.parse::<Decimal>().map(Yuan).map_err(|_| invalid())
    }

    /// Wraps a decimal that is already a fen amount; anything finer is rounded once.
    pub fn from_decimal(value: Decimal) -> Yuan {
        round_fen(value)
    }

    /// The underlying decimal.
    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// True when the amount is below zero.
    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// True when the amount is exactly zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// The absolute value.
    pub fn abs(self) -> Yuan {
        Yuan(self.0.abs())
    }

    /// Checked addition.
    pub fn checked_add(self, other: Yuan) -> Result<Yuan, Rejection> {
        self.0
            .checked_add(other.0)
            .map(Yuan)
            .ok_or_else(|| overflow("yuan addition"))
    }

    /// Checked subtraction.
    pub fn checked_sub(self, other: Yuan) -> Result<Yuan, Rejection> {
        self.0
            .checked_sub(other.0)
            .map(Yuan)
            .ok_or_else(|| overflow("yuan subtraction"))
    }

    /// Checked negation (cannot overflow for decimals, kept for symmetry).
    pub fn negated(self) -> Yuan {
        Yuan(-self.0)
    }

    /// `round(self × rate)`: one rounding.
    pub fn times_rate(self, rate: Rate) -> Result<Yuan, Rejection> {
        self.0
            .checked_mul(rate.0)
            .map(round_fen)
            .ok_or_else(|| overflow("base × rate"))
    }

    /// `round(self × numerator / denominator)`: one rounding, multiplication first so
    /// that `9000 × 158 / 30` is exact before rounding.
    pub fn times_ratio(self, numerator: u32, denominator: u32) -> Result<Yuan, Rejection> {
        if denominator == 0 {
            return Err(overflow("division by a zero divisor"));
        }
        self.0
            .checked_mul(Decimal::from(numerator))
            .and_then(|product| product.checked_div(Decimal::from(denominator)))
            .map(round_fen)
            .ok_or_else(|| overflow("amount × days / divisor"))
    }

    /// Sums amounts with checked arithmetic.
    pub fn sum<'a>(amounts: impl IntoIterator<Item = &'a Yuan>) -> Result<Yuan, Rejection> {
        amounts
            .into_iter()
            .try_fold(Yuan::ZERO, |total, amount| total.checked_add(*amount))
    }
}

impl fmt::Display for Yuan {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:.2}", self.0)
    }
}

impl Rate {
    /// Zero rate.
    pub const ZERO: Rate = Rate(Decimal::ZERO);

    /// Wraps a fraction (`0.085` for 8.5%).
    pub fn from_fraction(value: Decimal) -> Rate {
        Rate(value)
    }

    /// The fraction as a decimal.
    pub fn fraction(self) -> Decimal {
        self.0
    }

    /// Checked sum of two rates (the merged employer rate = BMI + maternity).
    pub fn checked_add(self, other: Rate) -> Result<Rate, Rejection> {
        self.0
            .checked_add(other.0)
            .map(Rate)
            .ok_or_else(|| overflow("rate addition"))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let percent = self.0 * Decimal::ONE_HUNDRED;
        write!(formatter, "{}%", percent.normalize())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;

    fn yuan(text: &str) -> Yuan {
        Yuan::parse("test", text).unwrap()
    }

    /// Rounding is half away from zero at the fen, for both signs.
    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_fen(Decimal::new(12345, 3)), yuan("12.35")); // 12.345 → 12.35
        assert_eq!(round_fen(Decimal::new(-12345, 3)), yuan("-12.35")); // −12.345 → −12.35
        assert_eq!(round_fen(Decimal::new(12344, 3)), yuan("12.34")); // 12.344 → 12.34
    }

    /// The allowance ratio multiplies before dividing: 10000 × 158 / 30 = 52666.666… → 52666.67.
    #[test]
    fn ratio_rounds_once() {
        assert_eq!(
            yuan("10000").times_ratio(158, 30).unwrap(),
            yuan("52666.67")
        );
    }

    /// Strict parsing refuses three decimals, exponents and blanks.
    #[test]
    fn parse_is_strict() {
        for bad in ["1.234", "1e3", "", " 1", "1,000", "abc"] {
            assert!(
                matches!(
                    Yuan::parse("amount", bad),
                    Err(Rejection::MalformedAmount { .. })
                ),
                "{bad:?} must be refused"
            );
        }
        assert_eq!(yuan("1234.5").to_string(), "1234.50");
    }

    /// Regression: rust_decimal's `Deserialize` uses `deserialize_any`, which bincode
    /// refuses (`AnyNotSupported`); Yuan and Rate must round-trip through bincode.
    #[test]
    fn money_round_trips_through_bincode() {
        let config = bincode::config::standard();
        let amount = yuan("-1234.50");
        let bytes = bincode::serde::encode_to_vec(amount, config).unwrap();
        let (decoded, _): (Yuan, usize) =
            bincode::serde::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(decoded, amount);
        let rate = Rate::from_fraction(Decimal::new(85, 3));
        let bytes = bincode::serde::encode_to_vec(rate, config).unwrap();
        let (decoded, _): (Rate, usize) =
            bincode::serde::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(decoded, rate);
    }

    /// Overflow is a rejection, never a panic.
    #[test]
    fn overflow_is_a_rejection() {
        let huge = Yuan(Decimal::MAX);
        assert!(matches!(
            huge.checked_add(huge),
            Err(Rejection::ArithmeticOverflow { .. })
        ));
    }
}
