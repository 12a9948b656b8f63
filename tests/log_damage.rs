//! Damage to a stopped store (issue 19): sled recovers to the last record of its own log
//! whose checksum holds, so a byte flipped in the middle of its `db` file once opened a
//! shorter log, silently. With the head record every open either finds every acknowledged
//! event intact or refuses, naming the damage (exit 3): never a shorter log served, never an
//! append onto one; and `export events` still writes the intact prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fundledger::log::{Error, HEAD_RECORD_FILE, HEAD_RECORD_LAG_MAX, Head, Log, LogConfig};
use fundledger::projections::Ledger;
use support::{command, event};

const CHILD_DIR: &str = "FUNDLEDGER_DAMAGE_CHILD_DIR";
/// What the child prints once its store is built: the head digest follows.
const BUILT: &str = "BUILT ";
/// How long a `fundledger` process may take to start, or to stop after a signal.
const PROCESS_WAIT: Duration = Duration::from_secs(30);
/// Text of a payload the canonical scenarios store (a person's id), to find an offset of
/// `db` inside a stored event.
const PAYLOAD_NEEDLE: &[u8] = b"kz-gulnar";
/// The books' checkpoints, inside the data directory (as `fundledger serve` keeps them).
const PROJECTIONS: &str = "projections";

/// Builds a store as `fundledger serve` keeps it (the log in `dir`, the books in
/// `dir/projections`) holding the shipped rulebook and the five canonical histories;
/// returns its head.
fn build_store(dir: &Path) -> Head {
    let log = Arc::new(Log::open(&LogConfig::new(dir)).unwrap());
    let ledger = Ledger::open(Arc::clone(&log), &dir.join(PROJECTIONS)).unwrap();
    for scenario in fundledger::domain::scenarios::canonical() {
        support::ledger::run(&ledger, &scenario);
    }
    log.head()
}

/// Not a test of its own: the child that `a_flipped_byte_after_sigkill_…` starts. It builds
/// the store, prints its head, and waits to be killed.
#[test]
#[ignore = "run as a child process by the SIGKILL damage test"]
fn damage_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let head = build_store(Path::new(&dir));
    // The head record may lag the acknowledged head by HEAD_RECORD_LAG_MAX (the documented
    // window): the rule is for heads acknowledged before it.
    std::thread::sleep(HEAD_RECORD_LAG_MAX * 3);
    println!("{BUILT}{head}");
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

fn fundledger() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fundledger"));
    command.env("RUST_LOG", "warn");
    command
}

/// Waits for a child process to exit, for at most [`PROCESS_WAIT`]; kills it after that.
/// Runs `fundledger export events` on `store` to its end.
fn export_events(store: &Path) -> Output {
    fundledger()
        .args(["export", "--data"])
        .arg(store)
        .arg("events")
        .output()
        .unwrap()
}

/// Runs `verify` and `serve` on `store` and checks that each refuses with exit code 3 and
/// a message containing `names`.
fn refused_by_verify_and_serve(store: &Path, names: &str) {
    for arguments in [&["verify"][..], &["serve", "--listen", "127.0.0.1:0"][..]] {
        let child = fundledger()
            .args(arguments)
            .arg("--data")
            .arg(store)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = wait_bounded(child, arguments[0]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{arguments:?}: {stderr}");
        assert!(
            stderr.contains(names),
            "{arguments:?} names {names:?}: {stderr}"
        );
    }
}

fn wait_bounded(mut child: Child, what: &str) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > PROCESS_WAIT {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!(
                "{what} did not exit within {PROCESS_WAIT:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Starts `fundledger serve` on `dir`, waits until it serves, and stops it with SIGTERM.
fn serve_and_terminate(dir: &Path) {
    let mut child = fundledger()
        .env("RUST_LOG", "info")
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve ended before serving: {seen}"
        );
        seen.push_str(&line);
        if line.contains("fundledger serving gRPC") {
            break;
        }
    }
    let signalled = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let reader = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });
    let output = wait_bounded(child, "serve after SIGTERM");
    let rest = reader.join().unwrap();
    assert!(output.status.success(), "serve after SIGTERM: {seen}{rest}");
}

