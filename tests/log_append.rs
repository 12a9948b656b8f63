//! The event log's append contract: atomicity, optimistic concurrency, idempotency,
//! dense positions across restarts, and corruption detection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use fundledger::log::{Error, ExpectedVersion, Log, LogConfig, OpenCheck};
use support::{command, event, expecting, open, temp_log};

/// A command's events land together, at consecutive positions, with stream versions.
#[test]
fn multi_event_append_is_atomic_and_dense() {
    let (_dir, log) = temp_log();
    let appended = log
        .append_blocking(command(
            "c1",
            vec![
                event("person/a", "1"),
                event("employer/x", "2"),
                event("person/a", "3"),
            ],
        ))
        .unwrap();
    assert_eq!(appended.positions(), 1..4);
    let events: Vec<_> = log.read_range(1, 100).map(Result::unwrap).collect();
    assert_eq!(events.len(), 3);
    assert_eq!(
        events
            .iter()
            .map(|e| (e.position, e.stream_id.as_str(), e.stream_version))
            .collect::<Vec<_>>(),
        vec![(1, "person/a", 1), (2, "employer/x", 1), (3, "person/a", 2)]
    );
    assert!(events.iter().all(|e| e.command_id == "c1"));
    assert_eq!(
        events[1].previous_hash, events[0].hash,
        "the chain links each event to the last"
    );
    let stream: Vec<_> = log
        .read_stream("person/a", 1, 10)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        stream.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![1, 3]
    );
}

/// A command whose expectation fails writes nothing at all, not even part of its events.
#[test]
fn a_conflicting_command_writes_nothing() {
    let (_dir, log) = temp_log();
    log.append_blocking(command("c1", vec![event("person/a", "1")]))
        .unwrap();
    let refused = log.append_blocking(expecting(
        command("c2", vec![event("person/b", "x"), event("person/a", "y")]),
        "person/a",
        ExpectedVersion::NoStream,
    ));
    assert!(matches!(
        refused,
        Err(Error::VersionConflict { ref stream_id, actual: 1, .. }) if stream_id == "person/a"
    ));
    assert_eq!(log.head().position, 1);
    assert_eq!(log.stream_version("person/b").unwrap(), 0);
    // The id of a refused command is not consumed: it can be retried once fixed.
    let retried = log
        .append_blocking(expecting(
            command("c2", vec![event("person/b", "x"), event("person/a", "y")]),
            "person/a",
            ExpectedVersion::Exact(1),
        ))
        .unwrap();
    assert_eq!(retried.positions(), 2..4);
}

/// Many tasks race on one stream's expected version: exactly one wins each version.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_racer_wins_each_version() {
    let (_dir, log) = temp_log();
    let log = Arc::new(log);
    const RACERS: usize = 16;
    const VERSIONS: u64 = 12;
    for version in 0..VERSIONS {
        let expected = if version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(version)
        };
        let mut tasks = Vec::new();
        for racer in 0..RACERS {
            let log = Arc::clone(&log);
            tasks.push(tokio::spawn(async move {
                let id = format!("v{version}-r{racer}");
                log.append(expecting(
                    command(&id, vec![event("fund/bj", &id)]),
                    "fund/bj",
                    expected,
                ))
                .await
            }));
        }
        let mut wins = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => wins += 1,
                Err(Error::VersionConflict { actual, .. }) => assert_eq!(actual, version + 1),
                Err(other) => panic!("unexpected error {other}"),
            }
        }
        assert_eq!(wins, 1, "exactly one racer appends at version {version}");
        assert_eq!(log.stream_version("fund/bj").unwrap(), version + 1);
    }
    assert_eq!(log.head().position, VERSIONS);
}

/// A retry with the same id and request returns the original positions and appends nothing;
/// the same id with another request is refused.
#[test]
fn idempotency_is_permanent_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let original = {
        let log = open(dir.path());
        log.append_blocking(command("first", vec![event("s/1", "a")]))
            .unwrap();
        let original = log
            .append_blocking(command("pay-1", vec![event("s/1", "b"), event("s/2", "c")]))
            .unwrap();
        let retry = log
            .append_blocking(command("pay-1", vec![event("s/1", "b"), event("s/2", "c")]))
            .unwrap();
        assert_eq!(retry.positions(), original.positions());
        assert!(retry.replayed && !original.replayed);
        assert_eq!(log.head().position, 3);
        original
    };
    let log = open(dir.path());
    let retry = log
        .append_blocking(command("pay-1", vec![event("s/1", "b"), event("s/2", "c")]))
        .unwrap();
    assert_eq!(retry.positions(), original.positions());
    let other = log.append_blocking(command("pay-1", vec![event("s/1", "DIFFERENT")]));
    assert!(matches!(
        other,
        Err(Error::IdempotencyConflict {
            first_position: 2,
            ..
        })
    ));
    assert_eq!(
        log.head().position,
        3,
        "neither the retry nor the refusal appended"
    );
}

