//! Clearance (清算核实) of the maternity fund as of the cutoff in force (Gansu
//! 2019-11-30): income, expenditure, receivables and pending payables from the region's
//! postings up to the cutoff, and the verified balance = income − expenditure.

use jiff::civil::Date;

use crate::domain::event::{Event, MaternityFundCleared, fund_stream, ledger_stream};
use crate::domain::ids::RegionId;
use crate::domain::posting::Account;
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::{Ledger, State};

/// Settle the clearance report of a region's maternity fund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleClearance {
    /// The region.
    pub region: RegionId,
    /// The cutoff, which must equal the `clearance_cutoff` rule in force on the
    /// settlement date (the rule is decided before its cutoff date may even arrive).
    pub cutoff: Date,
    /// Date of the report.
    pub settled_on: Date,
    /// Who verified it.
    pub verified_by: String,
}

impl SettleClearance {
    /// Streams read: the fund's merger steps and the region's postings.
    pub fn reads(&self) -> Vec<String> {
        vec![fund_stream(&self.region), ledger_stream(&self.region)]
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        rules.require_region(&self.region)?;
        let (rule_cutoff, rule) = rules.date(&self.region, "clearance_cutoff", self.settled_on)?;
        if rule_cutoff != self.cutoff {
            return Err(Rejection::ClearanceCutoffMismatch {
                region: self.region.clone(),
                requested: self.cutoff,
                rule: rule_cutoff,
            });
        }
        let fund = state.funds.get(&self.region);
        if let Some(cleared) = fund.and_then(|fund| fund.cleared.as_ref()) {
            return Err(Rejection::ClearanceAlreadySettled {
                region: self.region.clone(),
                cutoff: cleared.cutoff,
            });
        }
        if let Some(closed_on) = fund.and_then(|fund| fund.closed_on) {
            return Err(Rejection::MaternityFundClosed {
                region: self.region.clone(),
                closed_on,
            });
        }
        let empty = Ledger::default();
        let ledger = state.ledgers.get(&self.region).unwrap_or(&empty);
        let (expenditure, income) = ledger.sides_as_of(Account::MaternityFund, self.cutoff);
        let receivables = ledger.balance_as_of(Account::ContributionReceivable, self.cutoff);
        let pending_payables = ledger
            .balance_as_of(Account::BenefitsPayable, self.cutoff)
            .negated();
        Ok(vec![Event::MaternityFundCleared(MaternityFundCleared {
            region: self.region.clone(),
            cutoff: self.cutoff,
            rule,
            settled_on: self.settled_on,
            verified_by: self.verified_by.clone(),
            income,
            expenditure,
            receivables,
            pending_payables,
            balance: income.checked_sub(expenditure)?,
        })])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::command::{CloseMaternityFund, TransferMaternityBalance};
    use crate::domain::testing::*;

    fn clearance(cutoff: Date) -> SettleClearance {
        SettleClearance {
            region: region("gansu-lanzhou"),
            cutoff,
            settled_on: day(2019, 12, 5),
            verified_by: "兰州市医疗保障局".to_string(),
        }
    }

    /// Gansu clearance as of 2019-11-30, then the transfer into the pooled fund's
    /// maternity line, then the closure.
    #[test]
    fn gansu_clearance_transfer_and_closure() {
        let (events, scenario) = gansu_lanzhou_before_clearance()
            .when(clearance(day(2019, 11, 30)))
            .then_continue();
        let Event::MaternityFundCleared(report) = &events[0] else {
            panic!("a clearance report")
        };
        assert_eq!(report.income, yuan("70.00")); // 2019-10 35.00 + 2019-11 35.00 (5000 × 0.7%)
        assert_eq!(report.expenditure, yuan("20.00")); // prenatal claim of 2019-11-05
        assert_eq!(report.balance, yuan("50.00")); // 70.00 − 20.00
        assert_eq!(report.receivables, yuan("485.00")); // 485 + 485 assessed − 485 collected
        assert_eq!(report.pending_payables, yuan("20.00")); // the claim, not yet paid out
        assert_eq!(report.rule.found_in, region("gansu")); // the province sets the cutoff

        let (events, scenario) = scenario
            .when(TransferMaternityBalance {
                region: region("gansu-lanzhou"),
                transferred_on: day(2019, 12, 10),
            })
            .then_continue();
        let Event::MaternityFundBalanceTransferred(transfer) = &events[0] else {
            panic!("a transfer")
        };
        assert_eq!(transfer.amount, yuan("50.00"));
        assert_eq!(credited(&events[0], Account::MaternityFund), yuan("-50.00"));
        assert_eq!(
            credited(&events[0], Account::BmiPooledMaternity),
            yuan("50.00")
        );

        let (events, scenario) = scenario
            .when(CloseMaternityFund {
                region: region("gansu-lanzhou"),
                closed_on: day(2019, 12, 20),
            })
            .then_continue();
        assert!(matches!(events[0], Event::MaternityFundClosed(_)));
        let ledger = &scenario.state.ledgers[&region("gansu-lanzhou")];
        assert_eq!(ledger.balance(Account::MaternityFund), yuan("0"));
        // Pooled maternity line: 2019-12 35.00 + transfer 50.00 = 85.00 (credit balance)
        assert_eq!(ledger.balance(Account::BmiPooledMaternity), yuan("-85.00"));
    }

    /// The cutoff must be the rule's (2019-11-30 for Gansu).
    #[test]
    fn clearance_at_another_cutoff_is_refused() {
        let rejection = gansu_lanzhou_before_clearance()
            .when(clearance(day(2019, 10, 31)))
            .then_rejected();
        assert!(matches!(
            rejection,
            Rejection::ClearanceCutoffMismatch { .. }
        ));
    }

    /// Transfer before clearance and closure before transfer are refused.
    #[test]
    fn merger_steps_keep_their_order() {
        let scenario = gansu_lanzhou_before_clearance();
        let transfer = scenario
            .when(TransferMaternityBalance {
                region: region("gansu-lanzhou"),
                transferred_on: day(2019, 12, 10),
            })
            .then_rejected();
        assert!(matches!(
            transfer,
            Rejection::MergerStepOutOfOrder {
                step: "transfer",
                ..
            }
        ));
        let closure = scenario
            .when(CloseMaternityFund {
                region: region("gansu-lanzhou"),
                closed_on: day(2019, 12, 20),
            })
            .then_rejected();
        assert!(matches!(
            closure,
            Rejection::MergerStepOutOfOrder {
                step: "closure",
                ..
            }
        ));
    }

    /// After closure, an original assessment of a pre-merger month would post to the
    /// closed maternity fund: refused, naming the closure.
    #[test]
    fn posting_to_a_closed_maternity_fund_is_refused() {
        let rejection = gansu_lanzhou_closed()
            .when(assess(
                "lz-firm",
                "gansu-lanzhou",
                month(2019, 11),
                &["zhang"],
                day(2019, 12, 21),
            ))
            .then_rejected();
        assert_eq!(
            rejection,
            Rejection::MaternityFundClosed {
                region: region("gansu-lanzhou"),
                closed_on: day(2019, 12, 20)
            }
        );
    }

    /// After closure, a claim for a pre-merger service date is paid by the fund open on
    /// the settlement date: the pooled fund's maternity line.
    #[test]
    fn claims_after_closure_are_paid_by_the_pooled_fund() {
        let events = gansu_lanzhou_closed()
            .when(crate::domain::command::SettleMedicalClaim {
                claim: crate::domain::ids::ClaimId::new("lz-claim-2"),
                person: person("ma"),
                region: region("gansu-lanzhou"),
                institution: "兰州大学第一医院".to_string(),
                kind: crate::domain::benefit::ClaimKind::Prenatal {
                    pregnancy: crate::domain::ids::PregnancyId::new("ma-1"),
                },
                service_date: day(2019, 11, 28),
                settled_on: day(2019, 12, 22),
                actual: yuan("30.00"),
            })
            .then_events();
        assert_eq!(
            credited(&events[0], Account::BmiPooledMaternity),
            yuan("-30.00")
        );
        assert_eq!(credited(&events[0], Account::MaternityFund), yuan("0"));
    }

    /// A back-payment booked between transfer and closure credits the maternity fund
    /// again: closure is refused until a second transfer sweeps it; a third is a repeat.
    #[test]
    fn late_back_payment_is_swept_before_closure() {
        let scenario = gansu_lanzhou_before_clearance()
            .and(clearance(day(2019, 11, 30)))
            .and(TransferMaternityBalance {
                region: region("gansu-lanzhou"),
                transferred_on: day(2019, 12, 10),
            })
            .and(back_pay(
                "lz-firm",
                "gansu-lanzhou",
                month(2019, 8),
                &["zhang"],
                day(2019, 12, 15),
            ));
        let close = CloseMaternityFund {
            region: region("gansu-lanzhou"),
            closed_on: day(2019, 12, 20),
        };
        let rejection = scenario.when(close.clone()).then_rejected();
        // zhang 2019-08: 4000 × 0.7% = 28.00 to the still-open maternity fund
        assert_eq!(
            rejection,
            Rejection::MaternityFundNotEmpty {
                region: region("gansu-lanzhou"),
                balance: yuan("28.00")
            }
        );
        let sweep = TransferMaternityBalance {
            region: region("gansu-lanzhou"),
            transferred_on: day(2019, 12, 18),
        };
        let (events, scenario) = scenario.when(sweep.clone()).then_continue();
        assert_eq!(
            credited(&events[0], Account::BmiPooledMaternity),
            yuan("28.00")
        );
        let repeat = scenario.when(sweep).then_rejected();
        assert!(matches!(
            repeat,
            Rejection::MergerStepRepeated {
                step: "transfer",
                ..
            }
        ));
        assert!(matches!(
            scenario.when(close).then_events()[0],
            Event::MaternityFundClosed(_)
        ));
    }
}