/// Builds the store in a child process and kills it with SIGKILL once it has printed the
/// head (its writer acknowledged everything; its indexer may still be at work).
fn build_and_kill(dir: &Path) -> Head {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "damage_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let head = stdout
        .lines()
        .map(Result::unwrap)
        // libtest prints the test's name before it, on the same line.
        .find_map(|line| line.split_once(BUILT).map(|(_, head)| head.parse::<Head>()))
        .expect("the child prints its head")
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    head
}

fn copy_directory(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_directory(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Where to flip a byte of `db` (at least five, each named): its first byte, a quarter,
/// the middle, three quarters, its last byte, and the first and last copies of a stored
/// payload's bytes.
fn flip_offsets(db: &[u8]) -> Vec<(String, usize)> {
    let length = db.len();
    let mut offsets = vec![
        ("first byte".to_owned(), 0),
        ("a quarter in".to_owned(), length / 4),
        ("the middle".to_owned(), length / 2),
        ("three quarters in".to_owned(), length * 3 / 4),
        ("last byte".to_owned(), length - 1),
    ];
    let found: Vec<usize> = db
        .windows(PAYLOAD_NEEDLE.len())
        .enumerate()
        .filter(|(_, window)| *window == PAYLOAD_NEEDLE)
        .map(|(at, _)| at + PAYLOAD_NEEDLE.len() / 2)
        .collect();
    assert!(!found.is_empty(), "a stored event's payload is in db");
    offsets.push((
        "inside the first stored copy of an event".to_owned(),
        found[0],
    ));
    offsets.push((
        "inside the last stored copy of an event".to_owned(),
        found[found.len() - 1],
    ));
    offsets
}

/// What opening a damaged copy did.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Every acknowledged event is there and the chain verifies to the same head.
    Harmless,
    /// Refused with exit code 3, naming the damage.
    Refused,
}

/// Flips one byte of `db` in a fresh copy of `store` at each offset and opens the copy with
/// `fundledger verify` (and, if verify refuses it, with `fundledger serve`): each must find
/// the whole log (`head`) or refuse with exit 3 naming the damage.
fn flip_each_offset(store: &Path, head: Head) -> Vec<(String, Outcome)> {
    let original = std::fs::read(store.join("db")).unwrap();
    let mut outcomes = Vec::new();
    for (name, offset) in flip_offsets(&original) {
        let scratch = tempfile::tempdir().unwrap();
        let copy = scratch.path().join("data");
        copy_directory(store, &copy);
        let mut damaged = original.clone();
        damaged[offset] ^= 0xFF;
        std::fs::write(copy.join("db"), &damaged).unwrap();
        let verified = fundledger()
            .args(["verify", "--data"])
            .arg(&copy)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&verified.stdout);
        let stderr = String::from_utf8_lossy(&verified.stderr);
        let outcome = match verified.status.code() {
            Some(0) => {
                assert!(
                    stdout.contains(&format!("head {head}\n")),
                    "flip at {name} ({offset}): verify passed a log other than the acknowledged \
                     one ({head}): {stdout}"
                );
                Outcome::Harmless
            }
            Some(3) => {
                assert!(
                    stderr.contains("damaged") || stderr.contains("corrupt"),
                    "flip at {name} ({offset}): the refusal names the damage: {stderr}"
                );
                let served = fundledger()
                    .args(["serve", "--listen", "127.0.0.1:0", "--data"])
                    .arg(&copy)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                let served = wait_bounded(served, "serve on a damaged store");
                assert_eq!(
                    served.status.code(),
                    Some(3),
                    "flip at {name} ({offset}): serve refuses what verify refused: {}",
                    String::from_utf8_lossy(&served.stderr)
                );
                eprintln!("flip at {name} ({offset}) refused: {}", stderr.trim());
                Outcome::Refused
            }
            other => panic!(
                "flip at {name} ({offset}): verify exited {other:?}, neither intact (0) nor \
                 damaged (3): {stdout}{stderr}"
            ),
        };
        outcomes.push((name, outcome));
    }
    eprintln!("{outcomes:?}");
    outcomes
}

