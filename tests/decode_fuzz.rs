//! Hostile stored bytes never panic: the committed fixtures (a log block, its event bodies,
//! the schema-1 and schema-2 payloads) and checkpoints folded from them are mutated
//! (bit flips, byte sets, inserts, deletes, truncations, splices from other records, counts
//! and lengths set to huge values) and fed to every decoder of stored bytes: the block
//! framing, event bodies, payloads (full and the books' fast view), checkpoints and their
//! rule events, and then to the fold and the reports over whatever still decodes. An
//! `Err` is the expected answer; a panic or an abort (an allocation sized by a damaged
//! count) fails.
//!
//! The proptest runs 10,000 fixed-seed cases in CI (`FUNDLEDGER_FUZZ_CASES`
//! overrides). The bench counts panics over 10M inputs instead of stopping at the first
//! (`FUNDLEDGER_FUZZ_INPUTS` and `FUNDLEDGER_FUZZ_SEED` override; `--release` runs it
//! faster, after a release build of the tests):
//!
//! ```text
//! cargo test --test decode_fuzz -- --ignored --nocapture decode_fuzz_bench
//! ```
//!
//! The cargo-fuzz target `fuzz/fuzz_targets/decode.rs` (nightly) feeds the same decoders
//! with libFuzzer's coverage-guided inputs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use fundledger::domain::Event;
use fundledger::domain::scenarios::SplitMix;
use fundledger::log::codec::{self, BlockCursor};
use fundledger::log::{EventRef, decode_block};
use fundledger::projections::stored::{self, StoredEvent};
use fundledger::projections::{Books, decode_checkpoint, decode_checkpoint_rules, report};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};

const BLOCK_V1_HEX: &str = include_str!("fixtures/log_block_v1.hex");
const PAYLOADS_V1: &str = include_str!("fixtures/stored_events_v1.jsonl");
const PAYLOADS_V2: &str = include_str!("fixtures/stored_events_v2.jsonl");
/// The proptest's cases unless `FUNDLEDGER_FUZZ_CASES` says otherwise.
const FUZZ_CASES_DEFAULT: u32 = 10_000;
/// The bench's inputs unless `FUNDLEDGER_FUZZ_INPUTS` says otherwise.
const FUZZ_INPUTS_DEFAULT: u64 = 10_000_000;
/// The most mutations applied to one input.
const MUTATIONS_PER_INPUT_MAX: usize = 4;

/// What a sample of stored bytes is, and so which decoders read it.
#[derive(Debug, Clone)]
enum Kind {
    /// A log block value.
    Block,
    /// One encoded event body.
    Body,
    /// An event payload with the envelope's schema version and event type.
    Payload {
        schema_version: u16,
        event_type: String,
    },
    /// A checkpoint (format byte V1 or V2).
    Checkpoint,
    /// The rule events stored beside checkpoints.
    Rules,
}

/// The unmutated stored bytes the fuzz starts from.
struct Corpus {
    samples: Vec<(Kind, Vec<u8>)>,
    /// The rule events the checkpoints name, handed to a decoded V2 checkpoint.
    rules: Arc<Vec<Event>>,
    /// An event folded after a decoded checkpoint, as catching up from it would.
    next_event: Event,
}

fn payloads(text: &str, schema_version: u16) -> Vec<(Kind, Vec<u8>)> {
    text.lines()
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            let kind = Kind::Payload {
                schema_version,
                event_type: record["event_type"].as_str().unwrap().to_owned(),
            };
            (
                kind,
                hex::decode(record["payload_hex"].as_str().unwrap()).unwrap(),
            )
        })
        .collect()
}

/// The committed fixtures, and checkpoints of the books their schema-2 events fold into.
fn corpus() -> Corpus {
    let block = hex::decode(BLOCK_V1_HEX.trim()).unwrap();
    let mut samples = vec![(Kind::Block, block.clone())];
    let mut cursor = BlockCursor::open(&block).unwrap();
    while let Some(raw) = cursor.next_event().unwrap() {
        samples.push((Kind::Body, raw.body.to_vec()));
    }
    samples.extend(payloads(PAYLOADS_V1, stored::STORED_SCHEMA_VERSION_V1));
    let v2 = payloads(PAYLOADS_V2, stored::STORED_SCHEMA_VERSION);
    let mut books = Books::default();
    let mut position = 0;
    let mut next_event = None;
    for (_, payload) in &v2 {
        let event = codec::decode_payload::<StoredEvent>(payload)
            .unwrap()
            .into_domain();
        position += 1;
        books.apply(position, &event).unwrap();
        next_event = Some(event);
    }
    assert!(books.regions().count() > 1, "the checkpoint holds regions");
    samples.extend(v2);
    let checkpoint_v2 =
        codec::encode_projection_record(codec::FORMAT_CHECKPOINT_V2, &books.checkpoint()).unwrap();
    let checkpoint_v1 = codec::encode_checkpoint(&books).unwrap();
    let rules =
        codec::encode_projection_record(codec::FORMAT_CHECKPOINT_RULES_V1, &books.rule_events())
            .unwrap();
    samples.push((Kind::Checkpoint, checkpoint_v2));
    samples.push((Kind::Checkpoint, checkpoint_v1));
    samples.push((Kind::Rules, rules));
    Corpus {
        samples,
        rules: Arc::new(books.rule_events().to_vec()),
        next_event: next_event.unwrap(),
    }
}

