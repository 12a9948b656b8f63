//! The stored form of domain events: what goes into a log envelope's payload.
//!
//! The stored schema is separate from the domain event so that the domain can change
//! without rewriting the log: `StoredEvent::V2` wraps today's event; `V1` holds the frozen
//! layout of schema 1 (`v1.rs`). A later schema is a new variant appended below, never
//! reordered, with its conversion to the domain event; the envelope's schema version names
//! the variant its payload holds.

use serde::{Deserialize, Serialize};

use crate::domain::Event;
use crate::log::{Envelope, EventRef, NewEvent, codec};

pub mod v1;

/// The payload schema version written today.
pub const STORED_SCHEMA_VERSION: u16 = 2;
/// Schema 1: the log's payloads before a grant could record an override; read, never
/// written.
pub const STORED_SCHEMA_VERSION_V1: u16 = 1;

/// Every stored schema of a domain event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredEvent {
    /// Schema 1: frozen; a grant without an override record.
    V1(v1::Event),
    /// Schema 2: today's domain event (the grant records an operator's override).
    V2(Event),
}

impl StoredEvent {
    /// The schema version the envelope carries for this variant.
    pub fn schema_version(&self) -> u16 {
        match self {
            StoredEvent::V1(_) => STORED_SCHEMA_VERSION_V1,
            StoredEvent::V2(_) => STORED_SCHEMA_VERSION,
        }
    }

    /// The domain event it holds (a schema-1 grant has no override).
    pub fn into_domain(self) -> Event {
        match self {
            StoredEvent::V1(event) => event.into_domain(),
            StoredEvent::V2(event) => event,
        }
    }
}

/// Why a stored event could not be turned back into a domain event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event at position {position} ({event_type}) does not decode: {reason}")]
pub struct DecodeError {
    /// Where.
    pub position: u64,
    /// Its type name.
    pub event_type: String,
    /// What failed (a damaged record, an unbalanced posting set, an unknown schema).
    pub reason: String,
}

/// The envelope contents for a domain event.
pub fn to_new_event(event: &Event) -> Result<NewEvent, codec::CodecError> {
    Ok(NewEvent {
        stream_id: event.stream_id(),
        event_type: event.event_type().to_owned(),
        schema_version: STORED_SCHEMA_VERSION,
        business_date: event.business_date(),
        payload: codec::encode_payload(&StoredEvent::V2(event.clone()))?,
    })
}

/// The domain event inside an envelope.
pub fn from_envelope(envelope: &Envelope) -> Result<Event, DecodeError> {
    from_event_ref(&EventRef {
        position: envelope.position,
        stream_id: &envelope.stream_id,
        event_type: &envelope.event_type,
        schema_version: envelope.schema_version,
        business_date: envelope.business_date,
        payload: &envelope.payload,
    })
}

/// The domain event inside a stored event borrowed from its block.
pub fn from_event_ref(stored_event: &EventRef<'_>) -> Result<Event, DecodeError> {
    let error = |reason: String| DecodeError {
        position: stored_event.position,
        event_type: stored_event.event_type.to_owned(),
        reason,
    };
    if !(STORED_SCHEMA_VERSION_V1..=STORED_SCHEMA_VERSION).contains(&stored_event.schema_version) {
        return Err(error(format!(
            "unknown schema version {}",
            stored_event.schema_version
        )));
    }
    let stored: StoredEvent =
        codec::decode_payload(stored_event.payload).map_err(|reason| error(reason.to_string()))?;
    if stored.schema_version() != stored_event.schema_version {
        return Err(error(format!(
            "payload is schema {}, the envelope says {}",
            stored.schema_version(),
            stored_event.schema_version
        )));
    }
    let event = stored.into_domain();
    if event.event_type() != stored_event.event_type {
        return Err(error(format!("payload is a {}", event.event_type())));
    }
    Ok(event)
}

/// The variant indices of `StoredEvent::V1` and `V2` in the payload (bincode writes an
/// enum's variant index first, as a varint: one byte below 251).
const STORED_V1_INDEX: u8 = 0;
const STORED_V2_INDEX: u8 = 1;
/// The variant index of `Event::PersonEnrolled`.
const PERSON_ENROLLED_INDEX: u8 = 3;
/// The variant index of `Event::PersonMigrated`.
const PERSON_MIGRATED_INDEX: u8 = 4;
/// The variant indices of `Event::EnrollmentSuspended`, `EnrollmentResumed` and
/// `EnrollmentTerminated`, in that order.
const ENROLLMENT_SUSPENDED_INDEX: u8 = 5;
const ENROLLMENT_RESUMED_INDEX: u8 = 6;
const ENROLLMENT_TERMINATED_INDEX: u8 = 7;
/// The variant index of `Event::ContributionAssessed`.
const CONTRIBUTION_ASSESSED_INDEX: u8 = 9;
/// The variant index of `Event::ContributionBackPaid`.
const CONTRIBUTION_BACK_PAID_INDEX: u8 = 11;

