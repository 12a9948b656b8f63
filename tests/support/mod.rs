//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use fundledger::log::{
    AppendRequest, ExpectedVersion, Log, LogConfig, NewEvent, OpenCheck, digest,
};

/// A log in a fresh temporary directory.
pub fn temp_log() -> (tempfile::TempDir, Log) {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    (dir, log)
}

/// Opens the log in `path` with a full check.
pub fn open(path: &std::path::Path) -> Log {
    let mut config = LogConfig::new(path);
    config.open_check = OpenCheck::Full;
    Log::open(&config).unwrap()
}

/// An event for `stream` whose payload is `text`.
pub fn event(stream: &str, text: &str) -> NewEvent {
    NewEvent {
        stream_id: stream.to_owned(),
        event_type: "TestEvent".to_owned(),
        schema_version: 1,
        business_date: jiff::civil::date(2020, 1, 1),
        payload: text.as_bytes().to_vec(),
    }
}

/// A command appending `events`, with a digest over the command id and the payloads.
pub fn command(id: &str, events: Vec<NewEvent>) -> AppendRequest {
    let mut material = id.as_bytes().to_vec();
    for event in &events {
        material.extend_from_slice(event.stream_id.as_bytes());
        material.extend_from_slice(&event.payload);
    }
    AppendRequest {
        command_id: id.to_owned(),
        request_digest: digest(&material),
        actor: "test".to_owned(),
        expectations: Vec::new(),
        expected_head: None,
        events,
    }
}

/// The same command with an expectation on `stream`.
pub fn expecting(
    mut request: AppendRequest,
    stream: &str,
    version: ExpectedVersion,
) -> AppendRequest {
    request.expectations.push((stream.to_owned(), version));
    request
}

pub mod ledger;