/// Positions stay dense and monotonic, and the chain verifies, across several restarts.
#[test]
fn positions_stay_dense_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..4 {
        let log = open(dir.path());
        for index in 0..25 {
            let id = format!("r{round}-{index}");
            log.append_blocking(command(&id, vec![event(&format!("p/{index}"), &id)]))
                .unwrap();
        }
        assert_eq!(log.head().position, (round + 1) * 25);
    }
    let log = open(dir.path());
    let positions: Vec<u64> = log
        .read_range(1, u64::MAX)
        .map(|e| e.unwrap().position)
        .collect();
    assert_eq!(positions, (1..=100).collect::<Vec<_>>());
    let report = log.verify(None, &mut |_| {}).unwrap();
    assert_eq!(report.head, log.head());
    assert_eq!(report.events_verified, 100);
}

/// A store created with sled's default segment size (every store before the log chose 8 MiB
/// segments) keeps it: the log opens it, appends and reads back, instead of sled refusing
/// a changed segment size.
#[test]
fn a_store_with_the_old_segment_size_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    drop(sled::Config::new().path(dir.path()).open().unwrap());
    for round in 0..2 {
        let log = open(dir.path());
        let id = format!("old-segments-{round}");
        log.append_blocking(command(&id, vec![event("p/old", &id)]))
            .unwrap();
        assert_eq!(log.read_range(1, u64::MAX).count(), round + 1);
    }
    let conf = std::fs::read(dir.path().join("conf")).unwrap();
    let conf = String::from_utf8_lossy(&conf);
    assert!(conf.contains("segment_size: 524288"), "{conf}");
}

/// Large commands are split into several blocks that stay well under sled's blob threshold,
/// and still read back in order.
#[test]
fn large_commands_span_blocks() {
    let (_dir, log) = temp_log();
    let events: Vec<_> = (0..2000)
        .map(|index| event("employer/big", &format!("{index:0>100}")))
        .collect();
    let appended = log.append_blocking(command("bulk", events)).unwrap();
    assert_eq!(appended.positions(), 1..2001);
    let read: Vec<_> = log.read_range(1500, 10).map(Result::unwrap).collect();
    assert_eq!(read.first().map(|e| e.position), Some(1500));
    assert_eq!(read.len(), 10);
    assert_eq!(log.verify(None, &mut |_| {}).unwrap().events_verified, 2000);
}

/// A borrowed scan hands over the same events as the owned read, from inside a block and
/// across blocks, stopping at its limit and at the head.
#[test]
fn a_scan_sees_what_a_read_sees() {
    let (_dir, log) = temp_log();
    let events: Vec<_> = (0..2000)
        .map(|index| event("employer/big", &format!("{index:0>100}")))
        .collect();
    log.append_blocking(command("bulk", events)).unwrap();
    for (from, limit) in [
        (1, u64::MAX),
        (1500, 10),
        (0, 3),
        (1999, 10),
        (2001, 5),
        (7, 0),
    ] {
        let read: Vec<_> = log
            .read_range(from, limit)
            .map(|envelope| {
                let envelope = envelope.unwrap();
                (envelope.position, envelope.event_type, envelope.payload)
            })
            .collect();
        let mut scanned = Vec::new();
        let count = log
            .scan_range::<Error>(from, limit, &mut |stored| {
                scanned.push((
                    stored.position,
                    stored.event_type.to_owned(),
                    stored.payload.to_vec(),
                ));
                Ok(())
            })
            .unwrap();
        assert_eq!(scanned, read, "from {from}, limit {limit}");
        assert_eq!(count, read.len() as u64);
    }
}

/// Bad appends are refused with the field named, and nothing is written.
#[test]
fn invalid_appends_name_the_field() {
    let (_dir, log) = temp_log();
    let empty_id = log.append_blocking(command("", vec![event("s/1", "a")]));
    assert!(matches!(
        empty_id,
        Err(Error::InvalidAppend {
            field: "command_id",
            ..
        })
    ));
    let bad_stream = log.append_blocking(command("c", vec![event("bad\nstream", "a")]));
    assert!(matches!(
        bad_stream,
        Err(Error::InvalidAppend {
            field: "stream_id",
            ..
        })
    ));
    assert_eq!(log.head().position, 0);
}