/// A huge number written over stored bytes: where a count or length was, it claims far
/// more than the record holds.
#[derive(Debug, Clone, Copy)]
enum Huge {
    /// `u32::MAX`, little-endian (the block's counts and lengths).
    U32Max,
    /// `u64::MAX`, little-endian (positions).
    U64Max,
    /// A bincode varint of a u32 (marker 252).
    Varint32(u32),
    /// A bincode varint of a u64 (marker 253).
    Varint64(u64),
}

impl Huge {
    fn bytes(self) -> Vec<u8> {
        match self {
            Huge::U32Max => u32::MAX.to_le_bytes().to_vec(),
            Huge::U64Max => u64::MAX.to_le_bytes().to_vec(),
            Huge::Varint32(value) => [&[252u8][..], &value.to_le_bytes()].concat(),
            Huge::Varint64(value) => [&[253u8][..], &value.to_le_bytes()].concat(),
        }
    }
}

/// One change to stored bytes. Offsets are taken modulo the length (plus one).
#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        bit: u8,
    },
    Set {
        at: usize,
        byte: u8,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
    Truncate {
        at: usize,
    },
    /// Copies `len` bytes of sample `donor` from `from` over the bytes at `at`.
    Splice {
        at: usize,
        donor: usize,
        from: usize,
        len: usize,
    },
    Huge {
        at: usize,
        huge: Huge,
    },
    /// Sets a block's header and trailer counts alike, so that the framing still agrees.
    BlockCount(u32),
    /// Moves a block to end at `u64::MAX`: first position `u64::MAX - n`, `n + 1` events
    /// (header and trailer), as a damaged header near the end of the positions reads.
    BlockEnd(u8),
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation, corpus: &Corpus) {
    let at = |at: usize, len: usize| at % (len + 1);
    let overwrite = |bytes: &mut Vec<u8>, at: usize, with: &[u8]| {
        for (index, byte) in with.iter().enumerate() {
            match bytes.get_mut(at + index) {
                Some(slot) => *slot = *byte,
                None => bytes.push(*byte),
            }
        }
    };
    let len = bytes.len();
    match mutation {
        Mutation::Flip { at: offset, bit } => {
            if let Some(byte) = bytes.get_mut(at(*offset, len)) {
                *byte ^= 1 << (bit % 8);
            }
        }
        Mutation::Set { at: offset, byte } => {
            if let Some(slot) = bytes.get_mut(at(*offset, len)) {
                *slot = *byte;
            }
        }
        Mutation::Insert {
            at: offset,
            bytes: new,
        } => {
            let offset = at(*offset, len);
            bytes.splice(offset..offset, new.iter().copied());
        }
        Mutation::Delete {
            at: offset,
            len: count,
        } => {
            let offset = at(*offset, len);
            bytes.drain(offset..(offset + count).min(len));
        }
        Mutation::Truncate { at: offset } => bytes.truncate(at(*offset, len)),
        Mutation::Splice {
            at: offset,
            donor,
            from,
            len: count,
        } => {
            let donor = &corpus.samples[donor % corpus.samples.len()].1;
            let from = from % (donor.len() + 1);
            let piece = &donor[from..(from + count).min(donor.len())];
            overwrite(bytes, at(*offset, len), piece);
        }
        Mutation::Huge { at: offset, huge } => overwrite(bytes, at(*offset, len), &huge.bytes()),
        Mutation::BlockCount(count) => {
            if len >= 5 {
                bytes[1..5].copy_from_slice(&count.to_le_bytes());
                bytes[len - 4..].copy_from_slice(&count.to_le_bytes());
            }
        }
        Mutation::BlockEnd(before) => {
            if len >= 13 {
                let count = u32::from(*before) + 1;
                bytes[1..5].copy_from_slice(&count.to_le_bytes());
                bytes[5..13].copy_from_slice(&(u64::MAX - u64::from(*before)).to_le_bytes());
                bytes[len - 4..].copy_from_slice(&count.to_le_bytes());
            }
        }
    }
}

fn mutated(corpus: &Corpus, sample: usize, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = corpus.samples[sample].1.clone();
    for mutation in mutations {
        apply(&mut bytes, mutation, corpus);
    }
    bytes
}

