//! The tools that only read a store (`verify`, `rebuild`, `export`) never create one
//! (issue 14, point 4): at a mistyped path they fail naming it, instead of reporting on an
//! empty store they made there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// Each reading command, pointed at a directory that does not exist, exits 1 saying there
/// is no event log there, and leaves the path as it was: absent.
#[test]
fn reading_tools_refuse_a_path_without_a_store_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("dtaa");
    let typo_text = typo.to_str().unwrap();
    let commands: [&[&str]; 4] = [
        &["verify", "--data", typo_text],
        &["rebuild", "--data", typo_text],
        &["export", "--data", typo_text, "events"],
        &[
            "export",
            "--data",
            typo_text,
            "report",
            "--region",
            "beijing",
            "--as-of",
            "2020-01-31",
        ],
    ];
    for arguments in commands {
        let output = Command::new(env!("CARGO_BIN_EXE_fundledger"))
            .args(arguments)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{arguments:?}: {stderr}");
        assert!(
            stderr.contains("no event log in"),
            "{arguments:?}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{arguments:?} printed a result");
        assert!(!typo.exists(), "{arguments:?} created the store");
    }
}
