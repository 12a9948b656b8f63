//! Arbitrary bytes into every decoder of stored bytes: the first byte picks the decoder
//! (block, event body, payload, checkpoint, checkpoint rule events), the rest is the
//! stored value. An `Err` is the expected answer; a panic, an abort or an allocation
//! sized by a damaged count is a finding. Seeds (`fuzz/seeds/decode`) are the committed
//! fixtures, prefixed with their decoder's byte.
#![no_main]

use std::sync::Arc;

use fundledger::log::codec::{self, BlockCursor};
use fundledger::log::{EventRef, decode_block};
use fundledger::projections::stored::{self, StoredEvent};
use fundledger::projections::{Books, decode_checkpoint, decode_checkpoint_rules, report};
use libfuzzer_sys::fuzz_target;

/// The event types a payload is offered under (the books' fast view checks it last).
const EVENT_TYPES: [&str; 4] = [
    "ContributionAssessed",
    "PersonEnrolled",
    "AllowanceGranted",
    "RuleAmended",
];

fn report_books(books: &Books) {
    let rules = books.rulebook();
    for region in books.regions() {
        let _ = report::region_report(books, &rules, region, jiff::civil::date(2025, 12, 31));
    }
}

fn fold(event: &fundledger::domain::Event) {
    let mut books = Books::default();
    if books.apply(1, event).is_ok() {
        report_books(&books);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match selector % 5 {
        0 => {
            let _ = decode_block(bytes, 1, 0);
            if let Ok(mut cursor) = BlockCursor::open(bytes) {
                let _ = (cursor.last_position(), cursor.capacity_hint());
                while let Ok(Some(raw)) = cursor.next_event() {
                    if let Ok(body) = codec::decode_body_borrowed(raw.body) {
                        let _ = codec::date_from_number(body.business_date);
                    }
                }
            }
        }
        1 => {
            let _ = codec::decode_body_borrowed(bytes);
            if let Ok(body) = codec::decode_body(bytes) {
                let _ = codec::envelope_from_body(body, [0; 32], [1; 32]);
            }
        }
        2 => {
            let _ = codec::decode_payload::<StoredEvent>(bytes);
            let event_type = EVENT_TYPES[usize::from(selector / 5) % EVENT_TYPES.len()];
            for schema_version in [1, 2] {
                let stored_event = EventRef {
                    position: 1,
                    stream_id: "fuzz",
                    event_type,
                    schema_version,
                    business_date: jiff::civil::date(2025, 12, 31),
                    payload: bytes,
                };
                if let Ok(event) = stored::from_event_ref(&stored_event) {
                    fold(&event);
                }
                if let Ok(event) = stored::for_books(&stored_event) {
                    fold(&event);
                }
            }
        }
        3 => {
            let mut rules = |count: u64| -> Result<Arc<Vec<fundledger::domain::Event>>, String> {
                if count == 0 {
                    Ok(Arc::new(Vec::new()))
                } else {
                    Err(format!("no {count} rule events here"))
                }
            };
            if let Ok(mut books) = decode_checkpoint(bytes, &mut rules) {
                report_books(&books);
                let _ = books.skip_undecodable(books.position().wrapping_add(1), String::new());
            }
        }
        _ => {
            let _ = decode_checkpoint_rules(bytes);
        }
    }
});