/// A business date every report is asked for: after every fixture's date.
fn report_date() -> jiff::civil::Date {
    jiff::civil::date(2025, 12, 31)
}

/// Folds a decoded event into empty books and reports its region, as a rebuild and a
/// query would.
fn fold_and_report(event: &Event) {
    let mut books = Books::default();
    if books.apply(1, event).is_ok() {
        report_books(&books);
    }
}

fn report_books(books: &Books) {
    let rules = books.rulebook();
    for region in books.regions() {
        let _ = report::region_report(books, &rules, region, report_date());
    }
}

/// Feeds `bytes` to every decoder of its kind; returns whether the main decoder took it.
fn decode_all(corpus: &Corpus, kind: &Kind, bytes: &[u8]) -> bool {
    match kind {
        Kind::Block => {
            let decoded = decode_block(bytes, 1, 0).is_ok();
            // The scan path: walk the framing, borrow each body, read its date.
            if let Ok(mut cursor) = BlockCursor::open(bytes) {
                let _ = (cursor.last_position(), cursor.capacity_hint());
                while let Ok(Some(raw)) = cursor.next_event() {
                    if let Ok(body) = codec::decode_body_borrowed(raw.body) {
                        let _ = codec::date_from_number(body.business_date);
                    }
                }
            }
            decoded
        }
        Kind::Body => {
            let _ = codec::decode_body_borrowed(bytes);
            match codec::decode_body(bytes) {
                Ok(body) => codec::envelope_from_body(body, [0; 32], [1; 32]).is_ok(),
                Err(_) => false,
            }
        }
        Kind::Payload {
            schema_version,
            event_type,
        } => {
            let _ = codec::decode_payload::<StoredEvent>(bytes);
            let mut decoded = false;
            for schema_version in [*schema_version, 1, 2] {
                let stored_event = EventRef {
                    position: 1,
                    stream_id: "fuzz",
                    event_type,
                    schema_version,
                    business_date: report_date(),
                    payload: bytes,
                };
                if let Ok(event) = stored::from_event_ref(&stored_event) {
                    decoded = true;
                    fold_and_report(&event);
                }
                if let Ok(event) = stored::for_books(&stored_event) {
                    fold_and_report(&event);
                }
            }
            decoded
        }
        Kind::Checkpoint => {
            let rules = Arc::clone(&corpus.rules);
            match decode_checkpoint(bytes, &mut |_| Ok(Arc::clone(&rules))) {
                Ok(mut books) => {
                    report_books(&books);
                    let next = books.position().wrapping_add(1);
                    let _ = books.apply(next, &corpus.next_event);
                    true
                }
                Err(_) => false,
            }
        }
        Kind::Rules => decode_checkpoint_rules(bytes).is_ok(),
    }
}

