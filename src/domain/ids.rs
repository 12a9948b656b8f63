//! Identifiers and the contribution month. Plain strings on the wire; the newtypes keep
//! a person id from being passed where an employer id is expected.

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Builds the id from anything string-like.
            pub fn new(text: impl Into<String>) -> Self {
                Self(text.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A pooling region (统筹地区), e.g. `beijing`, `gansu`, `gansu-lanzhou`.
    RegionId
);
string_id!(
    /// An employer (用人单位), e.g. its unified social credit code.
    EmployerId
);
string_id!(
    /// An insured person, e.g. the resident identity number.
    PersonId
);
string_id!(
    /// One birth event (one delivery, possibly several babies).
    BirthId
);
string_id!(
    /// One pregnancy, the unit of the prenatal-check quota.
    PregnancyId
);
string_id!(
    /// One medical claim settled with a designated institution.
    ClaimId
);

/// A contribution month (费款所属期), e.g. 2019-08.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Month {
    /// Calendar year.
    pub year: i16,
    /// Month of the year, 1..=12.
    pub month: i8,
}

impl Month {
    /// A checked month (1..=12, year 1..=9999): the way in for wire input.
    pub fn new(year: i16, month: i8) -> Result<Month, super::rejection::Rejection> {
        if (1..=12).contains(&month) && (1..=9999).contains(&year) {
            Ok(Month { year, month })
        } else {
            Err(super::rejection::Rejection::InvalidMonth { year, month })
        }
    }

    /// The month containing `date`.
    pub fn of(date: Date) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The first day of the month: the business date of anything computed for it.
    /// An out-of-range month (only reachable through a malformed payload) clamps into
    /// the valid calendar so that replay stays total.
    pub fn first_day(self) -> Date {
        let year = self.year.clamp(1, 9999);
        let month = self.month.clamp(1, 12);
        Date::new(year, month, 1).unwrap_or(Date::MIN)
    }

    /// The last day of the month.
    pub fn last_day(self) -> Date {
        self.first_day().last_of_month()
    }
}

impl fmt::Display for Month {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;

    /// Month::new refuses month 13 and 0; first and last days are calendar-correct.
    #[test]
    fn months_are_checked_and_bounded() {
        assert!(Month::new(2020, 13).is_err());
        assert!(Month::new(2020, 0).is_err());
        let february = Month::new(2020, 2).unwrap();
        assert_eq!(february.first_day(), jiff::civil::date(2020, 2, 1));
        assert_eq!(february.last_day(), jiff::civil::date(2020, 2, 29)); // leap year
        assert_eq!(february.to_string(), "2020-02");
    }
}