/// The domain event inside a stored event, as far as the books read it: as
/// [`from_event_ref`], except for what the books never read, which is stepped over, not
/// decoded:
/// - a contribution assessment or back-payment comes without its lines, totals and rules
///   (empty and zero), which are nearly all of its size (200 lines of 11 decimals each);
/// - an enrollment, migration or status change comes without its person, employer, agency
///   and reason (empty), and its dates are the envelope's business date: the books read
///   its region, date and insurance types only. These are most of a region's events, and
///   their text and dates were most of a rebuild's decoding.
///
/// Never hand the result to anything but the books' fold.
pub fn for_books(stored_event: &EventRef<'_>) -> Result<Event, DecodeError> {
    let payload = stored_event.payload;
    // Schemas 1 and 2 lay out the events stepped over here alike (only the allowance grant
    // differs, and it is decoded in full).
    let index = match (payload, stored_event.schema_version) {
        (
            [codec::FORMAT_PAYLOAD_BINCODE_V1, STORED_V1_INDEX, index, ..],
            STORED_SCHEMA_VERSION_V1,
        )
        | ([codec::FORMAT_PAYLOAD_BINCODE_V1, STORED_V2_INDEX, index, ..], STORED_SCHEMA_VERSION) => {
            *index
        }
        _ => return from_event_ref(stored_event),
    };
    let error = |reason: String| DecodeError {
        position: stored_event.position,
        event_type: stored_event.event_type.to_owned(),
        reason,
    };
    let body = &payload[3..];
    let event = match index {
        CONTRIBUTION_ASSESSED_INDEX => {
            let chunk: books_view::ChunkForBooks = decode_all(body).map_err(error)?;
            Event::ContributionAssessed(chunk.into_chunk())
        }
        CONTRIBUTION_BACK_PAID_INDEX => {
            let back_paid: books_view::BackPaidForBooks = decode_all(body).map_err(error)?;
            Event::ContributionBackPaid(crate::domain::event::ContributionBackPaid {
                chunk: back_paid.chunk.into_chunk(),
                booked_on: back_paid.booked_on,
            })
        }
        PERSON_ENROLLED_INDEX => {
            let enrolled: books_view::EnrolledForBooks = decode_all(body).map_err(error)?;
            Event::PersonEnrolled(enrolled.into_event(stored_event.business_date))
        }
        PERSON_MIGRATED_INDEX => {
            let migrated: books_view::MigratedForBooks = decode_all(body).map_err(error)?;
            Event::PersonMigrated(migrated.into_event(stored_event.business_date))
        }
        ENROLLMENT_SUSPENDED_INDEX | ENROLLMENT_RESUMED_INDEX | ENROLLMENT_TERMINATED_INDEX => {
            let changed: books_view::StatusChangedForBooks = decode_all(body).map_err(error)?;
            let changed = changed.into_event(stored_event.business_date);
            match index {
                ENROLLMENT_SUSPENDED_INDEX => Event::EnrollmentSuspended(changed),
                ENROLLMENT_RESUMED_INDEX => Event::EnrollmentResumed(changed),
                _ => Event::EnrollmentTerminated(changed),
            }
        }
        _ => return from_event_ref(stored_event),
    };
    if event.event_type() != stored_event.event_type {
        return Err(error(format!("payload is a {}", event.event_type())));
    }
    Ok(event)
}

/// Decodes `bytes` (bincode serde mode, standard configuration), refusing trailing bytes.
fn decode_all<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, String> {
    let config = bincode::config::standard().with_limit::<{ codec::PAYLOAD_DECODED_BYTES_MAX }>();
    let (value, read) = bincode::serde::borrow_decode_from_slice(bytes, config)
        .map_err(|error| format!("payload: {error}"))?;
    if read != bytes.len() {
        return Err(format!("payload has {} trailing bytes", bytes.len() - read));
    }
    Ok(value)
}

/// The stored layout of schemas 1 and 2's contribution chunks and enrollments, with what the
/// books do not read stepped over. Neither may change (a change to these domain events is
/// a new `StoredEvent` variant), and a test folds the canonical scenarios both ways.
mod books_view {
    use jiff::civil::Date;
    use serde::Deserialize;

    use crate::domain::event::{EnrollmentStatusChanged, PersonEnrolled, PersonMigrated};
    use crate::domain::party::PersonKind;
    use crate::domain::posting::Account;
    use crate::domain::{
        BaseSource, ContributionAmounts, EmployerId, InsuranceType, LineChunk, Month, PersonId,
        RegionId, Transaction,
    };

    /// A value the books do not read, stepped over as the length-prefixed bytes bincode
    /// writes text, decimals, dates and ids as, without decoding or checking it as text.
    pub(super) struct Skipped;

