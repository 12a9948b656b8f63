//! Crash safety: a child process appends under concurrent load and is killed with SIGKILL
//! at random moments; after each restart every acknowledged append is present, in order,
//! the chain verifies, and no command is partially visible.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fundledger::log::Envelope;
use support::{command, event, open};

const CHILD_DIR: &str = "FUNDLEDGER_CRASH_CHILD_DIR";
const CHILD_RUN: &str = "FUNDLEDGER_CRASH_CHILD_RUN";
const RUNS: u64 = 24;
const CHILD_THREADS: usize = 8;

/// Not a test of its own: the body of the child process that `kill_and_recover` starts.
#[test]
#[ignore = "run as a child process by kill_and_recover"]
fn crash_child() {
    let (Ok(dir), Ok(run)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_RUN)) else {
        return;
    };
    let log = Arc::new(open(std::path::Path::new(&dir)));
    let threads: Vec<_> = (0..CHILD_THREADS)
        .map(|thread| {
            let log = Arc::clone(&log);
            let run = run.clone();
            std::thread::spawn(move || {
                for index in 0u64.. {
                    // Commands of 1 to 3 events over a private and a shared stream.
                    let count = 1 + index % 3;
                    let id = format!("{run}-{thread}-{index}-{count}");
                    let events = (0..count)
                        .map(|n| {
                            let stream = if n == 1 {
                                format!("shared/{}", index % 5)
                            } else {
                                format!("own/{thread}")
                            };
                            event(&stream, &format!("{id}/{n}"))
                        })
                        .collect();
                    let appended = log.append_blocking(command(&id, events)).unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(
                        out,
                        "ACK {id} {} {}",
                        appended.first_position, appended.count
                    )
                    .unwrap();
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

/// The number of events a command id says its command carries (its last field).
fn expected_count(command_id: &str) -> u64 {
    command_id.rsplit('-').next().unwrap().parse().unwrap()
}

/// SIGKILL the appending child at random moments, many times; recover and check each time.
#[test]
fn kill_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut acknowledged_total = 0usize;
    for run in 0..RUNS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_RUN, format!("r{run}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| line.strip_prefix("ACK ").map(str::to_owned))
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(150 + seed % 350));
        child.kill().unwrap();
        child.wait().unwrap();
        let acknowledged = reader.join().unwrap();
        acknowledged_total += acknowledged.len();

        // Reopen with a full chain check: it refuses to open on a broken chain.
        let log = open(dir.path());
        let events: Vec<Envelope> = log.read_range(1, u64::MAX).map(Result::unwrap).collect();
        let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
        assert_eq!(
            positions,
            (1..=log.head().position).collect::<Vec<_>>(),
            "positions are dense"
        );
        for line in &acknowledged {
            let mut fields = line.split(' ');
            let (id, first, count) = (
                fields.next().unwrap(),
                fields.next().unwrap(),
                fields.next().unwrap(),
            );
            let first: u64 = first.parse().unwrap();
            let count: u64 = count.parse().unwrap();
            for offset in 0..count {
                let stored = &events[(first + offset - 1) as usize];
                assert_eq!(
                    stored.command_id, id,
                    "acknowledged command {id} is at its positions"
                );
                assert_eq!(
                    stored.payload,
                    format!("{id}/{offset}").into_bytes(),
                    "in order"
                );
            }
        }
        let mut per_command: HashMap<&str, u64> = HashMap::new();
        for stored in &events {
            *per_command.entry(stored.command_id.as_str()).or_default() += 1;
        }
        for (id, count) in per_command {
            assert_eq!(count, expected_count(id), "command {id} is whole or absent");
        }
        // The stream index, rebuilt behind the writer, agrees with the log.
        let mut streams: HashMap<&str, Vec<(u64, u64)>> = HashMap::new();
        for stored in &events {
            streams
                .entry(&stored.stream_id)
                .or_default()
                .push((stored.stream_version, stored.position));
        }
        for (stream, entries) in streams {
            let indexed: Vec<(u64, u64)> = log
                .read_stream(stream, 1, u64::MAX)
                .unwrap()
                .map(|e| e.map(|e| (e.stream_version, e.position)).unwrap())
                .collect();
            assert_eq!(
                indexed, entries,
                "stream {stream} is indexed densely from version 1"
            );
            assert_eq!(
                entries.iter().map(|e| e.0).collect::<Vec<_>>(),
                (1..=entries.len() as u64).collect::<Vec<_>>()
            );
        }
    }
    assert!(
        acknowledged_total > RUNS as usize,
        "the children acknowledged appends under load"
    );
    eprintln!("{RUNS} kills survived; {acknowledged_total} acknowledged commands checked");
}
