//! The domain room imports nothing from tokio, sled, tonic or prost (STYLE: the domain
//! is the centre and does no I/O). Scans every source file under `src/domain`.

use std::fs;
use std::path::{Path, PathBuf};

const FORBIDDEN: [&str; 6] = ["tokio", "sled", "tonic", "prost", "std::fs", "std::net"];

fn rust_files(directory: &Path, found: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(directory).unwrap_or_else(|error| panic!("{directory:?}: {error}"));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// True when a line of code imports `word` or uses a path through it: `use word…`,
/// `extern crate word`, or `word::` anywhere (so a mention in a string is no offence).
fn names(code: &str, word: &str) -> bool {
    let tokens: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter(|token| !token.is_empty())
        .collect();
    let trimmed = code.trim_start();
    let importing = trimmed.starts_with("use ")
        || trimmed.starts_with("pub use ")
        || trimmed.starts_with("extern crate ");
    tokens.iter().any(|token| {
        token.starts_with(&format!("{word}::"))
            || token.contains(&format!("::{word}::"))
            || (importing && (*token == word || token.trim_start_matches("::") == word))
    })
}

/// No line of code (comments and doc comments aside) under src/domain names a forbidden
/// crate or I/O module.
#[test]
fn domain_imports_no_io_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(
        files.len() > 10,
        "the scan must see the domain sources, saw {}",
        files.len()
    );
    let mut offences = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap_or_else(|error| panic!("{file:?}: {error}"));
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in FORBIDDEN {
                if names(code, word) {
                    offences.push(format!(
                        "{}:{}: {}",
                        file.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "the domain must not use {FORBIDDEN:?}:\n{}",
        offences.join("\n")
    );
}

/// The scan itself catches an import (guards against a scan that matches nothing).
#[test]
fn the_scan_would_catch_an_import() {
    assert!(names("use tokio::sync::mpsc;", "tokio"));
    assert!(names("    let db = sled::open(path)?;", "sled"));
    assert!(names("extern crate tonic;", "tonic"));
    assert!(names("use std::fs;", "std::fs"));
    assert!(!names(
        "\"a chunk must fit in one inline sled value\"",
        "sled"
    ));
}
