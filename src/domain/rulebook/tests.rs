//! Rulebook tests: shipped data loads, lookup by date, nesting, typed misses.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use jiff::civil::date;

use super::*;

fn shipped() -> Rulebook {
    Rulebook::shipped().unwrap()
}

/// Every shipped file parses and every value is valid for its parameter.
#[test]
fn shipped_rulebook_loads() {
    let rules = shipped();
    for region in [
        "china",
        "chongqing",
        "gansu",
        "gansu-lanzhou",
        "gansu-tianshui",
        "kizilsu",
        "tianjin",
        "beijing",
    ] {
        assert!(
            rules.region(&RegionId::new(region)).is_some(),
            "{region} is shipped"
        );
    }
}

/// Beijing's extra leave switches on 2021-11-26: the day before is 30, the day itself 60.
#[test]
fn lookup_takes_the_latest_value_not_after_the_date() {
    let rules = shipped();
    let beijing = RegionId::new("beijing");
    let days = |d| {
        rules
            .count(&beijing, "regional_extra_leave_days", d)
            .unwrap()
            .0
    };
    assert_eq!(days(date(2021, 11, 25)), 30);
    assert_eq!(days(date(2021, 11, 26)), 60);
    assert_eq!(days(date(2025, 1, 1)), 60);
}

/// Lanzhou sets its own rate; it inherits the merge date and cutoff from Gansu and the
/// national leave from China.
#[test]
fn children_inherit_what_they_do_not_set() {
    let rules = shipped();
    let lanzhou = RegionId::new("gansu-lanzhou");
    let on = date(2019, 8, 1);
    let (rate, applied) = rules.rate(&lanzhou, "maternity_rate", on).unwrap();
    assert_eq!(rate.to_string(), "0.7%");
    assert_eq!(applied.found_in, lanzhou);
    let (cutoff, applied) = rules
        .date(&lanzhou, "clearance_cutoff", date(2019, 11, 30))
        .unwrap();
    assert_eq!(cutoff, date(2019, 11, 30));
    assert_eq!(applied.found_in, RegionId::new("gansu"));
    assert_eq!(
        rules.count(&lanzhou, "national_leave_days", on).unwrap().0,
        98
    );
}

/// A value missing on a date names region, parameter and date.
#[test]
fn missing_value_is_a_typed_error() {
    let rules = shipped();
    let result = rules.rate(
        &RegionId::new("beijing"),
        "employer_bmi_rate",
        date(2019, 12, 31),
    );
    assert_eq!(
        result,
        Err(Rejection::RuleMissing {
            region: RegionId::new("beijing"),
            parameter: "employer_bmi_rate".to_string(),
            date: date(2019, 12, 31),
        })
    );
}

/// Replaying the genesis events into an empty rulebook rebuilds the shipped one.
#[test]
fn genesis_events_rebuild_the_rulebook() {
    let rules = shipped();
    let mut rebuilt = Rulebook::empty();
    for event in rules.genesis_events() {
        rebuilt.apply(&event);
    }
    assert_eq!(rebuilt, rules);
}

/// Amendments are checked against the parameter's kind.
#[test]
fn values_are_checked_against_their_kind() {
    let region = RegionId::new("beijing");
    assert!(matches!(
        validate_value(&region, "maternity_rate", "8%"),
        Err(Rejection::RuleValueInvalid { .. })
    ));
    assert!(matches!(
        validate_value(&region, "no_such_rule", "1"),
        Err(Rejection::UnknownParameter { .. })
    ));
    assert_eq!(
        validate_value(&region, "delivery_payment.caesarean.tertiary", "5000"),
        Ok(())
    );
}

/// Tianjin's 2024 notice adds a maternity income item from 2024-05-22; Beijing has none.
#[test]
fn tianjin_maternity_income_item_from_2024_05_22() {
    let rules = shipped();
    let tianjin = RegionId::new("tianjin");
    assert_eq!(
        rules.shows_maternity_income_item(&tianjin, date(2024, 5, 21)),
        Ok(false)
    );
    assert_eq!(
        rules.shows_maternity_income_item(&tianjin, date(2024, 5, 22)),
        Ok(true)
    );
    assert_eq!(
        rules.shows_maternity_income_item(&RegionId::new("beijing"), date(2024, 6, 1)),
        Ok(false)
    );
}

/// Genesis events go to `region/<id>` streams and survive bincode (the log's codec).
#[test]
fn genesis_events_round_trip_through_bincode() {
    let config = bincode::config::standard();
    let events = shipped().genesis_events();
    assert!(events.len() > 50, "every shipped value is a genesis event");
    for event in &events {
        assert!(event.stream_id().starts_with("region/"));
        let bytes = bincode::serde::encode_to_vec(event, config).unwrap();
        let (decoded, _): (Event, usize) =
            bincode::serde::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(&decoded, event);
    }
}

/// Every shipped value carries an authority, a document and a tag; [A] values are
/// marked as assumptions in their document text.
#[test]
fn every_shipped_value_names_its_source() {
    let rules = shipped();
    for event in rules.genesis_events() {
        if let Event::RuleAmended(amended) = event {
            assert!(
                !amended.value.authority.is_empty(),
                "{} has an authority",
                amended.parameter
            );
            assert!(
                !amended.value.document.is_empty(),
                "{} has a document",
                amended.parameter
            );
        }
    }
}
