//! The projections' two time axes and their machinery (issue 6, acceptance 2): as of a
//! business date against as known at a position or time, a rebuild under concurrent
//! queries, a corrupted posting set named by position and confined to its region, and a
//! restart from a checkpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fundledger::domain::{Event, Posting, RegionId, Transaction, Yuan};
use fundledger::log::{AppendRequest, NewEvent, codec, digest};
use fundledger::projections::report::{RegionReport, region_report};
use fundledger::projections::stored::{self, StoredEvent};
use fundledger::projections::{Books, CHECKPOINT_EVENTS, Ledger, Projector, RebuildProgress};
use jiff::civil::{Date, date};
use support::ledger::{
    execute, migrate_bulk, open_ledger, register_bulk_employer, run, scenario, temp_ledger,
};

fn yuan(text: &str) -> Yuan {
    Yuan::parse("test", text).unwrap()
}

fn report(books: &Books, region: &str, as_of: Date) -> RegionReport {
    region_report(books, &books.rulebook(), &RegionId::new(region), as_of).unwrap()
}

fn balance(report: &RegionReport, account: &str) -> Yuan {
    report
        .balances
        .iter()
        .find(|line| line.account == account)
        .unwrap()
        .balance
}

/// Gansu's back-payment for 2019-08, recorded on 2020-03-15 after the clearance and the
/// closure: as known now, the 2019-08 figures carry it; as known at the position (or the
/// time) just before it was recorded, they do not, and that answer never changes.
#[test]
fn back_payment_changes_as_of_figures_as_known_now_but_not_as_known_before() {
    let gansu = scenario("gansu-lanzhou");
    let back_pay = gansu
        .steps
        .iter()
        .position(|step| step.command_id.ends_with("back-pay-2019-08"))
        .unwrap();
    let (_dir, ledger) = temp_ledger();
    for step in &gansu.steps[..back_pay] {
        execute(&ledger, step);
    }
    let before_position = ledger.log().head().position;
    let before_books = ledger.projector().current().unwrap();
    let august = date(2019, 8, 31);
    let year_end = date(2020, 12, 31);
    let then_august = report(&before_books, "gansu-lanzhou", august);
    let then_year_end = report(&before_books, "gansu-lanzhou", year_end);
    // The recorded times are microseconds; step past the last one before noting "then".
    std::thread::sleep(Duration::from_millis(5));
    let then = jiff::Timestamp::now();
    std::thread::sleep(Duration::from_millis(5));
    for step in &gansu.steps[back_pay..] {
        execute(&ledger, step);
    }

    // As known now: 2019-08 carries the back-payment of ma (485.00) and zhang (388.00).
    let now = ledger.projector().current().unwrap();
    let now_august = report(&now, "gansu-lanzhou", august);
    assert_eq!(now_august.lines.bmi_income, yuan("873.00")); // pooled 630.00 + maternity 63.00 + personal 180.00
    assert_eq!(now_august.lines.bmi_income_maternity, yuan("63.00")); // 5000 × 0.7% + 4000 × 0.7% = 35.00 + 28.00
    assert_eq!(now_august.lines.maternity_fund_income, yuan("0")); // the fund was closed: not to it
    assert_eq!(balance(&now_august, "fund_bank"), yuan("873.00")); // paid at once
    assert_eq!(balance(&now_august, "bmi_pooled_maternity"), yuan("63.00"));

    // As known at the position before it: nothing for 2019-08.
    let known_then = ledger.projector().as_known(before_position).unwrap();
    assert_eq!(known_then.position(), before_position);
    let known_then_august = report(&known_then, "gansu-lanzhou", august);
    assert_eq!(known_then_august.lines.bmi_income, yuan("0"));
    assert_eq!(balance(&known_then_august, "fund_bank"), yuan("0"));
    // ... and exactly what the books said at that position, before anything else came.
    assert_eq!(known_then_august, then_august);
    assert_eq!(
        report(&known_then, "gansu-lanzhou", year_end),
        then_year_end
    );

    // As known at the time before it: the same position, the same books.
    let position_then = ledger.log().position_at(then).unwrap();
    assert_eq!(position_then, before_position);
    assert_eq!(
        *ledger.projector().as_known(position_then).unwrap(),
        *known_then
    );

    // Later business dates differ by the back-payment's cash and nothing else at the bank:
    // the steps after it (a delivery claim, an allowance) do not move the bank account.
    let now_year_end = report(&now, "gansu-lanzhou", year_end);
    assert_eq!(
        balance(&now_year_end, "fund_bank")
            .checked_sub(balance(&then_year_end, "fund_bank"))
            .unwrap(),
        yuan("873.00")
    );
}

