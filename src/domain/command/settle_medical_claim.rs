//! Maternity medical claims settled directly with a designated institution (直接结算):
//! delivery per disease (按病种: by delivery type and hospital level, "fixed" or
//! "min(actual, fixed)"), prenatal checks against a per-pregnancy quota (按人头) with the
//! remainder tracked.

use jiff::civil::Date;

use super::{require_maternity_eligible, require_person, require_region_of};
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
        require_region_of(&self.person, person, &self.region)?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::benefit::{Delivery, HospitalLevel};
    use crate::domain::ids::PregnancyId;
    use crate::domain::party::{EmployerCategory, PersonKind};
    use crate::domain::testing::*;

    fn tianjin() -> Scenario {
        given([
            register(
                "tj-firm",
                "tianjin",
                EmployerCategory::Enterprise,
                "7000",
                day(2020, 1, 2),
            ),
            enroll(
                "hu",
                "tj-firm",
                "tianjin",
                PersonKind::Employee,
                day(2020, 1, 2),
            ),
        ])
    }

    fn delivery(claim: &str, actual: &str) -> SettleMedicalClaim {
        SettleMedicalClaim {
            claim: ClaimId::new(claim),
            person: person("hu"),
            region: region("tianjin"),
            institution: "天津市中心妇产科医院".to_string(),
            kind: ClaimKind::Delivery {
                pregnancy: PregnancyId::new("hu-1"),
                delivery: Delivery::Caesarean,
                level: HospitalLevel::Tertiary,
            },
            service_date: day(2020, 6, 1),
            settled_on: day(2020, 6, 5),
            actual: yuan(actual),
        }
    }

    fn paid(events: &[Event]) -> (Yuan, Option<Yuan>) {
        let Event::MedicalClaimSettled(settled) = &events[0] else {
            panic!("settled")
        };
        (settled.paid, settled.quota_remaining)
    }

    /// Delivery per disease, mode min(actual, fixed) [A]: caesarean, tertiary, fixed 4500.
    #[test]
    fn delivery_pays_min_of_actual_and_fixed() {
        let scenario = tianjin();
        assert_eq!(
            paid(&scenario.when(delivery("c1", "3800.00")).then_events()).0,
            yuan("3800.00")
        ); // min(3800, 4500)
        assert_eq!(
            paid(&scenario.when(delivery("c1", "5200.00")).then_events()).0,
            yuan("4500.00")
        ); // min(5200, 4500)
    }

    /// Mode "fixed": the fixed amount whatever the cost.
    #[test]
    fn delivery_fixed_mode_pays_the_fixed_amount() {
        let scenario = tianjin().and(amend(
            "tianjin",
            "delivery_payment_mode",
            "fixed",
            day(2020, 1, 1),
            day(2019, 12, 1),
            &[],
        ));
        assert_eq!(
            paid(&scenario.when(delivery("c1", "3800.00")).then_events()).0,
            yuan("4500.00")
        );
    }

    /// Prenatal checks against the per-pregnancy quota (1000 [A]) with the remainder kept.
    #[test]
    fn prenatal_quota_tracks_the_remainder() {
        let (events, scenario) = tianjin()
            .when(prenatal("p1", "hu", "tianjin", "600.00", day(2020, 3, 1)))
            .then_continue();
        assert_eq!(paid(&events), (yuan("600.00"), Some(yuan("400.00")))); // 1000 − 600
        let (events, scenario) = scenario
            .when(prenatal("p2", "hu", "tianjin", "600.00", day(2020, 4, 1)))
            .then_continue();
        assert_eq!(paid(&events), (yuan("400.00"), Some(yuan("0")))); // min(600, 400)
        let rejection = scenario
            .when(prenatal("p3", "hu", "tianjin", "50.00", day(2020, 5, 1)))
            .then_rejected();
        assert!(matches!(
            rejection,
            Rejection::PrenatalQuotaExhausted { .. }
        ));
    }

    /// The same claim id or a second delivery of one pregnancy is refused.
    #[test]
    fn duplicates_are_refused() {
        let scenario = tianjin().and(delivery("c1", "3800.00"));
        let again = scenario.when(delivery("c1", "3800.00")).then_rejected();
        assert!(matches!(again, Rejection::ClaimAlreadySettled { .. }));
        let second = scenario.when(delivery("c2", "3800.00")).then_rejected();
        assert!(matches!(second, Rejection::DeliveryAlreadySettled { .. }));
    }
}
