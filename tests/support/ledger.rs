//! A ledger (log + books) in a directory, and the canonical scenarios run through it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use fundledger::domain::command::{MigrateEnrollments, MigrationRecord, RegisterEmployer};
use fundledger::domain::scenarios::{Scenario, Step, canonical};
use fundledger::domain::{Command, EmployerCategory, EmployerId, PersonId, RegionId, Yuan};
use fundledger::log::{Log, LogConfig, digest};
use fundledger::projections::{CommandMeta, Executed, Ledger};

/// Opens (or reopens) the ledger kept in `dir`: the log in `dir/log`, the books'
/// checkpoints in `dir/books`.
pub fn open_ledger(dir: &Path) -> Ledger {
    let log = Log::open(&LogConfig::new(dir.join("log"))).unwrap();
    Ledger::open(Arc::new(log), &dir.join("books")).unwrap()
}

/// A fresh ledger in a temporary directory (the shipped rulebook appended as genesis).
pub fn temp_ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(dir.path());
    (dir, ledger)
}

/// The metadata of a command: its id, a fixed actor, a digest over the id and the command.
pub fn meta(command_id: &str, command: &Command) -> CommandMeta {
    CommandMeta {
        command_id: command_id.to_owned(),
        actor: "scenario".to_owned(),
        request_digest: digest(format!("{command_id} {command:?}").as_bytes()),
        expected: Vec::new(),
    }
}

/// Executes one step; panics with the step's id if it is refused or was already applied.
pub fn execute(ledger: &Ledger, step: &Step) -> Executed {
    let executed = ledger
        .execute(&step.command, &meta(&step.command_id, &step.command))
        .unwrap_or_else(|error| panic!("step {} failed: {error}", step.command_id));
    assert!(!executed.replayed, "step {} is new", step.command_id);
    assert!(
        !executed.events.is_empty(),
        "step {} appends events",
        step.command_id
    );
    executed
}

/// Executes every step of a scenario in order.
pub fn run(ledger: &Ledger, scenario: &Scenario) {
    for step in &scenario.steps {
        execute(ledger, step);
    }
}

/// The canonical scenario of `region`.
pub fn scenario(region: &str) -> Scenario {
    canonical()
        .into_iter()
        .find(|scenario| scenario.region.as_str() == region)
        .unwrap_or_else(|| panic!("no canonical scenario for {region}"))
}

/// Registers `employer` in Lanzhou (for bulk histories).
pub fn register_bulk_employer(ledger: &Ledger, employer: &str) {
    let command = Command::from(RegisterEmployer {
        employer: EmployerId::new(employer),
        region: RegionId::new("gansu-lanzhou"),
        category: EmployerCategory::Enterprise,
        name: format!("{employer} 单位"),
        registered_on: jiff::civil::date(2018, 1, 2),
        average_monthly_wage: Yuan::parse("wage", "5000").unwrap(),
    });
    let command_id = format!("bulk-register-{employer}");
    ledger
        .execute(&command, &meta(&command_id, &command))
        .unwrap();
}

/// Migrates `count` new persons (`<employer>-<batch>-<n>`) of `employer` in one command:
/// `count` events.
pub fn migrate_bulk(ledger: &Ledger, employer: &str, batch: u32, count: u32) -> Executed {
    let records = (0..count)
        .map(|index| MigrationRecord {
            person: PersonId::new(format!("{employer}-{batch}-{index}")),
            employer: EmployerId::new(employer),
            held_bmi: true,
            held_maternity: index % 2 == 0,
            insured_since: jiff::civil::date(2018, 1, 2),
        })
        .collect();
    let command = Command::from(MigrateEnrollments {
        region: RegionId::new("gansu-lanzhou"),
        agency: "兰州市医疗保障局".to_owned(),
        migrated_on: jiff::civil::date(2019, 9, 1),
        records,
    });
    let command_id = format!("bulk-migrate-{employer}-{batch}");
    ledger
        .execute(&command, &meta(&command_id, &command))
        .unwrap()
}