/// Folds the log from position 1 into fresh books and checks every sampled books against
/// the fold at its position.
fn check_samples_against_a_full_fold(
    ledger: &fundledger::projections::Ledger,
    samples: &BTreeMap<u64, Vec<Arc<Books>>>,
) -> usize {
    let mut reference = Books::default();
    let mut checked = 0;
    let head = ledger.log().head().position;
    for envelope in ledger.log().read_range(1, head) {
        let envelope = envelope.unwrap();
        let event = stored::from_envelope(&envelope).unwrap();
        reference.apply(envelope.position, &event).unwrap();
        if let Some(found) = samples.get(&envelope.position) {
            for books in found {
                assert_eq!(
                    **books, reference,
                    "books seen at position {} are the complete fold up to it",
                    envelope.position
                );
                checked += 1;
            }
        }
    }
    checked
}

/// A rebuild while other threads query and a writer appends: every books a query sees is
/// the complete fold of the log up to its position (never a generation part-way through
/// its replay), balanced in every region, and positions never go backwards; the new
/// generation answers once the rebuild is done.
#[test]
fn rebuild_during_concurrent_queries_never_shows_a_half_built_generation() {
    let (_dir, ledger) = temp_ledger();
    for scenario in fundledger::domain::scenarios::canonical() {
        run(&ledger, &scenario);
    }
    register_bulk_employer(&ledger, "bulk-a");
    for batch in 0..24 {
        migrate_bulk(&ledger, "bulk-a", batch, 1_000);
    }
    let ledger = Arc::new(ledger);
    let start = ledger.projector().current().unwrap();
    let generation = ledger.projector().generation();
    let stop = Arc::new(AtomicBool::new(false));

    let queries: Vec<_> = (0..2)
        .map(|_| {
            let ledger = Arc::clone(&ledger);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut seen: Vec<Arc<Books>> = Vec::new();
                let mut during = 0;
                while !stop.load(Ordering::Acquire) {
                    let rebuilding = || {
                        ledger
                            .projector()
                            .rebuild_progress()
                            .is_some_and(|progress| !progress.done)
                    };
                    let started = rebuilding();
                    let books = ledger.projector().current().unwrap();
                    if started && rebuilding() {
                        during += 1;
                    }
                    if let Some(last) = seen.last() {
                        assert!(books.position() >= last.position(), "never backwards");
                        if Arc::ptr_eq(last, &books) {
                            continue;
                        }
                    }
                    for region in books.regions() {
                        assert!(books.region(region).unwrap().net().is_zero());
                    }
                    seen.push(books);
                }
                (seen, during)
            })
        })
        .collect();
    let writer = {
        let ledger = Arc::clone(&ledger);
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            register_bulk_employer(&ledger, "bulk-b");
            let mut batch = 0;
            while !stop.load(Ordering::Acquire) && batch < 200 {
                migrate_bulk(&ledger, "bulk-b", batch, 50);
                batch += 1;
            }
        })
    };

    let mut progress: Vec<RebuildProgress> = Vec::new();
    let done = ledger
        .projector()
        .rebuild(&mut |status| progress.push(status))
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Release);
    writer.join().unwrap();
    let mut samples: BTreeMap<u64, Vec<Arc<Books>>> = BTreeMap::new();
    let mut during = 0;
    for query in queries {
        let (seen, seen_during) = query.join().unwrap();
        during += seen_during;
        for books in seen {
            samples.entry(books.position()).or_default().push(books);
        }
    }
    assert!(during > 0, "queries were answered while the rebuild ran");
    assert!(done.done);
    assert_eq!(done.generation, generation + 1);
    assert_eq!(ledger.projector().generation(), generation + 1);
    assert!(progress.last().is_some_and(|last| last.done));
    assert!(
        samples.keys().all(|position| *position >= start.position()),
        "no query saw books short of where the old generation stood"
    );
    let last = ledger.projector().current().unwrap();
    assert_eq!(last.position(), ledger.log().head().position);
    samples.entry(last.position()).or_default().push(last);
    let checked = check_samples_against_a_full_fold(&ledger, &samples);
    assert_eq!(checked, samples.values().map(Vec::len).sum::<usize>());
    assert!(
        checked > 1,
        "the queries saw the books move during the rebuild"
    );
}

