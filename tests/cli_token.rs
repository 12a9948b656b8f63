//! `fundledger token hash` as an operator runs it: the token goes in on standard input,
//! the access config line comes out, and the config accepts that line for that token only.
//! An old config of bare SHA-256 digests is refused, naming the command that replaces it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use fundledger::api::access::{AccessConfig, Role};

/// Runs the binary with `args`, writing `stdin` to it.
fn fundledger(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fundledger"))
        .args(args)
        .env_remove("FUNDLEDGER_ACCESS_CONFIG")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The README's example: `printf %s 'auditor-secret-1' | fundledger token hash` prints one
/// `argon2 = "$argon2id$..."` line, which an access config accepts for that token and no
/// other; `echo`'s newline is not part of the token; the short token draws a note.
#[test]
fn token_hash_prints_a_line_the_access_config_accepts() {
    for input in ["auditor-secret-1", "auditor-secret-1\n"] {
        let output = fundledger(&["token", "hash"], input);
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        let line = stdout.trim_end();
        assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
        assert!(
            line.starts_with("argon2 = \"$argon2id$v=19$m=19456,t=2,p=1$"),
            "{line}"
        );
        assert!(stderr.contains("can be guessed"), "{stderr}");
        let config = AccessConfig::parse(&format!(
            "[[token]]\nname = \"audit-office\"\nrole = \"auditor\"\n{line}\n"
        ))
        .unwrap();
        let caller = config.caller("auditor-secret-1").unwrap();
        assert_eq!(
            (caller.name.as_str(), caller.role),
            ("audit-office", Role::Auditor)
        );
        assert!(config.caller("auditor-secret-2").is_none());
        assert!(config.caller("").is_none());
    }
}

/// An empty token is refused, not hashed.
#[test]
fn token_hash_refuses_an_empty_token() {
    let output = fundledger(&["token", "hash"], "\n");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("the token is empty"));
    assert!(output.stdout.is_empty());
}

/// `serve` with an old access config (a bare `sha256 =` digest) refuses to start, naming
/// the token and the command that makes its argon2 line.
#[test]
fn serve_refuses_a_bare_sha256_config_naming_the_fix() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("access.toml");
    std::fs::write(
        &config,
        "[[token]]\nname = \"audit-office\"\nrole = \"auditor\"\n\
         sha256 = \"b3917b7806d37ddf66e5091358d9d2092a95592b3076fb1292edd5bd31cde625\"\n",
    )
    .unwrap();
    let data = directory.path().join("data");
    let output = fundledger(
        &[
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--access-config",
            config.to_str().unwrap(),
        ],
        "",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("\"audit-office\""), "{stderr}");
    assert!(stderr.contains("fundledger token hash"), "{stderr}");
}
