//! Golden fixtures of the stored event schemas: payloads written by schemas 1 and 2,
//! committed, must decode to the same events forever. A change to a domain event that alters how
//! history decodes fails here; it needs a new `StoredEvent` version instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use fundledger::domain::command::amend_rule::{AmendRule, EmployerRef};
use fundledger::domain::command::pay_allowance::PayAllowance;
use fundledger::domain::command::resume::ResumeEnrollment;
use fundledger::domain::command::terminate::TerminateEnrollment;
use fundledger::domain::scenarios::Step;
use fundledger::domain::{
    Birth, BirthId, Command, Confidence, Delivery, EmployerId, PersonId, RegionId,
};
use fundledger::log::EventRef;
use fundledger::log::codec;
use fundledger::projections::stored::{self, STORED_SCHEMA_VERSION_V1, StoredEvent};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/stored_events_v1.jsonl"
);
const FIXTURE_V2: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/stored_events_v2.jsonl"
);
/// The key of the schema-2 fixture's grant that records an override.
const OVERRIDE_KEY: &str = "AllowanceGranted with an override";

/// Every committed schema-1 payload decodes to the event recorded beside it.
#[test]
fn stored_v1_fixtures_decode_forever() {
    let text = std::fs::read_to_string(FIXTURE)
        .expect("the committed fixture (write it once with --ignored write_stored_v1_fixtures)");
    let mut types = Vec::new();
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let payload = hex::decode(record["payload_hex"].as_str().unwrap()).unwrap();
        assert_eq!(
            record["schema_version"].as_u64(),
            Some(u64::from(STORED_SCHEMA_VERSION_V1))
        );
        let StoredEvent::V1(event) = codec::decode_payload::<StoredEvent>(&payload).unwrap() else {
            panic!("a schema-1 payload decodes as StoredEvent::V1: {line}");
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            record["event"],
            "{line}"
        );
        // And reads as today's domain event, with no override recorded, through the log's
        // read path and the books' (which steps over what they do not read).
        let event = event.into_domain();
        assert_eq!(event.event_type(), record["event_type"].as_str().unwrap());
        let stored_event = EventRef {
            position: 1,
            stream_id: &event.stream_id(),
            event_type: event.event_type(),
            schema_version: STORED_SCHEMA_VERSION_V1,
            business_date: event.business_date(),
            payload: &payload,
        };
        assert_eq!(stored::from_event_ref(&stored_event).unwrap(), event);
        let for_books = stored::for_books(&stored_event).unwrap();
        assert_eq!(
            (for_books.event_type(), for_books.region()),
            (event.event_type(), event.region())
        );
        if let fundledger::domain::Event::AllowanceGranted(granted) = &event {
            assert_eq!(granted.overrode, None);
        }
        types.push(event.event_type());
    }
    // One fixture per event type: all 19.
    assert_eq!(
        types.len(),
        19,
        "fixtures cover every event type: {types:?}"
    );
}

/// Every committed schema-2 payload decodes to the event recorded beside it, among them
/// an allowance granted under an operator's override, which records the reason and the
/// grant it overrode.
#[test]
fn stored_v2_fixtures_decode_forever() {
    let text = std::fs::read_to_string(FIXTURE_V2)
        .expect("the committed fixture (write it once with --ignored write_stored_v2_fixtures)");
    let mut types = Vec::new();
    let mut overrides = 0;
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let payload = hex::decode(record["payload_hex"].as_str().unwrap()).unwrap();
        assert_eq!(record["schema_version"].as_u64(), Some(2));
        let StoredEvent::V2(event) = codec::decode_payload::<StoredEvent>(&payload).unwrap() else {
            panic!("a schema-2 payload decodes as StoredEvent::V2: {line}");
        };
        assert_eq!(event.event_type(), record["event_type"].as_str().unwrap());
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            record["event"],
            "{line}"
        );
        if let fundledger::domain::Event::AllowanceGranted(granted) = &event
            && let Some(overrode) = &granted.overrode
        {
            assert!(!overrode.reason.trim().is_empty());
            assert!(overrode.first_position.is_some());
            overrides += 1;
        }
        types.push(event.event_type());
    }
    assert_eq!(overrides, 1, "one grant records an override");
    types.sort();
    types.dedup();
    assert_eq!(
        types.len(),
        19,
        "fixtures cover every event type: {types:?}"
    );
}