/// Appends, through the raw log, a copy of the event at `position` whose last posting
/// amount is changed from `from` to `to` (same length): an unbalanced posting set.
fn append_tampered(
    ledger: &fundledger::projections::Ledger,
    position: u64,
    from: &str,
    to: &str,
) -> u64 {
    let envelope = ledger.log().get(position).unwrap().unwrap();
    let event = stored::from_envelope(&envelope).unwrap();
    let mut payload = codec::encode_payload(&StoredEvent::V2(event)).unwrap();
    let at = payload
        .windows(from.len())
        .rposition(|window| window == from.as_bytes())
        .unwrap();
    payload[at..at + to.len()].copy_from_slice(to.as_bytes());
    let appended = ledger
        .log()
        .append_blocking(AppendRequest {
            command_id: "tampered".to_owned(),
            request_digest: digest(&payload),
            actor: "test".to_owned(),
            expectations: Vec::new(),
            expected_head: None,
            events: vec![NewEvent {
                stream_id: envelope.stream_id.clone(),
                event_type: envelope.event_type.clone(),
                schema_version: envelope.schema_version,
                business_date: envelope.business_date,
                payload,
            }],
        })
        .unwrap();
    appended.positions().start
}

/// A posting set whose debits and credits differ (the credit of a 1470.00 collection
/// changed to 1470.01 in the stored bytes, behind the command path's back) does not decode,
/// so its region is unknown: catch-up, rebuild and open all go on past it, and every
/// region's books name its position as their damage; nothing stops the process.
#[test]
fn an_undecodable_event_is_named_as_every_region_s_damage_and_stops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(dir.path());
    run(&ledger, &scenario("chongqing"));
    let head = ledger.log().head().position;
    let collection = find_collection(&ledger, 1..=head);
    let tampered = append_tampered(&ledger, collection, "1470.00", "1470.01");
    assert_eq!(tampered, head + 1);

    let names_it = |books: &Books| {
        assert_eq!(books.position(), tampered, "the fold went past it");
        for region in ["chongqing", "beijing"] {
            let damage = books.damage(&RegionId::new(region)).unwrap();
            assert_eq!(damage.position, tampered);
            assert!(damage.reason.contains("1470.01"), "{}", damage.reason);
        }
        assert_eq!(books.damaged().len(), 1, "listed once, as region *");
    };
    names_it(&ledger.projector().current().unwrap());
    ledger.projector().rebuild(&mut |_| {}).unwrap();
    names_it(&ledger.projector().current().unwrap());

    let log = Arc::clone(ledger.log());
    drop(ledger);
    let reopened = Projector::open(log, &dir.path().join("books")).unwrap();
    names_it(&reopened.current().unwrap());
}

/// The position of the chongqing scenario's 1470.00 collection within `positions`.
fn find_collection(ledger: &Ledger, positions: impl DoubleEndedIterator<Item = u64>) -> u64 {
    positions
        .rev()
        .find(|position| {
            let envelope = ledger.log().get(*position).unwrap().unwrap();
            matches!(
                stored::from_envelope(&envelope).unwrap(),
                Event::ContributionCollected(ref collected) if collected.amount == yuan("1470.00")
            )
        })
        .unwrap()
}

/// Appends, through the raw log, a copy of the collection at `position` for `amount`, with
/// balanced postings: an event that decodes, and whose money folds or not by its amount.
fn append_collection_of(ledger: &Ledger, position: u64, amount: &str) -> u64 {
    let envelope = ledger.log().get(position).unwrap().unwrap();
    let Event::ContributionCollected(mut collected) = stored::from_envelope(&envelope).unwrap()
    else {
        panic!("position {position} is a collection");
    };
    let amount = yuan(amount);
    let postings = collected
        .transaction
        .postings()
        .iter()
        .map(|posting| Posting { amount, ..*posting })
        .collect();
    collected.amount = amount;
    collected.transaction = Transaction::new(collected.region.clone(), postings).unwrap();
    let event = Event::ContributionCollected(collected);
    let new_event = stored::to_new_event(&event).unwrap();
    ledger
        .log()
        .append_blocking(AppendRequest {
            command_id: format!("huge-{}", ledger.log().head().position),
            request_digest: digest(&new_event.payload),
            actor: "test".to_owned(),
            expectations: Vec::new(),
            expected_head: None,
            events: vec![new_event],
        })
        .unwrap()
        .positions()
        .start
}