    impl<'de> Deserialize<'de> for Skipped {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_bytes(SkippedVisitor)
        }
    }

    struct SkippedVisitor;

    impl<'de> serde::de::Visitor<'de> for SkippedVisitor {
        type Value = Skipped;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("length-prefixed bytes")
        }

        fn visit_borrowed_bytes<E: serde::de::Error>(self, _: &'de [u8]) -> Result<Skipped, E> {
            Ok(Skipped)
        }

        fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Skipped, E> {
            Ok(Skipped)
        }
    }

    /// `ContributionAmounts`: nine amounts.
    #[derive(Deserialize)]
    pub(super) struct AmountsSkipped(
        Skipped,
        Skipped,
        Skipped,
        Skipped,
        Skipped,
        Skipped,
        Skipped,
        Skipped,
        Skipped,
    );

    /// `ContributionLine`.
    #[derive(Deserialize)]
    #[allow(dead_code)] // read only to step over them
    pub(super) struct LineSkipped {
        person: Skipped,
        kind: PersonKind,
        declared_wage: Option<Skipped>,
        base: Skipped,
        base_source: BaseSource,
        amounts: AmountsSkipped,
    }

    /// `AppliedRule`.
    #[derive(Deserialize)]
    #[allow(dead_code)] // read only to step over them
    pub(super) struct AppliedRuleSkipped {
        parameter: Skipped,
        found_in: Skipped,
        value: Skipped,
        effective_from: Skipped,
        document: Skipped,
    }

    /// `LineChunk`, field by field in its order.
    #[derive(Deserialize)]
    pub(super) struct ChunkForBooks {
        employer: EmployerId,
        region: RegionId,
        month: Month,
        chunk: u32,
        #[allow(dead_code)] // read only to step over them
        lines: Vec<LineSkipped>,
        #[allow(dead_code)]
        totals: AmountsSkipped,
        maternity_destination: Account,
        #[allow(dead_code)]
        rules: Vec<AppliedRuleSkipped>,
        transaction: Transaction,
    }

    impl ChunkForBooks {
        /// The chunk with its lines, totals and rules left empty.
        pub(super) fn into_chunk(self) -> LineChunk {
            LineChunk {
                employer: self.employer,
                region: self.region,
                month: self.month,
                chunk: self.chunk,
                lines: Vec::new(),
                totals: ContributionAmounts::default(),
                maternity_destination: self.maternity_destination,
                rules: Vec::new(),
                transaction: self.transaction,
            }
        }
    }

    /// `ContributionBackPaid`.
    #[derive(Deserialize)]
    pub(super) struct BackPaidForBooks {
        pub(super) chunk: ChunkForBooks,
        pub(super) booked_on: Date,
    }

    /// `PersonEnrolled`, field by field in its order.
    #[derive(Deserialize)]
    #[allow(dead_code)] // the skipped fields are read only to step over them
    pub(super) struct EnrolledForBooks {
        person: Skipped,
        region: RegionId,
        employer: Option<Skipped>,
        kind: PersonKind,
        enrolled_on: Skipped,
        insurance: Vec<InsuranceType>,
    }

    impl EnrolledForBooks {
        /// The event with an empty person, no employer, and `date` as its enrollment date.
        pub(super) fn into_event(self, date: Date) -> PersonEnrolled {
            PersonEnrolled {
                person: PersonId::new(String::new()),
                region: self.region,
                employer: None,
                kind: self.kind,
                enrolled_on: date,
                insurance: self.insurance,
            }
        }
    }

    /// `PersonMigrated`, field by field in its order.
    #[derive(Deserialize)]
    #[allow(dead_code)] // the skipped fields are read only to step over them
    pub(super) struct MigratedForBooks {
        person: Skipped,
        region: RegionId,
        employer: Skipped,
        held: Vec<InsuranceType>,
        added: Vec<InsuranceType>,
        added_by: Skipped,
        migrated_on: Skipped,
        insured_since: Skipped,
    }

    impl MigratedForBooks {
        /// The event with an empty person, employer and agency, and `date` as both dates.
        pub(super) fn into_event(self, date: Date) -> PersonMigrated {
            PersonMigrated {
                person: PersonId::new(String::new()),
                region: self.region,
                employer: EmployerId::new(String::new()),
                held: self.held,
                added: self.added,
                added_by: String::new(),
                migrated_on: date,
                insured_since: date,
            }
        }
    }

    /// `EnrollmentStatusChanged`, field by field in its order.
    #[derive(Deserialize)]
    #[allow(dead_code)] // the skipped fields are read only to step over them
    pub(super) struct StatusChangedForBooks {
        person: Skipped,
        region: RegionId,
        on: Skipped,
        reason: Skipped,
        insurance: Vec<InsuranceType>,
    }

    impl StatusChangedForBooks {
        /// The change with an empty person and reason, and `date` as its date.
        pub(super) fn into_event(self, date: Date) -> EnrollmentStatusChanged {
            EnrollmentStatusChanged {
                person: PersonId::new(String::new()),
                region: self.region,
                on: date,
                reason: String::new(),
                insurance: self.insurance,
            }
        }
    }
}
