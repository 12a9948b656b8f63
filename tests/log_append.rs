//! The event log's append contract: atomicity, optimistic concurrency, idempotency,
//! dense positions across restarts, and corruption detection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
        let db = sled::Config::new()
            .path(dir.path())
            .segment_size(fundledger::log::SLED_SEGMENT_BYTES)
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

/// The envelopes a commit returns are the ones stored: same versions, hashes, time.
#[test]
fn committed_envelopes_are_the_stored_ones() {
    let (_dir, log) = temp_log();
    log.append_blocking(command("c0", vec![event("person/a", "0")]))
        .unwrap();
    let request = Arc::new(command(
        "c1",
        vec![event("person/a", "1"), event("employer/x", "2")],
    ));
    let committed = log.commit_blocking(Arc::clone(&request)).unwrap();
    let built = committed
        .envelopes(&request)
        .expect("a new command's envelopes");
    let stored: Vec<_> = log.read_range(2, 10).map(Result::unwrap).collect();
    assert_eq!(built, stored);
    // A retry appends nothing and has no stamps: its events are read from the log.
    let retried = log.commit_blocking(Arc::clone(&request)).unwrap();
    assert!(retried.appended.replayed);
    assert_eq!(retried.appended.positions(), 2..4);
    assert_eq!(retried.envelopes(&request), None);
}

/// A small group commit indexes its own events, so the index is level with the head
/// when the append returns; a larger one is indexed behind it, and reads wait for that.
#[test]
fn small_commits_are_indexed_inline_and_large_ones_behind() {
    let (_dir, log) = temp_log();
    for index in 0..20 {
        log.append_blocking(command(
            &format!("small-{index}"),
            vec![event(&format!("person/{}", index % 3), "x")],
        ))
        .unwrap();
        assert_eq!(log.indexed_position(), log.head().position);
    }
    let large_events = fundledger::log::INLINE_INDEX_EVENTS_MAX + 1;
    let large: Vec<_> = (0..large_events)
        .map(|index| event(&format!("person/{}", index % 5), "y"))
        .collect();
    log.append_blocking(command("large", large)).unwrap();
    // person/0 had 7 events (0, 3, …, 18) and gets every fifth of the large command's.
    let expected = 7 + large_events.div_ceil(5) as u64;
    assert_eq!(log.stream_version("person/0").unwrap(), expected);
    let versions: Vec<u64> = log
        .read_stream("person/0", 1, u64::MAX)
        .unwrap()
        .map(|envelope| envelope.unwrap().stream_version)
        .collect();
    assert_eq!(versions, (1..=expected).collect::<Vec<_>>());
    assert_eq!(log.indexed_position(), log.head().position);
    // Once level again, a small commit indexes inline.
    log.append_blocking(command("after", vec![event("person/9", "z")]))
        .unwrap();
    assert_eq!(log.indexed_position(), log.head().position);
}