/// Two collections of 7 × 10^28 yuan in Chongqing, appended behind the command path's
/// back, decode and balance, but their sum leaves the decimal range (about 7.9 × 10^28):
/// Chongqing's books are damaged at the second one, naming it, and take no new command;
/// Beijing's books, folded around and after it, answer as before; and the books open again.
#[test]
fn a_fold_error_is_confined_to_its_region() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(dir.path());
    run(&ledger, &scenario("chongqing"));
    let beijing = scenario("beijing");
    let (before, after) = beijing.steps.split_at(beijing.steps.len() / 2);
    for step in before {
        execute(&ledger, step);
    }
    let collection = find_collection(&ledger, 1..=ledger.log().head().position);
    let huge = "70000000000000000000000000000";
    let first = append_collection_of(&ledger, collection, huge);
    let second = append_collection_of(&ledger, collection, huge);
    assert_eq!(second, first + 1);
    for step in after {
        execute(&ledger, step);
    }
    let damaged_at = |books: &Books| {
        let damage = books.damage(&RegionId::new("chongqing")).unwrap();
        assert_eq!(damage.position, second);
        assert!(damage.reason.contains("overflow"), "{}", damage.reason);
        assert!(books.damage(&RegionId::new("beijing")).is_none());
        assert_eq!(books.damaged().len(), 1);
    };
    let books = ledger.projector().current().unwrap();
    damaged_at(&books);

    // Beijing's figures are those of a ledger that never saw the Chongqing events.
    let clean_dir = tempfile::tempdir().unwrap();
    let clean = open_ledger(clean_dir.path());
    run(&clean, &beijing);
    let as_of = date(2030, 12, 31);
    assert_eq!(
        report(&books, "beijing", as_of).balances,
        report(&clean.projector().current().unwrap(), "beijing", as_of).balances
    );

    // A command whose events land in the damaged region is refused; nothing is appended.
    let head = ledger.log().head().position;
    let register =
        fundledger::domain::Command::from(fundledger::domain::command::RegisterEmployer {
            employer: fundledger::domain::EmployerId::new("after-damage"),
            region: RegionId::new("chongqing"),
            category: fundledger::domain::EmployerCategory::Enterprise,
            name: "重庆示例".to_owned(),
            registered_on: date(2021, 1, 4),
            average_monthly_wage: yuan("6000.00"),
        });
    let refused = ledger
        .execute(&register, &support::ledger::meta("after-damage", &register))
        .unwrap_err();
    assert!(
        matches!(
            &refused,
            fundledger::projections::ExecuteError::Unfoldable(
                fundledger::projections::TrialError::Damaged(
                    fundledger::projections::RegionDamaged { damage, .. }
                )
            ) if damage.position == second
        ),
        "{refused}"
    );
    assert_eq!(ledger.log().head().position, head);

    ledger.projector().rebuild(&mut |_| {}).unwrap();
    damaged_at(&ledger.projector().current().unwrap());
    let log = Arc::clone(ledger.log());
    drop(ledger);
    damaged_at(
        &Projector::open(log, &dir.path().join("books"))
            .unwrap()
            .current()
            .unwrap(),
    );
}

/// After a restart the books resume from the last checkpoint: exactly the events after it
/// are replayed, not the log from position 1, and the books are the same as before.
#[test]
fn a_restart_resumes_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = bulk_ledger(dir.path(), CHECKPOINT_EVENTS + 500);
    let books = ledger.projector().current().unwrap();
    let head = ledger.log().head().position;
    assert_eq!(books.position(), head);
    drop(books);
    drop(ledger);

    let reopened = open_ledger(dir.path());
    // The last checkpoint is at the largest multiple of CHECKPOINT_EVENTS at or below the
    // head; only the positions after it are folded again.
    let checkpoint = head / CHECKPOINT_EVENTS * CHECKPOINT_EVENTS;
    assert!(
        checkpoint >= CHECKPOINT_EVENTS,
        "the history has a checkpoint"
    );
    assert_eq!(reopened.projector().replayed_on_open(), head - checkpoint);
    assert!(reopened.projector().replayed_on_open() < head);
    let again = reopened.projector().current().unwrap();
    assert_eq!(again.position(), head);
    // The same figures as a fold from position 1.
    let mut full = Books::default();
    for envelope in reopened.log().read_range(1, head) {
        let envelope = envelope.unwrap();
        full.apply(
            envelope.position,
            &stored::from_envelope(&envelope).unwrap(),
        )
        .unwrap();
    }
    assert_eq!(*again, full);
}