/// A byte flipped at any of seven offsets of a store stopped by SIGTERM (`fundledger serve`
/// stopped the usual way) is either harmless (every acknowledged event intact and verified)
/// or refused by `verify` and `serve` with exit 3 naming the damage: never a shorter log.
#[test]
fn a_flipped_byte_after_sigterm_is_harmless_or_refused_never_a_shorter_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data");
    let head = build_store(&store);
    serve_and_terminate(&store);
    flip_each_offset(&store, head);
}

/// The same for a store whose last process was killed with SIGKILL.
#[test]
fn a_flipped_byte_after_sigkill_is_harmless_or_refused_never_a_shorter_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data");
    let head = build_and_kill(&store);
    let outcomes = flip_each_offset(&store, head);
    assert!(
        outcomes.contains(&("first byte".to_owned(), Outcome::Refused)),
        "the first byte once opened an empty log: now it is refused"
    );
}

/// Appends `count` one-event commands numbered from `first`.
fn append(log: &Log, first: u64, count: u64) {
    for index in first..first + count {
        let id = format!("c{index}");
        log.append_blocking(command(&id, vec![event("s/1", &id)]))
            .unwrap();
    }
}

/// A store whose sled files went back to an earlier state (as sled's recovery leaves it
/// after damage in the middle of its file), with the head record of the later one.
fn store_shorter_than_its_record() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data");
    let earlier = dir.path().join("earlier");
    let log = Log::open(&LogConfig::new(&store)).unwrap();
    append(&log, 1, 50);
    drop(log);
    copy_directory(&store, &earlier);
    let log = Log::open(&LogConfig::new(&store)).unwrap();
    append(&log, 51, 50);
    assert_eq!(log.head().position, 100);
    drop(log);
    std::fs::copy(store.join(HEAD_RECORD_FILE), earlier.join(HEAD_RECORD_FILE)).unwrap();
    (dir, earlier)
}

/// A log that ends before the head its head record acknowledged is refused on every open
/// (the library with `Truncated`, `verify` and `serve` with exit 3 naming the missing
/// events), so nothing is ever appended onto it; the refusal does not wear off.
#[test]
fn a_log_that_ends_before_its_head_record_is_refused_and_never_appended_to() {
    let (_dir, store) = store_shorter_than_its_record();
    for _ in 0..2 {
        let refused = Log::open(&LogConfig::new(&store));
        assert!(
            matches!(
                &refused,
                Err(Error::Truncated { recorded, found: 50 }) if recorded.position == 100
            ),
            "{refused:?}"
        );
    }
    refused_by_verify_and_serve(&store, "events 51..=100 are missing");
    let refused = Log::open(&LogConfig::new(&store));
    assert!(
        matches!(refused, Err(Error::Truncated { .. })),
        "still refused"
    );
}

/// `export events` on a log shorter than its head record writes every event it still holds
/// (the intact prefix), then reports the damage with exit 3.
#[test]
fn export_writes_the_intact_prefix_of_a_damaged_log_then_exits_3() {
    let (_dir, store) = store_shorter_than_its_record();
    let output = export_events(&store);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("events 51..=100 are missing"), "{stderr}");
    let positions = exported_positions(&output.stdout);
    assert_eq!(positions, (1..=50).collect::<Vec<_>>(), "the intact prefix");
}

