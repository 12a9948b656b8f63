//! `fundledger serve` as a user runs it: what it refuses, it refuses before touching the
//! disk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// Regression (issue 19): `serve` that refused a non-loopback listen without an access
/// config had already created the data directory. The refusal now comes first: the exit
/// is a failure naming the rule, and the data path still does not exist.
#[test]
fn serve_refuses_local_trust_off_loopback_before_creating_the_data_directory() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("never-created");
    let output = Command::new(env!("CARGO_BIN_EXE_fundledger"))
        .arg("serve")
        .arg("--data")
        .arg(&data)
        .args(["--listen", "0.0.0.0:0"])
        .env_remove("FUNDLEDGER_ACCESS_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "refused as a failure: {stderr}"
    );
    assert!(
        stderr.contains("refusing to serve 0.0.0.0:0 without an access config"),
        "the refusal names the rule: {stderr}"
    );
    assert!(
        !data.exists(),
        "the refused serve created {} (contents: {:?})",
        data.display(),
        std::fs::read_dir(&data).map(|entries| entries.count())
    );
}