/// The position recorded at a time answers "as known at T".
#[test]
fn position_at_a_recorded_time() {
    let (_dir, log) = temp_log();
    let before = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1);
    log.append_blocking(command("a", vec![event("s/1", "a")]))
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let between = jiff::Timestamp::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    log.append_blocking(command("b", vec![event("s/1", "b")]))
        .unwrap();
    assert_eq!(log.position_at(before).unwrap(), 0);
    assert_eq!(log.position_at(between).unwrap(), 1);
    assert_eq!(log.position_at(jiff::Timestamp::now()).unwrap(), 2);
    let events: Vec<_> = log.read_range(1, 2).map(Result::unwrap).collect();
    assert!(
        events[0].recorded_at <= events[1].recorded_at,
        "recorded time never goes back"
    );
}

/// One flipped byte inside a stored event is found by verify, which names its position,
/// and the log refuses to open on it.
#[test]
fn a_flipped_byte_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let trusted = {
        let log = open(dir.path());
        for index in 0..300 {
            let id = format!("c{index}");
            log.append_blocking(command(&id, vec![event("s/1", &format!("{index:0>200}"))]))
                .unwrap();
        }
        // An auditor's digest of event 123, kept before the damage.
        fundledger::log::Head {
            position: 123,
            hash: log.get(123).unwrap().unwrap().hash,
        }
    };
    // Damage event 123 as stored, behind the log's back: flip one byte of its payload.
    let target = 123u64;
    {
        // The log creates its stores with 8 MiB segments; sled opens a store only with its own.
        let db = sled::Config::new()
            .path(dir.path())
            .segment_size(8 * 1024 * 1024)
            .open()
            .unwrap();
        let tree = db.open_tree("ledger").unwrap();
        let mut key = vec![b'B'];
        key.extend_from_slice(&target.to_be_bytes());
        let (key, value) = tree.range(key..).next().unwrap().unwrap();
        let mut bytes = value.to_vec();
        // Command c{n} is at position n + 1.
        let needle = format!("{:0>200}", target - 1);
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle.as_bytes())
            .unwrap();
        bytes[at + 50] ^= 0x01;
        tree.insert(key, bytes).unwrap();
        db.flush().unwrap();
    }
    let mut config = LogConfig::new(dir.path());
    config.open_check = OpenCheck::Full;
    let refused = Log::open(&config);
    assert!(
        matches!(refused, Err(Error::Corrupt { position: 123, .. })),
        "{refused:?}"
    );
    config.open_check = OpenCheck::Tail;
    let log = Log::open(&config).unwrap();
    let found = log.verify(None, &mut |_| {});
    // Starting from the digest of the damaged event itself rehashes that event too.
    let from_trusted = log.verify(Some(trusted), &mut |_| {});
    assert!(
        matches!(from_trusted, Err(Error::Corrupt { position: 123, .. })),
        "{from_trusted:?}"
    );
    assert!(
        matches!(found, Err(Error::Corrupt { position: 123, .. })),
        "{found:?}"
    );
}

/// Regression: verifying from a trusted head that lies inside a stored block (here event 2
/// of a three-event command) recomputes only what follows it; a wrong trusted hash is
/// refused, naming the trusted position.
#[test]
fn verify_from_a_trusted_head_inside_a_block() {
    let (_dir, log) = temp_log();
    log.append_blocking(command(
        "c1",
        vec![event("s/1", "a"), event("s/1", "b"), event("s/1", "c")],
    ))
    .unwrap();
    log.append_blocking(command("c2", vec![event("s/1", "d")]))
        .unwrap();
    let second = log.get(2).unwrap().unwrap();
    let trusted = fundledger::log::Head {
        position: 2,
        hash: second.hash,
    };
    let report = log.verify(Some(trusted), &mut |_| {}).unwrap();
    assert_eq!((report.from_position, report.events_verified), (3, 2));
    assert_eq!(report.head, log.head());
    let forged = fundledger::log::Head {
        position: 2,
        hash: [7; 32],
    };
    let refused = log.verify(Some(forged), &mut |_| {});
    assert!(
        matches!(refused, Err(Error::Corrupt { position: 2, .. })),
        "{refused:?}"
    );
}

/// A command that read state no stream version covers (a region's books) states the head
/// it read; if anything was appended since, it conflicts and writes nothing.
#[test]
fn an_expected_head_that_moved_conflicts() {
    let (_dir, log) = temp_log();
    log.append_blocking(command("c1", vec![event("s/1", "a")]))
        .unwrap();
    let mut stale = command("c2", vec![event("fund/x", "close")]);
    stale.expected_head = Some(0);
    let refused = log.append_blocking(stale);
    assert!(
        matches!(refused, Err(Error::VersionConflict { actual: 1, .. })),
        "{refused:?}"
    );
    assert_eq!(log.head().position, 1, "nothing was appended");
    let mut current = command("c2", vec![event("fund/x", "close")]);
    current.expected_head = Some(1);
    assert_eq!(log.append_blocking(current).unwrap().positions(), 2..3);
}
