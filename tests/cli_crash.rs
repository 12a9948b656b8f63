//! `fundledger bench crash` as an operator runs it (issue 17, point 6): `serve` as a child
//! process, killed with SIGKILL while concurrent gRPC clients send commands, restarted on
//! the same data; every acknowledged command is found in the store at the position it was
//! acknowledged with, and the chain verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// Three kill/restart cycles under four clients lose no acknowledged command and break
/// no chain, and the bench says so in figures.
#[test]
fn kill_restart_cycles_lose_no_acknowledged_command() {
    let output = Command::new(env!("CARGO_BIN_EXE_fundledger"))
        .args(["bench", "crash", "--cycles", "3", "--clients", "4"])
        .args(["--min-run-ms", "100", "--max-run-ms", "600"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let figures = stdout
        .lines()
        .find(|line| line.starts_with("cycles 3;"))
        .unwrap();
    assert!(figures.contains("lost 0; verify failures 0;"), "{figures}");
    let acknowledged: u64 = figures
        .split("acknowledged commands ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        acknowledged > 0,
        "the clients got commands through: {figures}"
    );
}
