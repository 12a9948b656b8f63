//! `fundledger demo` as a user runs it: the built binary sends the five canonical scenarios
//! to its temporary server over gRPC and prints each region's reports. The figures checked
//! here are the golden snapshots' (`snapshots/golden-*.snap`), read back over the wire.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// The report block `-- <region> as of <date> (...` up to the next blank line.
fn report<'a>(output: &'a str, region: &str, date: &str) -> &'a str {
    let heading = format!("-- {region} as of {date} (");
    let start = output
        .find(&heading)
        .unwrap_or_else(|| panic!("no report headed {heading:?} in:\n{output}"));
    let block = &output[start..];
    &block[..block.find("\n\n").unwrap_or(block.len())]
}

/// The label's line in a report block, with its padding collapsed to single spaces.
fn line(block: &str, label: &str) -> String {
    let found = block
        .lines()
        .find(|line| line.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{block}"));
    found.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The demo exits successfully, sends every region's steps, and prints the reports with the
/// golden figures: Beijing's year 2020 and Tianjin's maternity income item from 2024-05-22,
/// and Gansu's back-payment of 2019-08 absent as known before it and present now.
#[test]
fn demo_prints_the_five_regions_reports_with_the_golden_figures() {
    let stdout = demo(&[]);
    for region in [
        "chongqing",
        "gansu-lanzhou",
        "kizilsu",
        "tianjin",
        "beijing",
    ] {
        assert!(
            stdout.contains(&format!("\n{region}  {region}-001-")),
            "{region}'s first step is sent"
        );
        assert!(
            stdout.contains(&format!("-- {region} as of ")),
            "{region} is reported"
        );
    }
    assert!(!stdout.contains("refused"), "no canonical step is refused");

    // golden-beijing-2020-12-31: BMI income 9257.82 of which maternity 627.66; medical
    // 5000 for 2 claims; allowance 63200.00 for one birth; pooled fund -60511.30, red.
    let beijing = report(&stdout, "beijing", "2020-12-31");
    assert_eq!(
        line(beijing, "BMI income"),
        "BMI income (incl. maternity) 9257.82"
    );
    assert_eq!(
        line(beijing, "of which maternity"),
        "of which maternity 627.66"
    );
    assert_eq!(
        line(beijing, "maternity medical"),
        "maternity medical 5000.00 2 person-times"
    );
    assert_eq!(
        line(beijing, "allowance "),
        "allowance 63200.00 1 person-times"
    );
    assert_eq!(
        line(beijing, "risk:"),
        "risk: pooled fund -60511.30, average monthly expenditure 5683.33, \
         -10.65 months of cover: band red"
    );

    // golden-tianjin-2024-04-30 / -05-31 / -12-31: the maternity income item starts on
    // 2024-05-22: 0 in April, 90.00 for May, 180.00 for the year; allowance 44766.67.
    let item = |date| line(report(&stdout, "tianjin", date), "maternity income item");
    assert_eq!(item("2024-04-30"), "maternity income item 0.00");
    assert_eq!(item("2024-05-31"), "maternity income item 90.00");
    assert_eq!(item("2024-12-31"), "maternity income item 180.00");
    let tianjin = report(&stdout, "tianjin", "2024-12-31");
    assert_eq!(
        line(tianjin, "allowance "),
        "allowance 44766.67 1 person-times"
    );

    // golden-gansu-lanzhou-2019-08-31: the back-payment booked 2020-03-15 adds 2019-08's
    // 873.00 (maternity 63.00); as known just before it, 2019-08 had no income.
    let contrast_start = stdout
        .find("-- gansu-lanzhou as of 2019-08-31: as known at position")
        .expect("the Gansu as-known contrast is printed");
    let contrast = &stdout[contrast_start..];
    assert_eq!(
        line(contrast, "BMI income"),
        "BMI income (incl. maternity) 0.00 -> 873.00"
    );
    assert_eq!(
        line(contrast, "of which maternity"),
        "of which maternity 0.00 -> 63.00"
    );
}

/// Runs `fundledger demo` with extra arguments and returns its standard output.
fn demo(arguments: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_fundledger"))
        .arg("demo")
        .args(arguments)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "demo failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// With `--data` the store is kept: a second run over it sends the same command ids, every
/// one is answered as a replay (nothing appended), and the reports are the same.
#[test]
fn demo_over_a_kept_store_replays_every_step_and_reports_the_same() {
    let directory = tempfile::tempdir().unwrap();
    let data = [std::ffi::OsStr::new("--data"), directory.path().as_os_str()];
    let first = demo(&data);
    assert!(
        !first.contains("(replayed)"),
        "a fresh store appends every step"
    );
    let second = demo(&data);
    let steps = second
        .lines()
        .filter(|line| line.contains("  -> "))
        .collect::<Vec<_>>();
    assert!(!steps.is_empty());
    for step in &steps {
        assert!(step.ends_with("(replayed)"), "not a replay: {step}");
    }
    let reports = |output: &str| {
        let start = output.find("== reports").unwrap();
        output[start..].to_owned()
    };
    assert_eq!(reports(&first), reports(&second));
}