/// A checkpoint stored whole (format 0xC1, before checkpoints kept their rule events
/// apart) is still read: a restart resumes from it, replays nothing, and has the same books.
#[test]
fn a_whole_books_checkpoint_of_format_v1_still_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(dir.path());
    run(&ledger, &scenario("tianjin"));
    let position = ledger.projector().checkpoint_now().unwrap();
    let generation = ledger.projector().generation();
    let books = ledger.projector().current().unwrap();
    assert_eq!(books.position(), position);
    drop(ledger);

    // Put the books back at that position as a format-1 checkpoint, behind the engine's back.
    {
        let db = sled::Config::new()
            .path(dir.path().join("books"))
            .segment_size(fundledger::log::SLED_SEGMENT_BYTES)
            .open()
            .unwrap();
        let checkpoints = db.open_tree("checkpoints").unwrap();
        let mut key = generation.to_be_bytes().to_vec();
        key.extend_from_slice(&position.to_be_bytes());
        let stored = checkpoints.range(key.clone()..).next().unwrap().unwrap().1;
        assert_eq!(stored[0], codec::FORMAT_CHECKPOINT_V2);
        key.extend_from_slice(&0u16.to_be_bytes());
        let whole = codec::encode_checkpoint(&*books).unwrap();
        assert!(whole.len() < 60 * 1024, "one chunk");
        checkpoints.insert(key, whole).unwrap();
        db.flush().unwrap();
    }

    let reopened = open_ledger(dir.path());
    assert_eq!(reopened.projector().replayed_on_open(), 0);
    assert_eq!(*reopened.projector().current().unwrap(), *books);
}

/// A rebuild stores its checkpoints in batches, the last one before the swap: after a
/// rebuild and a restart, only the events after the last checkpoint are replayed.
#[test]
fn a_rebuild_leaves_its_checkpoints_for_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = bulk_ledger(dir.path(), 2 * CHECKPOINT_EVENTS + 500);
    let head = ledger.log().head().position;
    let done = ledger.projector().rebuild(&mut |_| {}).unwrap();
    assert_eq!(done.position, head);
    let books = ledger.projector().current().unwrap();
    drop(ledger);

    let reopened = open_ledger(dir.path());
    assert_eq!(reopened.projector().generation(), done.generation);
    assert_eq!(
        reopened.projector().replayed_on_open(),
        head % CHECKPOINT_EVENTS
    );
    assert_eq!(*reopened.projector().current().unwrap(), *books);
}

/// A rebuild long enough to read the log on its scan thread goes past an undecodable
/// event too, and its new generation names it as the books' damage.
#[test]
fn a_long_rebuild_goes_past_an_undecodable_event_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = bulk_ledger(dir.path(), 2 * CHECKPOINT_EVENTS);
    run(&ledger, &scenario("chongqing"));
    let head = ledger.log().head().position;
    let collection = find_collection(&ledger, 1..=head);
    let tampered = append_tampered(&ledger, collection, "1470.00", "1470.01");
    let generation = ledger.projector().generation();
    ledger.projector().rebuild(&mut |_| {}).unwrap();
    assert!(tampered > CHECKPOINT_EVENTS, "the scan thread reads it");
    assert_eq!(ledger.projector().generation(), generation + 1);
    let books = ledger.projector().current().unwrap();
    let damage = books.damage(&RegionId::new("gansu-lanzhou")).unwrap();
    assert_eq!(damage.position, tampered);
}

/// A checkpoint store made with sled's default segments (whose large nodes sled writes to
/// unsynced blob files) holds only derived data: it is replaced, and the books are folded
/// again from the log, with the same figures.
#[test]
fn a_checkpoint_store_with_default_segments_is_made_anew() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(dir.path());
    register_bulk_employer(&ledger, "bulk-a");
    migrate_bulk(&ledger, "bulk-a", 0, 1_000);
    let before = ledger.projector().current().unwrap();
    let head = ledger.log().head().position;
    drop(ledger);
    std::fs::remove_dir_all(dir.path().join("books")).unwrap();
    drop(sled::open(dir.path().join("books")).unwrap());

    let reopened = open_ledger(dir.path());
    assert_eq!(reopened.projector().replayed_on_open(), head);
    assert_eq!(*reopened.projector().current().unwrap(), *before);
    let conf = std::fs::read(dir.path().join("books").join("conf")).unwrap();
    let segment = format!("segment_size: {}", fundledger::log::SLED_SEGMENT_BYTES);
    assert!(
        String::from_utf8_lossy(&conf).contains(&segment),
        "the store was made anew with the log's segments"
    );
}

/// A ledger in `path` whose log holds bulk migrations of one employer past `position`.
fn bulk_ledger(path: &std::path::Path, position: u64) -> Ledger {
    let ledger = open_ledger(path);
    register_bulk_employer(&ledger, "bulk-a");
    let mut batch = 0;
    while ledger.log().head().position <= position {
        migrate_bulk(&ledger, "bulk-a", batch, 1_000);
        batch += 1;
    }
    ledger
}