/// A store made before the head record existed opens, and gets a record of its head.
#[test]
fn a_store_without_a_head_record_gets_one_from_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(&LogConfig::new(dir.path())).unwrap();
    append(&log, 1, 10);
    drop(log);
    std::fs::remove_file(dir.path().join(HEAD_RECORD_FILE)).unwrap();
    let log = Log::open(&LogConfig::new(dir.path())).unwrap();
    assert_eq!(log.head().position, 10);
    drop(log);
    assert!(dir.path().join(HEAD_RECORD_FILE).exists());
    // The record now holds head 10: sled's files from before it count as a shorter log.
    let earlier = tempfile::tempdir().unwrap();
    copy_directory(dir.path(), earlier.path());
    let log = Log::open(&LogConfig::new(dir.path())).unwrap();
    append(&log, 11, 5);
    drop(log);
    std::fs::copy(
        dir.path().join(HEAD_RECORD_FILE),
        earlier.path().join(HEAD_RECORD_FILE),
    )
    .unwrap();
    let refused = Log::open(&LogConfig::new(earlier.path()));
    assert!(
        matches!(&refused, Err(Error::Truncated { recorded, found: 10 }) if recorded.position == 15),
        "{refused:?}"
    );
}

/// When sled itself reports corruption (a byte flipped inside a stored event of a store
/// stopped by SIGTERM: "Read corrupted data at file offset None"), `verify` and `serve`
/// say the store is damaged and exit 3, not 1; `export events` writes the intact prefix
/// (read from a copy of sled's files without its snapshot) and exits 3 naming what is
/// missing.
#[test]
fn sled_corruption_is_reported_as_damage_with_exit_3_not_1() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data");
    build_store(&store);
    serve_and_terminate(&store);
    let mut db = std::fs::read(store.join("db")).unwrap();
    let (_, offset) = flip_offsets(&db)
        .into_iter()
        .find(|(name, _)| name.contains("first stored copy"))
        .unwrap();
    db[offset] ^= 0xFF;
    std::fs::write(store.join("db"), &db).unwrap();
    refused_by_verify_and_serve(
        &store,
        "the store is damaged: the storage engine read corrupted data",
    );
    let output = export_events(&store);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let positions = exported_positions(&output.stdout);
    assert!(
        !positions.is_empty(),
        "an intact prefix is written: {stderr}"
    );
    assert_eq!(
        positions,
        (1..=positions.len() as u64).collect::<Vec<_>>(),
        "the prefix is dense from position 1"
    );
    assert!(
        stderr.contains(&format!("events {}..=", positions.len() + 1)),
        "export names what is missing after the prefix: {stderr}"
    );
}

/// The positions of the events `export events` wrote.
fn exported_positions(stdout: &[u8]) -> Vec<u64> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["position"].as_u64().unwrap()
        })
        .collect()
}

/// The newest head in the head record file (the valid slot with the larger sequence).
fn recorded_head(dir: &Path) -> Head {
    use fundledger::log::codec::{HEAD_RECORD_SLOT_BYTES, decode_head_record_slot};
    let bytes = std::fs::read(dir.join(HEAD_RECORD_FILE)).unwrap();
    let newest = bytes
        .chunks(4096)
        .filter_map(|slot| decode_head_record_slot(&slot[..HEAD_RECORD_SLOT_BYTES]).ok())
        .max_by_key(|slot| slot.sequence)
        .unwrap();
    Head {
        position: newest.position,
        hash: newest.hash,
    }
}

/// While the log is open, the head record reaches each acknowledged head within the lag
/// bound (HEAD_RECORD_LAG_MAX, the documented window; asserted with as much again of
/// margin for a loaded machine), and holds the last one once the log closes.
#[test]
fn the_head_record_reaches_each_acknowledged_head_within_its_lag_bound() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(&LogConfig::new(dir.path())).unwrap();
    for round in 0..3 {
        append(&log, round * 10 + 1, 10);
        let acknowledged = log.head();
        let started = Instant::now();
        while recorded_head(dir.path()) != acknowledged {
            assert!(
                started.elapsed() < HEAD_RECORD_LAG_MAX * 2,
                "the record reaches head {acknowledged} within the lag bound"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    append(&log, 31, 1);
    let last = log.head();
    drop(log);
    assert_eq!(
        recorded_head(dir.path()),
        last,
        "closing records the last head"
    );
}