/// Writes the fixture of today's schema (2) from the canonical scenarios: one payload per
/// event type, and a grant under an operator's override. Run once per new schema version
/// (`cargo test --test stored_fixtures -- --ignored`), then commit; the fixtures of older
/// schemas are never rewritten.
#[test]
#[ignore = "writes the committed fixture"]
fn write_stored_v2_fixtures() {
    let (_dir, ledger) = support::ledger::temp_ledger();
    for scenario in fundledger::domain::scenarios::canonical() {
        support::ledger::run(&ledger, &scenario);
    }
    // The three event types the scenarios do not produce, and a second grant for tj-li's
    // birth of 2024-07-15 under a new birth id, overridden by an operator.
    let date = jiff::civil::date;
    let extra: Vec<(&str, Command)> = vec![
        (
            "fixture-resume",
            ResumeEnrollment {
                person: PersonId::new("kz-gulnar"),
                on: date(2020, 6, 1),
                reason: "恢复缴费".to_owned(),
            }
            .into(),
        ),
        (
            "fixture-terminate",
            TerminateEnrollment {
                person: PersonId::new("kz-ayi"),
                on: date(2020, 12, 1),
                reason: "离职".to_owned(),
            }
            .into(),
        ),
        (
            "fixture-retroactive-rate",
            AmendRule {
                region: RegionId::new("tianjin"),
                parameter: "employer_bmi_rate".to_owned(),
                value: "0.105".to_owned(),
                effective_from: date(2024, 4, 1),
                authority: "天津市医疗保障局".to_owned(),
                document: "fixture: a retroactive rate".to_owned(),
                tag: Confidence::Assumption,
                recorded_on: date(2024, 8, 1),
                reassess: vec![EmployerRef {
                    employer: EmployerId::new("tj-firm"),
                    region: RegionId::new("tianjin"),
                }],
            }
            .into(),
        ),
        (
            "fixture-same-birth-override",
            PayAllowance {
                person: PersonId::new("tj-li"),
                employer: EmployerId::new("tj-firm"),
                region: RegionId::new("tianjin"),
                birth: Birth {
                    id: BirthId::new("tj-li-birth-1b"),
                    date: date(2024, 7, 15),
                    delivery: Delivery::Vaginal,
                    difficult: false,
                    babies: 1,
                    miscarriage_months: None,
                },
                granted_on: date(2024, 8, 1),
                override_reason: Some(
                    "fixture: the first grant was paid to a closed bank account".to_owned(),
                ),
            }
            .into(),
        ),
    ];
    for (command_id, command) in extra {
        support::ledger::execute(
            &ledger,
            &Step {
                command_id: command_id.to_owned(),
                command,
            },
        );
    }
    let mut first: BTreeMap<String, String> = BTreeMap::new();
    for envelope in ledger.log().read_range(1, u64::MAX) {
        let envelope = envelope.unwrap();
        let StoredEvent::V2(event) =
            codec::decode_payload::<StoredEvent>(&envelope.payload).unwrap()
        else {
            panic!("today's ledger writes schema 2");
        };
        let key = match &event {
            fundledger::domain::Event::AllowanceGranted(granted) if granted.overrode.is_some() => {
                OVERRIDE_KEY.to_owned()
            }
            _ => envelope.event_type.clone(),
        };
        if first.contains_key(&key) {
            continue;
        }
        let line = serde_json::json!({
            "event_type": envelope.event_type,
            "schema_version": envelope.schema_version,
            "payload_hex": hex::encode(&envelope.payload),
            "event": serde_json::to_value(&event).unwrap(),
        });
        first.insert(key, line.to_string());
    }
    let text: String = first.values().map(|line| format!("{line}\n")).collect();
    std::fs::write(FIXTURE_V2, text).unwrap();
    eprintln!(
        "wrote {} event types: {:?}",
        first.len(),
        first.keys().collect::<Vec<_>>()
    );
}

/// The bytes of a schema-1 block of two events (format byte 0xB1), committed below.
fn fixture_block() -> Vec<u8> {
    use fundledger::log::codec::{BlockWriter, EventBodyRefV1, chain_hash, encode_body};
    let mut previous = fundledger::log::GENESIS_HASH;
    let mut block = BlockWriter::new(1, &previous);
    for (position, stream_id) in [(1u64, "person/a"), (2, "employer/b")] {
        let body = encode_body(&EventBodyRefV1 {
            position,
            stream_id,
            stream_version: 1,
            event_type: "Fixture",
            schema_version: 1,
            business_date: 20191130,
            recorded_at_micros: 1_575_072_000_000_000,
            command_id: "fixture",
            actor: "auditor",
            payload: b"payload",
        })
        .unwrap();
        let hash = chain_hash(&previous, &body);
        block.push(&body, &hash);
        previous = hash;
    }
    block.finish()
}

const BLOCK_V1_HEX: &str = include_str!("fixtures/log_block_v1.hex");

/// A committed schema-1 block decodes forever: same framing, bodies, and hash chain.
#[test]
fn log_block_v1_fixture_decodes_forever() {
    use fundledger::log::codec::{BlockCursor, chain_hash, decode_body};
    let bytes = hex::decode(BLOCK_V1_HEX.trim()).unwrap();
    assert_eq!(
        bytes,
        fixture_block(),
        "today's writer still writes the committed bytes"
    );
    let mut cursor = BlockCursor::open(&bytes).unwrap();
    let mut previous = cursor.previous_hash;
    let mut streams = Vec::new();
    while let Some(raw) = cursor.next_event().unwrap() {
        assert_eq!(chain_hash(&previous, raw.body), raw.hash);
        let body = decode_body(raw.body).unwrap();
        assert_eq!(
            (body.position, body.business_date),
            (raw.position, 20191130)
        );
        streams.push(body.stream_id);
        previous = raw.hash;
    }
    assert_eq!(streams, ["person/a", "employer/b"]);
}

/// Writes the block fixture (run once with --ignored, then commit).
#[test]
#[ignore = "writes the committed fixture"]
fn write_log_block_v1_fixture() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/log_block_v1.hex"
    );
    std::fs::write(path, hex::encode(fixture_block()) + "\n").unwrap();
}

const HEAD_RECORD_SLOT_V1_HEX: &str = include_str!("fixtures/head_record_slot_v1.hex");

/// A committed head-record slot (format 0x48: sequence 7, position 400, hash 0xAB × 32,
/// SHA-256 of those 49 bytes) decodes forever, and today's encoder writes the same bytes.
#[test]
fn head_record_slot_v1_fixture_decodes_forever() {
    use fundledger::log::codec::{
        HeadRecordSlot, decode_head_record_slot, encode_head_record_slot,
    };
    let bytes = hex::decode(HEAD_RECORD_SLOT_V1_HEX.trim()).unwrap();
    let slot = HeadRecordSlot {
        sequence: 7,
        position: 400,
        hash: [0xAB; 32],
    };
    assert_eq!(decode_head_record_slot(&bytes).unwrap(), slot);
    assert_eq!(encode_head_record_slot(&slot).to_vec(), bytes);
}