fn huge() -> impl Strategy<Value = Huge> {
    prop_oneof![
        Just(Huge::U32Max),
        Just(Huge::U64Max),
        any::<u32>().prop_map(Huge::Varint32),
        any::<u64>().prop_map(Huge::Varint64),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        (any::<usize>(), vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), any::<usize>(), any::<usize>(), 1usize..256).prop_map(
            |(at, donor, from, len)| Mutation::Splice {
                at,
                donor,
                from,
                len
            }
        ),
        (any::<usize>(), huge()).prop_map(|(at, huge)| Mutation::Huge { at, huge }),
        any::<u32>().prop_map(Mutation::BlockCount),
        (0u8..4).prop_map(Mutation::BlockEnd),
    ]
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Mutated fixture bytes of every stored kind decode to an error or a value, never a
/// panic (fixed seed; `FUNDLEDGER_FUZZ_CASES` cases, 10,000 by default).
#[test]
fn hostile_stored_bytes_never_panic_the_decoders() {
    let corpus = corpus();
    let config = ProptestConfig {
        cases: env_number("FUNDLEDGER_FUZZ_CASES", FUZZ_CASES_DEFAULT),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[17; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let strategy = (
        0..corpus.samples.len(),
        vec(mutation(), 1..=MUTATIONS_PER_INPUT_MAX),
    );
    runner
        .run(&strategy, |(sample, mutations)| {
            let bytes = mutated(&corpus, sample, &mutations);
            decode_all(&corpus, &corpus.samples[sample].0, &bytes);
            Ok(())
        })
        .unwrap();
}

/// The unmutated corpus decodes: the fuzz starts from bytes every decoder accepts.
#[test]
fn the_fuzz_corpus_decodes_unmutated() {
    let corpus = corpus();
    for (kind, bytes) in &corpus.samples {
        assert!(decode_all(&corpus, kind, bytes), "{kind:?} decodes");
    }
}

/// The bench's inputs, drawn from the scenarios' SplitMix64 so that they are the same on
/// every run.
struct Inputs(SplitMix);

impl Inputs {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn below(&mut self, bound: u64) -> usize {
        (self.next() % bound) as usize
    }

    fn mutation(&mut self) -> Mutation {
        let at = self.next() as usize;
        match self.below(9) {
            0 => Mutation::Flip {
                at,
                bit: self.below(8) as u8,
            },
            1 => Mutation::Set {
                at,
                byte: self.next() as u8,
            },
            2 => Mutation::Insert {
                at,
                bytes: (0..1 + self.below(15)).map(|_| self.next() as u8).collect(),
            },
            3 => Mutation::Delete {
                at,
                len: 1 + self.below(63),
            },
            4 => Mutation::Truncate { at },
            5 => Mutation::Splice {
                at,
                donor: self.next() as usize,
                from: self.next() as usize,
                len: 1 + self.below(255),
            },
            6 => Mutation::Huge {
                at,
                huge: match self.below(4) {
                    0 => Huge::U32Max,
                    1 => Huge::U64Max,
                    2 => Huge::Varint32(self.next() as u32),
                    _ => Huge::Varint64(self.next()),
                },
            },
            7 => Mutation::BlockCount(self.next() as u32),
            _ => Mutation::BlockEnd(self.below(4) as u8),
        }
    }
}

/// The bench: `FUNDLEDGER_FUZZ_INPUTS` mutated inputs (10M by default), counting panics
/// rather than stopping at the first, and printing the figures.
#[test]
#[ignore = "a bench: run with --ignored --nocapture"]
fn decode_fuzz_bench() {
    let corpus = corpus();
    let inputs = env_number("FUNDLEDGER_FUZZ_INPUTS", FUZZ_INPUTS_DEFAULT);
    let seed = env_number("FUNDLEDGER_FUZZ_SEED", 17u64);
    let first_panics: Arc<Mutex<Vec<String>>> = Arc::default();
    let recorded = Arc::clone(&first_panics);
    std::panic::set_hook(Box::new(move |info| {
        let mut recorded = recorded.lock().unwrap_or_else(|e| e.into_inner());
        if recorded.len() < 10 {
            recorded.push(info.to_string());
        }
    }));
    let mut rng = Inputs(SplitMix::new(seed));
    let (mut panics, mut decoded) = (0u64, 0u64);
    let started = Instant::now();
    for _ in 0..inputs {
        let sample = rng.below(corpus.samples.len() as u64);
        let mutations: Vec<Mutation> = (0..1 + rng.below(MUTATIONS_PER_INPUT_MAX as u64))
            .map(|_| rng.mutation())
            .collect();
        let bytes = mutated(&corpus, sample, &mutations);
        let kind = &corpus.samples[sample].0;
        match catch_unwind(AssertUnwindSafe(|| decode_all(&corpus, kind, &bytes))) {
            Ok(true) => decoded += 1,
            Ok(false) => {}
            Err(_) => panics += 1,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::panic::take_hook();
    println!(
        "decode fuzz: {inputs} mutated inputs (seed {seed}), {panics} panics, {decoded} still \
         decoded, {seconds:.1} s ({:.0} inputs/s)",
        inputs as f64 / seconds
    );
    for message in first_panics.lock().unwrap().iter() {
        println!("panic: {message}");
    }
    assert_eq!(panics, 0, "hostile stored bytes never panic");
}

/// Regression (found by the cargo-fuzz target): a block whose last event sits at
/// `u64::MAX` passed `open`, then `last_position` computed `first + count` before
/// subtracting one and overflowed, and walking past its last event did too.
#[test]
fn a_block_ending_at_the_last_position_walks_without_overflow() {
    use fundledger::log::codec::{BlockWriter, EventBodyRefV1, chain_hash, encode_body};
    for (first, count) in [(u64::MAX, 1u64), (u64::MAX - 1, 2)] {
        let previous = fundledger::log::GENESIS_HASH;
        let mut block = BlockWriter::new(first, &previous);
        for position in first..=first + (count - 1) {
            let body = encode_body(&EventBodyRefV1 {
                position,
                stream_id: "person/a",
                stream_version: 1,
                event_type: "Fixture",
                schema_version: 1,
                business_date: 20191130,
                recorded_at_micros: 0,
                command_id: "fixture",
                actor: "auditor",
                payload: b"payload",
            })
            .unwrap();
            block.push(&body, &chain_hash(&previous, &body));
        }
        let bytes = block.finish();
        let mut cursor = BlockCursor::open(&bytes).unwrap();
        assert_eq!(cursor.last_position(), u64::MAX);
        let mut positions = Vec::new();
        while let Some(raw) = cursor.next_event().unwrap() {
            positions.push(raw.position);
        }
        assert_eq!(positions.last(), Some(&u64::MAX));
        assert_eq!(decode_block(&bytes, first, 0).unwrap().len() as u64, count);
    }
}
