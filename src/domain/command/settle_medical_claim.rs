//! Maternity medical claims settled directly with a designated institution (直接结算):
//! delivery per disease (按病种: by delivery type and hospital level, "fixed" or
//! "min(actual, fixed)"), prenatal checks against a per-pregnancy quota (按人头) with the
//! remainder tracked.

use jiff::civil::Date;

use super::{require_maternity_eligible, require_person};
use crate::domain::benefit::{ClaimKind, delivery_payment};
use crate::domain::contribution::maternity_destination;
use crate::domain::event::{Event, MedicalClaimSettled, fund_stream, person_stream};
use crate::domain::ids::{ClaimId, Month, PersonId, RegionId};
use crate::domain::money::Yuan;
use crate::domain::posting::{Account, Transaction, credit, debit};
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::{PersonState, State};

/// Settle a maternity medical claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleMedicalClaim {
    /// The claim id (unique per person).
    pub claim: ClaimId,
    /// The insured woman.
    pub person: PersonId,
    /// Her region.
    pub region: RegionId,
    /// The designated institution.
    pub institution: String,
    /// Delivery or prenatal.
    pub kind: ClaimKind,
    /// Service date.
    pub service_date: Date,
    /// Settlement date (decides which fund is open).
    pub settled_on: Date,
    /// Actual cost billed.
    pub actual: Yuan,
}

impl SettleMedicalClaim {
    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        vec![person_stream(&self.person), fund_stream(&self.region)]
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        let person = require_person(state, &self.person, self.service_date)?;
        if self.actual.is_negative() || self.actual.is_zero() {
            return Err(Rejection::AmountNotPositive {
                field: "actual",
                amount: self.actual,
            });
        }
        require_maternity_eligible(&self.person, person, self.service_date, rules)?;
        if let Some(settled_on) = person.claims.get(&self.claim) {
            return Err(Rejection::ClaimAlreadySettled {
                claim: self.claim.clone(),
                settled_on: *settled_on,
            });
        }
        let (paid, quota_remaining, applied) = self.payment(person, rules)?;
        let paid_from = maternity_destination(
            rules,
            &person.region,
            Month::of(self.service_date),
            state.funds.get(&person.region),
            self.settled_on,
            false,
        )?;
        let transaction = Transaction::new(
            person.region.clone(),
            vec![
                debit(paid_from, paid),
                credit(Account::BenefitsPayable, paid),
            ],
        )?;
        Ok(vec![Event::MedicalClaimSettled(MedicalClaimSettled {
            claim: self.claim.clone(),
            person: self.person.clone(),
            region: person.region.clone(),
            institution: self.institution.clone(),
            kind: self.kind.clone(),
            service_date: self.service_date,
            actual: self.actual,
            paid,
            quota_remaining,
            rules: applied,
            transaction,
        })])
    }

    #[allow(clippy::type_complexity)] // (paid, quota left, rules used) reads plainly here
    fn payment(
        &self,
        person: &PersonState,
        rules: &Rulebook,
    ) -> Result<
        (
            Yuan,
            Option<Yuan>,
            Vec<crate::domain::rulebook::AppliedRule>,
        ),
        Rejection,
    > {
        match &self.kind {
            ClaimKind::Delivery {
                pregnancy,
                delivery,
                level,
            } => {
                if person.delivered.contains(pregnancy) {
                    return Err(Rejection::DeliveryAlreadySettled {
                        pregnancy: pregnancy.clone(),
                    });
                }
                let (paid, applied) = delivery_payment(
                    rules,
                    &person.region,
                    *delivery,
                    *level,
                    self.actual,
                    self.service_date,
                )?;
                Ok((paid, None, applied))
            }
            ClaimKind::Prenatal { pregnancy } => {
                let (quota, rule) =
                    rules.amount(&person.region, "prenatal_quota", self.service_date)?;
                let used = person
                    .prenatal_used
                    .get(pregnancy)
                    .copied()
                    .unwrap_or(Yuan::ZERO);
                let left = quota.checked_sub(used)?;
                if left.is_zero() || left.is_negative() {
                    return Err(Rejection::PrenatalQuotaExhausted {
                        pregnancy: pregnancy.clone(),
                        quota,
                    });
                }
                let paid = self.actual.min(left);
                Ok((paid, Some(left.checked_sub(paid)?), vec![rule]))
            }
        }
    }
}
