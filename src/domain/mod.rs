//! The domain core: rulebook, commands, events, decisions, postings, money.
//!
//! Owns every policy rule of the five regions' merger of maternity insurance (生育保险)
//! into employee basic medical insurance (职工基本医疗保险). Two pure, synchronous
//! functions carry all of it: [`decide`] (command + state + rulebook → events, or a typed
//! [`Rejection`]) and [`evolve`] (state + event → state, total).
//!
//! Must never do: I/O, clocks (the business date comes in the command), tokio, sled,
//! tonic or proto types. The other rooms depend on this one, never the reverse.
//!
//! # How the other rooms use it
//! - The log stores [`Event`]s as opaque bincode payloads (every type here is
//!   bincode-safe; money and rates are decimal strings) and appends them to
//!   [`Event::stream_id`]; [`Event::event_type`] and [`Event::business_date`] go in the
//!   envelope. [`Rulebook::genesis_events`] is the first thing a new log holds.
//! - The edge loads the streams named by [`Command::reads`], folds them with [`evolve`]
//!   into a [`State`] (rule events into a [`Rulebook`] with [`Rulebook::apply`]), calls
//!   [`decide`], and appends the events with those streams' versions as the expected
//!   versions. `ledger/<region>` in `reads` is not a stream: it asks for the region's
//!   postings (from the projections) in [`State::ledgers`] (fund-merger commands only).
//! - Projections fold [`Event::transaction`] (a balanced [`Transaction`] of one region)
//!   by account; [`Event::maternity_destination`] and
//!   [`Rulebook::shows_maternity_income_item`] classify the maternity lines.
//!
//! # Layout
//! - `money.rs`: [`Yuan`], [`Rate`], the one rounding function [`round_fen`].
//! - `ids.rs`: region, employer, person, birth, claim ids; [`Month`].
//! - `party.rs`: employer categories, person kinds, insurance types.
//! - `posting.rs`: accounts, postings, [`Transaction`] (cannot be built unbalanced).
//! - `rulebook/`: [`Rulebook`], its dated lookup and nesting, one TOML file per region.
//! - `contribution.rs`: contribution lines, the SPEC §3 split, chunking.
//! - `benefit.rs`: births, allowance days, delivery payments.
//! - `reassessment.rs`: differences after a retroactive change.
//! - `event.rs`: [`Event`] and its payloads; stream ids, business dates, postings.
//! - `state.rs`: [`State`] and [`evolve`].
//! - `rejection.rs`: [`Rejection`].
//! - `risk.rs`: fund risk bands (months of cover of the pooled fund).
//! - `command/`: one file per command; [`Command`] dispatches and [`decide`] lives there.
//! - `scenarios.rs`: the canonical five-region scenarios (golden snapshots, demo).

pub mod benefit;
pub mod command;
pub mod contribution;
pub mod event;
pub mod ids;
pub mod money;
pub mod party;
pub mod posting;
pub mod reassessment;
pub mod rejection;
pub mod risk;
pub mod rulebook;
pub mod scenarios;
pub mod state;

#[cfg(test)]
mod laws;
#[cfg(test)]
pub(crate) mod testing;

pub use benefit::{AllowanceDays, Birth, ClaimKind, Delivery, HospitalLevel};
pub use command::{
    Command, EVENTS_PER_BATCH_MAX, EVENTS_PER_COMMAND_MAX, decide, decide_all, reads_all,
};
pub use contribution::{BaseSource, ContributionAmounts, ContributionLine, LineChunk};
pub use event::Event;
pub use ids::{BirthId, ClaimId, EmployerId, Month, PersonId, PregnancyId, RegionId};
pub use money::{Rate, Yuan, round_fen};
pub use party::{EmployerCategory, InsuranceType, PersonKind};
pub use posting::{Account, Posting, Side, Transaction};
pub use rejection::Rejection;
pub use rulebook::{AppliedRule, Confidence, Rulebook, RulebookLoadError};
pub use state::{State, evolve};