/// sled 0.34 writes any item over a quarter of a segment to a blob file it never fsyncs;
/// a leaf of 64 KiB blocks is such an item when sled rewrites it. The log's segments are
/// large enough that nothing it stores, not even 16 MiB of blocks, lands in a blob file.
#[test]
fn no_tree_node_goes_to_an_unsynced_blob_file() {
    let (dir, log) = temp_log();
    let payload = "x".repeat(8 * 1024);
    for command_index in 0..8 {
        let events = (0..256)
            .map(|index| event(&format!("person/{}", index % 7), &payload))
            .collect();
        log.append_blocking(command(&format!("c{command_index}"), events))
            .unwrap();
    }
    log.shutdown().unwrap();
    let blobs: Vec<_> = std::fs::read_dir(dir.path().join("blobs"))
        .map(|entries| entries.map(|entry| entry.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(blobs.is_empty(), "blob files written: {blobs:?}");
    // And the store reads back whole.
    drop(log);
    let log = support::open(dir.path());
    assert_eq!(log.head().position, 8 * 256);
}

/// A store made with sled's default segments is refused with a message, not opened.
#[test]
fn a_store_with_default_sled_segments_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(sled::open(dir.path()).unwrap());
    let refused = Log::open(&LogConfig::new(dir.path()));
    assert!(
        matches!(&refused, Err(Error::Unsupported(reason)) if reason.contains("smaller sled segments")),
        "{:?}",
        refused.err()
    );
}

/// Regression: after a commit too large to index itself, once the index has caught up, a
/// run of small commits that index themselves must keep a stream's versions dense (an old
/// unindexed tip once shadowed the new versions, and the same version was written twice).
#[test]
fn versions_stay_dense_when_small_commits_follow_a_large_one() {
    let (_dir, log) = temp_log();
    let large: Vec<_> = (0..fundledger::log::INLINE_INDEX_EVENTS_MAX + 1)
        .map(|_| event("person/a", "bulk"))
        .collect();
    let bulk = large.len() as u64;
    log.append_blocking(command("large", large)).unwrap();
    // Wait for the indexer: then small commits index themselves.
    assert_eq!(log.stream_version("person/a").unwrap(), bulk);
    for index in 0..3 {
        log.append_blocking(command(
            &format!("small-{index}"),
            vec![event("person/a", "x")],
        ))
        .unwrap();
        assert_eq!(log.indexed_position(), log.head().position);
    }
    let versions: Vec<u64> = log
        .read_range(1, u64::MAX)
        .map(|envelope| envelope.unwrap().stream_version)
        .collect();
    assert_eq!(versions, (1..=bulk + 3).collect::<Vec<_>>());
    assert_eq!(log.stream_version("person/a").unwrap(), bulk + 3);
}

/// A command must append at least one event.
#[test]
fn an_empty_command_is_refused() {
    let (_dir, log) = temp_log();
    let refused = log.append_blocking(command("empty", Vec::new()));
    assert!(
        matches!(
            refused,
            Err(Error::InvalidAppend {
                field: "events",
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(log.head().position, 0);
}

/// While appends stream in, the indexer defers to the writer, but not to the point of
/// making a reader wait for the appends to stop: a stream read is served while another
/// thread keeps appending (it stops appending only once the read is back, or at a cap far
/// below the lag at which the indexer would go on by itself).
#[test]
fn a_stream_read_is_served_while_appends_stream_in() {
    const BATCHES_MAX: u64 = 2000;
    const { assert!(BATCHES_MAX * 100 < fundledger::log::INDEX_DEFER_EVENTS_MAX) };
    let (_dir, log) = temp_log();
    let log = Arc::new(log);
    // Larger than a commit that indexes itself: only the indexer indexes these.
    let first: Vec<_> = (0..100)
        .map(|index| event(&format!("person/{}", index % 7), "x"))
        .collect();
    log.append_blocking(command("first", first)).unwrap();
    let read_done = Arc::new(AtomicBool::new(false));
    let appender = append_until(&log, &read_done, BATCHES_MAX, |batch| {
        let events = (0..100)
            .map(|index| event(&format!("employer/{}", index % 11), "y"))
            .collect();
        command(&format!("more-{batch}"), events)
    });
    let versions: Vec<u64> = log
        .read_stream("person/0", 1, u64::MAX)
        .unwrap()
        .map(|envelope| envelope.unwrap().stream_version)
        .collect();
    read_done.store(true, Ordering::Release);
    let batches = appender.join().unwrap();
    assert_eq!(versions, (1..=15).collect::<Vec<_>>());
    assert!(
        batches < BATCHES_MAX,
        "the read was served only after the appender stopped at its cap"
    );
}

/// With nobody reading, the index still catches up once the head stands still.
#[test]
fn the_index_catches_up_by_itself_once_appends_stop() {
    let (_dir, log) = temp_log();
    let events: Vec<_> = (0..500)
        .map(|index| event(&format!("person/{}", index % 13), "x"))
        .collect();
    log.append_blocking(command("large", events)).unwrap();
    let head = log.head().position;
    // Polled, not waited for as a reader would: a reader would make the indexer go on.
    let mut polls = 0;
    while log.indexed_position() < head && polls < 3000 {
        std::thread::sleep(std::time::Duration::from_millis(10));
        polls += 1;
    }
    assert_eq!(log.indexed_position(), head);
}

/// A steady trickle of appends never lets the head stand still, yet the index does not
/// stay behind for long: the indexer defers at most `INDEX_DEFER_MAX`. Nobody reads
/// streams here (a reader would make the indexer go on); the appender stops once the
/// index has moved, or at a cap of several times that limit.
#[test]
fn a_trickle_of_appends_does_not_keep_the_index_behind() {
    const COMMITS_MAX: u64 = 2000;
    let (_dir, log) = temp_log();
    let log = Arc::new(log);
    let indexed_seen = Arc::new(AtomicBool::new(false));
    let appender = append_until(&log, &indexed_seen, COMMITS_MAX, |commit| {
        std::thread::sleep(std::time::Duration::from_millis(2));
        // Larger than a commit that indexes itself.
        let events = (0..=fundledger::log::INLINE_INDEX_EVENTS_MAX)
            .map(|index| event(&format!("person/{index}"), "t"))
            .collect();
        command(&format!("trickle-{commit}"), events)
    });
    while !appender.is_finished() {
        if log.indexed_position() > 0 {
            indexed_seen.store(true, Ordering::Release);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let commits = appender.join().unwrap();
    assert!(
        commits < COMMITS_MAX,
        "the index stayed behind for all {commits} commits of the trickle"
    );
}

/// A thread appending the commands `next(0)`, `next(1)`, … until `stop` is set or `max`
/// were appended; it returns how many it appended.
fn append_until(
    log: &Arc<Log>,
    stop: &Arc<AtomicBool>,
    max: u64,
    next: impl Fn(u64) -> fundledger::log::AppendRequest + Send + 'static,
) -> std::thread::JoinHandle<u64> {
    let log = Arc::clone(log);
    let stop = Arc::clone(stop);
    std::thread::spawn(move || {
        let mut appended = 0;
        while !stop.load(Ordering::Acquire) && appended < max {
            log.append_blocking(next(appended)).unwrap();
            appended += 1;
        }
        appended
    })
}

/// Regression (found by the hostile-input proptest): a stream id with a NUL byte, which no
/// append accepts, read the entries of the stream it prefixes (`employer/E1\0` got
/// `employer/E1`'s versions, and a command folding it saw a "corrupt" log). Such a stream
/// has no events and no version.
#[test]
fn a_stream_id_no_append_accepts_reads_as_no_stream() {
    let (_dir, log) = temp_log();
    log.append_blocking(command(
        "c1",
        vec![event("employer/E1", "1"), event("employer/E1", "2")],
    ))
    .unwrap();
    for alias in ["employer/E1\0", "employer/E1\0\0", "employer/E1\u{1}"] {
        assert_eq!(log.stream_version(alias).unwrap(), 0, "{alias:?}");
        assert_eq!(
            log.read_stream(alias, 1, 10).unwrap().count(),
            0,
            "{alias:?}"
        );
    }
    assert_eq!(log.stream_version("employer/E1").unwrap(), 2);
}

/// The verified mark follows the head by itself, so an open does not re-hash the history
/// from position 1: an open moves it to the head it checked, the background check moves
/// it once the head is the configured lag ahead, and a clean shutdown moves it to the head
/// (issue 17, point 4).
#[test]
fn the_verified_mark_follows_the_head_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LogConfig::new(dir.path());
    config.verify_mark_lag_events = 100;
    let log = Log::open(&config).unwrap();
    assert_eq!(
        log.verified_mark().unwrap().map(|mark| mark.position),
        Some(0)
    );
    for batch in 0..10 {
        let events = (0..50)
            .map(|n| event("person/a", &format!("{batch}-{n}")))
            .collect();
        log.append_blocking(command(&format!("c{batch}"), events))
            .unwrap();
    }
    // 500 events, the lag 100: the background check has moved the mark past 400 by now or
    // soon (it runs as the head moves).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while log.verified_mark().unwrap().unwrap().position < 400 {
        assert!(
            std::time::Instant::now() < deadline,
            "the mark moves in the background"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let head = log.head();
    log.shutdown().unwrap();
    drop(log);

    let reopened = Log::open(&LogConfig::new(dir.path())).unwrap();
    assert_eq!(
        reopened.verified_mark().unwrap(),
        Some(head),
        "a clean shutdown leaves the mark at the head"
    );
}
