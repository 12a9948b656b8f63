//! The books: every region's postings by account and business date, its income and
//! expenditure lines by month, and its insured counts — folded from the log in position
//! order, small enough to checkpoint whole (its size grows with regions × accounts × dates,
//! never with the number of events or persons).

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::domain::state::Ledger;
use crate::domain::{
    Account, Event, InsuranceType, Month, RegionId, Rulebook, Side, Transaction, Yuan,
};

/// The version of the fold below: bump it when its interpretation changes, and the
/// projection is rebuilt into a new generation.
pub const BOOKS_VERSION: u32 = 6;

/// Why an event could not be folded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    /// The events did not come in dense position order.
    #[error("position {found} came after {previous}; the fold needs every position in order")]
    OutOfOrder {
        /// The last folded position.
        previous: u64,
        /// The position offered.
        found: u64,
    },
    /// After the event at `position`, a region's postings no longer sum to zero.
    #[error("after position {position} the postings of {region} sum to {net}, not zero")]
    Unbalanced {
        /// Where.
        position: u64,
        /// Which region.
        region: RegionId,
        /// The sum of all its postings (debits − credits).
        net: Yuan,
    },
    /// A sum left the decimal range.
    #[error("amounts overflow at position {position}")]
    Overflow {
        /// Where.
        position: u64,
    },
}

/// A sum over the books for a query left the range of its type: the figure is refused,
/// never given with an addend dropped. Amounts are bounded at the API edge, so only
/// damaged books get here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the sum of {what} overflows")]
pub struct SumOverflow {
    /// What was being summed.
    pub what: String,
}

impl SumOverflow {
    /// The overflow of a sum of `what`.
    pub fn of(what: impl Into<String>) -> Self {
        SumOverflow { what: what.into() }
    }
}

/// Where and why the books stopped believing a region's figures: an event whose money
/// did not fold (its sums overflowed, or its postings did not balance), or one that did
/// not decode. The books of other regions go on; this region's figures are refused from
/// then on, naming this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Damage {
    /// The position of the event.
    pub position: u64,
    /// What failed.
    pub reason: String,
}

/// Debits and credits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sides {
    /// Total debits.
    pub debits: Yuan,
    /// Total credits.
    pub credits: Yuan,
}

/// One month's lines of a region, as the national monthly tables show them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthLines {
    /// BMI fund income, including maternity (credits to the pooled fund, its maternity
    /// line and personal accounts by contribution events; refunds net).
    pub bmi_income: Yuan,
    /// Of which the maternity part (after the merger).
    pub bmi_income_maternity: Yuan,
    /// The maternity income item, where the region's rules show it (Tianjin from
    /// 2024-05-22); zero elsewhere. Classified when read, by the rulebook of the books being
    /// read ([`RegionBooks::classified_months`]), so a retroactive change of the rule shows.
    pub maternity_income_item: Yuan,
    /// Income of the separate maternity fund (before the merger).
    pub maternity_fund_income: Yuan,
    /// Of the BMI income, what went to personal accounts.
    pub personal_account_income: Yuan,
    /// Income of the mutual-aid fund (Beijing).
    pub mutual_aid_income: Yuan,
    /// BMI fund expenditure (benefits paid from the pooled fund and its maternity line).
    pub bmi_expenditure: Yuan,
    /// Of which maternity (其中：生育保险支出): what the BMI pooled fund's maternity line
    /// paid. A part of `bmi_expenditure`, so never more than it.
    pub maternity_expenditure: Yuan,
    /// Expenditure of the separate maternity fund (before the merger): its own line, never
    /// part of the BMI fund's figures.
    pub maternity_fund_expenditure: Yuan,
    /// Maternity medical expenses paid.
    pub maternity_medical: Yuan,
    /// Person-times of maternity medical claims.
    pub maternity_medical_person_times: u64,
    /// Maternity allowance granted (net of withdrawals).
    pub allowance: Yuan,
    /// Person-times of allowances granted.
    pub allowance_person_times: u64,
    /// Contributions collected (cash received).
    pub collected: Yuan,
    /// Balance moved from the maternity fund into the pooled fund's maternity line.
    pub maternity_balance_transferred: Yuan,
}

/// Net changes of the insured counts on one business date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsuredChange {
    /// Persons insured in BMI.
    pub bmi: i64,
    /// Persons insured in maternity insurance.
    pub maternity: i64,
}

/// One region's books.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionBooks {
    movements: BTreeMap<(Account, Date), Sides>,
    months: BTreeMap<Month, MonthLines>,
    insured: BTreeMap<Date, InsuredChange>,
    net: Yuan,
    /// Set at the first event that did not fold; nothing is folded into these books after.
    damage: Option<Damage>,
}

/// Every region's books as of a log position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Books {
    position: u64,
    regions: BTreeMap<RegionId, RegionBooks>,
    /// Every region definition and rule amendment so far, in log order: the rulebook as
    /// known at this position.
    rule_events: Vec<Event>,
    /// The first event that did not decode: its region is unknown, so no region's figures
    /// are believed from then on.
    undecodable: Option<Damage>,
}

/// The books as a checkpoint stores them, borrowed: everything but the rule events, which
/// change rarely and are stored once per change beside the checkpoints.
#[derive(Debug, Serialize)]
pub struct BooksCheckpointRef<'a> {
    position: u64,
    regions: &'a BTreeMap<RegionId, RegionBooks>,
    rule_event_count: u64,
    undecodable: &'a Option<Damage>,
}

/// The books as a checkpoint stores them (see [`BooksCheckpointRef`]), read back.
#[derive(Debug, Deserialize)]
pub struct BooksCheckpoint {
    position: u64,
    regions: BTreeMap<RegionId, RegionBooks>,
    rule_event_count: u64,
    undecodable: Option<Damage>,
}

impl BooksCheckpoint {
    /// The position of the books.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// How many rule events the books held: which stored rule events they need.
    pub fn rule_event_count(&self) -> u64 {
        self.rule_event_count
    }
}

fn add(total: &mut Yuan, amount: Yuan, position: u64) -> Result<(), FoldError> {
    *total = total
        .checked_add(amount)
        .map_err(|_| FoldError::Overflow { position })?;
    Ok(())
}

/// Credits minus debits of `accounts` in a transaction.
fn net_credit(
    transaction: &Transaction,
    accounts: &[Account],
    position: u64,
) -> Result<Yuan, FoldError> {
    let mut net = Yuan::ZERO;
    for posting in transaction.postings() {
        if accounts.contains(&posting.account) {
            add(&mut net, posting.signed_amount().negated(), position)?;
        }
    }
    Ok(net)
}

/// Money out of the accounts whose net credit is `net`: its negation, with a zero kept
/// as zero (a negated zero decimal renders as "-0" in reports).
fn outflow(net: Yuan) -> Yuan {
    if net.is_zero() {
        Yuan::ZERO
    } else {
        net.negated()
    }
}

/// Books a benefit's expenditure: what left the BMI accounts; of it, what left the pooled
/// fund's maternity line; and, apart, what left the maternity fund before the merger.
fn benefit_expenditure(
    lines: &mut MonthLines,
    transaction: &Transaction,
    position: u64,
) -> Result<(), FoldError> {
    let bmi = outflow(net_credit(transaction, &BMI_ACCOUNTS, position)?);
    add(&mut lines.bmi_expenditure, bmi, position)?;
    let maternity = outflow(net_credit(
        transaction,
        &[Account::BmiPooledMaternity],
        position,
    )?);
    add(&mut lines.maternity_expenditure, maternity, position)?;
    let fund = outflow(net_credit(
        transaction,
        &[Account::MaternityFund],
        position,
    )?);
    add(&mut lines.maternity_fund_expenditure, fund, position)
}

const BMI_ACCOUNTS: [Account; 3] = [
    Account::BmiPooledFund,
    Account::BmiPooledMaternity,
    Account::PersonalAccounts,
];

impl Books {
    /// The last folded position.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The regions with books.
    pub fn regions(&self) -> impl Iterator<Item = &RegionId> {
        self.regions.keys()
    }

    /// One region's books.
    pub fn region(&self, region: &RegionId) -> Option<&RegionBooks> {
        self.regions.get(region)
    }

    /// The rulebook as known at this position.
    pub fn rulebook(&self) -> Rulebook {
        let mut rules = Rulebook::empty();
        for event in &self.rule_events {
            rules.apply(event);
        }
        rules
    }

    /// Every rule parameter ever set, in name order.
    pub fn rule_parameters(&self) -> std::collections::BTreeSet<&str> {
        self.rule_events
            .iter()
            .filter_map(|event| match event {
                Event::RuleAmended(amended) => Some(amended.parameter.as_str()),
                _ => None,
            })
            .collect()
    }

    /// How many rule events the books hold (changes whenever the rulebook does).
    pub fn rule_event_count(&self) -> usize {
        self.rule_events.len()
    }

    /// The region definitions and rule amendments so far, in log order.
    pub fn rule_events(&self) -> &[Event] {
        &self.rule_events
    }

    /// The books without their rule events, for a checkpoint.
    pub fn checkpoint(&self) -> BooksCheckpointRef<'_> {
        BooksCheckpointRef {
            position: self.position,
            regions: &self.regions,
            rule_event_count: self.rule_events.len() as u64,
            undecodable: &self.undecodable,
        }
    }

    /// The books of a checkpoint with the rule events it refers to; `None` if their count
    /// is not the one the checkpoint names.
    pub fn from_checkpoint(checkpoint: BooksCheckpoint, rule_events: Vec<Event>) -> Option<Books> {
        (rule_events.len() as u64 == checkpoint.rule_event_count).then_some(Books {
            position: checkpoint.position,
            regions: checkpoint.regions,
            rule_events,
            undecodable: checkpoint.undecodable,
        })
    }

    /// A region's postings as the domain's ledger, for decisions that read them.
    pub fn domain_ledger(&self, region: &RegionId) -> Ledger {
        let mut ledger = Ledger::default();
        if let Some(books) = self.regions.get(region) {
            for ((account, date), sides) in &books.movements {
                ledger.add_sides(*account, *date, sides.debits, sides.credits);
            }
        }
        ledger
    }

    /// Folds the event at `position`; checks that its region's postings still sum to zero.
    ///
    /// An event whose money does not fold (a sum overflows, or the region no longer nets
    /// to zero) damages its region's books only: the region records the [`Damage`], takes
    /// no more events, and the other regions go on. Only positions out of order are an
    /// error: the fold needs every position once, in order.
    pub fn apply(&mut self, position: u64, event: &Event) -> Result<(), FoldError> {
        if self.position.checked_add(1) != Some(position) {
            return Err(FoldError::OutOfOrder {
                previous: self.position,
                found: position,
            });
        }
        match event {
            Event::RegionDefined(_) | Event::RuleAmended(_) => self.rule_events.push(event.clone()),
            _ => {}
        }
        let region = event.region();
        // Look up before inserting: an owned key per event would allocate on the hot path.
        if !self.regions.contains_key(region) {
            self.regions.insert(region.clone(), RegionBooks::default());
        }
        if let Some(books) = self.regions.get_mut(region)
            && books.damage.is_none()
            && let Err(error) = books.fold(position, event)
        {
            tracing::error!(%region, position, %error, "the books of a region are damaged; other regions go on");
            books.damage = Some(Damage {
                position,
                reason: error.to_string(),
            });
        }
        self.position = position;
        Ok(())
    }

    /// Steps over the event at `position`, which did not decode: its region is unknown, so
    /// every region's figures are refused from then on, naming it.
    pub fn skip_undecodable(&mut self, position: u64, reason: String) -> Result<(), FoldError> {
        if self.position.checked_add(1) != Some(position) {
            return Err(FoldError::OutOfOrder {
                previous: self.position,
                found: position,
            });
        }
        if self.undecodable.is_none() {
            tracing::error!(position, %reason, "an event does not decode; no region's books are believed after it");
            self.undecodable = Some(Damage { position, reason });
        }
        self.position = position;
        Ok(())
    }

    /// `Ok` when `region`'s figures can be believed; else why not (see [`Books::damage`]).
    pub fn undamaged(&self, region: &RegionId) -> Result<(), RegionDamaged> {
        match self.damage(region) {
            None => Ok(()),
            Some(damage) => Err(RegionDamaged {
                region: region.clone(),
                damage: damage.clone(),
            }),
        }
    }

    /// Why `region`'s figures are not to be believed, if they are not: its own damage, or
    /// an event of unknown region that did not decode.
    pub fn damage(&self, region: &RegionId) -> Option<&Damage> {
        self.undecodable.as_ref().or_else(|| {
            self.regions
                .get(region)
                .and_then(|books| books.damage.as_ref())
        })
    }

    /// Every damaged region with its damage; an undecodable event is listed under the
    /// region `*`.
    pub fn damaged(&self) -> Vec<(String, Damage)> {
        let mut damaged: Vec<(String, Damage)> = self
            .regions
            .iter()
            .filter_map(|(region, books)| Some((region.to_string(), books.damage.clone()?)))
            .collect();
        if let Some(damage) = &self.undecodable {
            damaged.push(("*".to_owned(), damage.clone()));
        }
        damaged
    }

    /// Folds `events`, as if appended after these books, into trials of the regions they
    /// touch, without changing the books: the error their fold would meet, if any. An
    /// error names the position the event would get. A region already damaged takes no
    /// new money.
    pub fn try_fold(&self, events: &[Event]) -> Result<(), TrialError> {
        let mut trials: BTreeMap<&RegionId, Trial<'_>> = BTreeMap::new();
        for (offset, event) in (1u64..).zip(events) {
            let region = event.region();
            self.undamaged(region)?;
            let Some(transaction) = event.transaction() else {
                continue;
            };
            let position = self.position + offset;
            let trial = trials
                .entry(region)
                .or_insert_with(|| Trial::over(self.regions.get(region)));
            fold_money(trial, event, transaction, position)?;
            check_balanced(trial.net, position, region)?;
        }
        Ok(())
    }
}

/// Why a command's events would not fold into the books.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrialError {
    /// The fold itself failed.
    #[error(transparent)]
    Fold(#[from] FoldError),
    /// The region's books are damaged already.
    #[error("{0}: they take no new money")]
    Damaged(#[from] RegionDamaged),
}

/// A region whose books are damaged: its figures are not to be believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the books of {region} are damaged at position {} ({})", damage.position, damage.reason)]
pub struct RegionDamaged {
    /// The region.
    pub region: RegionId,
    /// Its damage.
    pub damage: Damage,
}

fn check_balanced(net: Yuan, position: u64, region: &RegionId) -> Result<(), FoldError> {
    if net.is_zero() {
        Ok(())
    } else {
        Err(FoldError::Unbalanced {
            position,
            region: region.clone(),
            net,
        })
    }
}

impl RegionBooks {
    /// Folds one event; an error leaves these books partly folded (the caller marks them
    /// damaged).
    fn fold(&mut self, position: u64, event: &Event) -> Result<(), FoldError> {
        self.fold_insured(event, event.business_date(), position)?;
        if let Some(transaction) = event.transaction() {
            fold_money(self, event, transaction, position)?;
        }
        check_balanced(self.net, position, event.region())
    }

    fn fold_insured(&mut self, event: &Event, date: Date, position: u64) -> Result<(), FoldError> {
        let change = match event {
            Event::PersonEnrolled(enrolled) => InsuredChange {
                bmi: i64::from(enrolled.insurance.contains(&InsuranceType::BasicMedical)),
                maternity: i64::from(enrolled.insurance.contains(&InsuranceType::Maternity)),
            },
            Event::PersonMigrated(migrated) => {
                let holds = |kind| migrated.held.contains(&kind) || migrated.added.contains(&kind);
                InsuredChange {
                    bmi: i64::from(holds(InsuranceType::BasicMedical)),
                    maternity: i64::from(holds(InsuranceType::Maternity)),
                }
            }
            Event::EnrollmentTerminated(terminated) => InsuredChange {
                bmi: -i64::from(terminated.insurance.contains(&InsuranceType::BasicMedical)),
                maternity: -i64::from(terminated.insurance.contains(&InsuranceType::Maternity)),
            },
            _ => return Ok(()),
        };
        let entry = self.insured.entry(date).or_default();
        let overflow = || FoldError::Overflow { position };
        entry.bmi = entry.bmi.checked_add(change.bmi).ok_or_else(overflow)?;
        entry.maternity = entry
            .maternity
            .checked_add(change.maternity)
            .ok_or_else(overflow)?;
        Ok(())
    }

    /// Debits and credits of `account` with business dates up to and including `as_of`;
    /// an error if either sum overflows.
    pub fn sides_as_of(&self, account: Account, as_of: Date) -> Result<Sides, SumOverflow> {
        let mut total = Sides::default();
        for (_, sides) in self
            .movements
            .range((account, Date::MIN)..=(account, as_of))
        {
            total.debits = total
                .debits
                .checked_add(sides.debits)
                .map_err(|_| SumOverflow::of(format!("debits of {}", account.name())))?;
            total.credits = total
                .credits
                .checked_add(sides.credits)
                .map_err(|_| SumOverflow::of(format!("credits of {}", account.name())))?;
        }
        Ok(total)
    }

    /// The lines of the months `from..=to`, with the maternity income item classified by
    /// `rules`: a month shows it when the rule is in force on the month's last day.
    pub fn classified_months(
        &self,
        region: &RegionId,
        rules: &Rulebook,
        from: Month,
        to: Month,
    ) -> Vec<(Month, MonthLines)> {
        self.months(from, to)
            .map(|(month, lines)| {
                let mut lines = lines.clone();
                let shown = rules
                    .shows_maternity_income_item(region, month.last_day())
                    .unwrap_or(false);
                lines.maternity_income_item = if shown {
                    lines.bmi_income_maternity
                } else {
                    Yuan::ZERO
                };
                (*month, lines)
            })
            .collect()
    }

    /// The lines of the months `from..=to`, as folded (the income item unclassified).
    pub fn months(&self, from: Month, to: Month) -> impl Iterator<Item = (&Month, &MonthLines)> {
        self.months.range(from..=to)
    }

    /// Insured counts on `as_of`: (BMI, maternity); an error if a count overflows.
    pub fn insured_as_of(&self, as_of: Date) -> Result<(i64, i64), SumOverflow> {
        self.insured
            .range(..=as_of)
            .try_fold((0i64, 0i64), |(bmi, maternity), (_, change)| {
                Some((
                    bmi.checked_add(change.bmi)?,
                    maternity.checked_add(change.maternity)?,
                ))
            })
            .ok_or_else(|| SumOverflow::of("insured counts"))
    }

    /// The sum of all postings (debits − credits): zero whenever the books balance.
    pub fn net(&self) -> Yuan {
        self.net
    }
}

/// Where a fold adds money up: a region's books themselves, or a [`Trial`] over them.
trait Sums {
    /// The sides of `account` on `date`.
    fn sides(&mut self, account: Account, date: Date) -> &mut Sides;
    /// The lines of `month`.
    fn lines(&mut self, month: Month) -> &mut MonthLines;
    /// The sum of all postings.
    fn net(&mut self) -> &mut Yuan;
}

impl Sums for RegionBooks {
    fn sides(&mut self, account: Account, date: Date) -> &mut Sides {
        self.movements.entry((account, date)).or_default()
    }

    fn lines(&mut self, month: Month) -> &mut MonthLines {
        self.months.entry(month).or_default()
    }

    fn net(&mut self) -> &mut Yuan {
        &mut self.net
    }
}

/// A region's books as they would be after some events, without changing them: the
/// entries those events touch are copied on first touch and summed here. It lets a
/// command's events be folded before they are appended, by the same code as the fold.
struct Trial<'a> {
    base: Option<&'a RegionBooks>,
    movements: BTreeMap<(Account, Date), Sides>,
    months: BTreeMap<Month, MonthLines>,
    net: Yuan,
}

impl<'a> Trial<'a> {
    fn over(base: Option<&'a RegionBooks>) -> Self {
        Trial {
            base,
            movements: BTreeMap::new(),
            months: BTreeMap::new(),
            net: base.map_or(Yuan::ZERO, |books| books.net),
        }
    }
}

impl Sums for Trial<'_> {
    fn sides(&mut self, account: Account, date: Date) -> &mut Sides {
        let base = self.base;
        self.movements.entry((account, date)).or_insert_with(|| {
            base.and_then(|books| books.movements.get(&(account, date)))
                .copied()
                .unwrap_or_default()
        })
    }

    fn lines(&mut self, month: Month) -> &mut MonthLines {
        let base = self.base;
        self.months.entry(month).or_insert_with(|| {
            base.and_then(|books| books.months.get(&month))
                .cloned()
                .unwrap_or_default()
        })
    }

    fn net(&mut self) -> &mut Yuan {
        &mut self.net
    }
}

/// Folds an event's money: its postings into the account sides and the net, and its
/// income and expenditure into its month's lines.
fn fold_money(
    sums: &mut impl Sums,
    event: &Event,
    transaction: &Transaction,
    position: u64,
) -> Result<(), FoldError> {
    let date = event.business_date();
    for posting in transaction.postings() {
        let sides = sums.sides(posting.account, date);
        match posting.side {
            Side::Debit => add(&mut sides.debits, posting.amount, position)?,
            Side::Credit => add(&mut sides.credits, posting.amount, position)?,
        }
        add(sums.net(), posting.signed_amount(), position)?;
    }
    fold_lines(sums.lines(Month::of(date)), event, transaction, position)
}

/// Folds an event's income and expenditure into its month's lines.
fn fold_lines(
    lines: &mut MonthLines,
    event: &Event,
    transaction: &Transaction,
    position: u64,
) -> Result<(), FoldError> {
    let net = |accounts: &[Account]| net_credit(transaction, accounts, position);
    match event {
        Event::ContributionAssessed(_)
        | Event::ContributionBackPaid(_)
        | Event::ContributionAdjusted(_) => {
            add(&mut lines.bmi_income, net(&BMI_ACCOUNTS)?, position)?;
            let maternity = net(&[Account::BmiPooledMaternity])?;
            add(&mut lines.bmi_income_maternity, maternity, position)?;
            add(
                &mut lines.maternity_fund_income,
                net(&[Account::MaternityFund])?,
                position,
            )?;
            add(
                &mut lines.personal_account_income,
                net(&[Account::PersonalAccounts])?,
                position,
            )?;
            add(
                &mut lines.mutual_aid_income,
                net(&[Account::MutualAidFund])?,
                position,
            )?;
        }
        Event::ContributionCollected(collected) => {
            add(&mut lines.collected, collected.amount, position)?
        }
        Event::MedicalClaimSettled(claim) => {
            benefit_expenditure(lines, transaction, position)?;
            add(&mut lines.maternity_medical, claim.paid, position)?;
            lines.maternity_medical_person_times += 1;
        }
        Event::AllowanceGranted(granted) => {
            benefit_expenditure(lines, transaction, position)?;
            add(&mut lines.allowance, granted.amount, position)?;
            lines.allowance_person_times += 1;
        }
        Event::AllowanceStopped(stopped) => {
            benefit_expenditure(lines, transaction, position)?;
            add(
                &mut lines.allowance,
                outflow(stopped.amount_withdrawn),
                position,
            )?;
        }
        Event::MaternityFundBalanceTransferred(transfer) => {
            add(
                &mut lines.maternity_balance_transferred,
                transfer.amount,
                position,
            )?;
        }
        _ => {}
    }
    Ok(())
}

/// Whether an account carries a debit balance (assets) or a credit balance (funds).
pub fn is_asset(account: Account) -> bool {
    matches!(account, Account::FundBank | Account::ContributionReceivable)
}

/// The account's balance in its normal direction: debits − credits for assets, credits −
/// debits for funds and liabilities; an error if the difference overflows.
pub fn normal_balance(account: Account, sides: Sides) -> Result<Yuan, SumOverflow> {
    let (plus, minus) = if is_asset(account) {
        (sides.debits, sides.credits)
    } else {
        (sides.credits, sides.debits)
    };
    plus.checked_sub(minus)
        .map_err(|_| SumOverflow::of(format!("the balance of {}", account.name())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use rust_decimal::Decimal;

    use super::*;

    /// Regression: `sides_as_of` dropped an addend whose sum overflowed and answered the
    /// smaller total; an overflowing sum of debits, or an overflowing balance, is now an
    /// error naming the account.
    #[test]
    fn sums_over_the_books_refuse_to_overflow() {
        let huge = Yuan::from_decimal(Decimal::MAX);
        let account = Account::BmiPooledFund;
        let mut books = RegionBooks::default();
        for day in [1, 2] {
            books.movements.insert(
                (account, jiff::civil::date(2020, 1, day)),
                Sides {
                    debits: huge,
                    credits: Yuan::ZERO,
                },
            );
        }
        // One day's debits are the largest decimal: they sum; two of them do not.
        let one_day = books
            .sides_as_of(account, jiff::civil::date(2020, 1, 1))
            .unwrap();
        assert_eq!(one_day.debits, huge);
        assert_eq!(
            books.sides_as_of(account, jiff::civil::date(2020, 1, 2)),
            Err(SumOverflow::of("debits of bmi_pooled_fund"))
        );
        // A fund's balance is credits − debits: 0 − (−MAX) = MAX + … overflows too.
        let negative = Sides {
            debits: Yuan::from_decimal(Decimal::MIN),
            credits: huge,
        };
        assert!(normal_balance(account, negative).is_err());
    }

    /// Regression: a region report summed month lines with an overflowing addend dropped;
    /// two months of the largest decimal income now refuse the report, naming the line.
    #[test]
    fn reports_refuse_overflowing_month_lines() {
        let region = RegionId::new("fuzzland");
        let mut region_books = RegionBooks::default();
        for month in [1, 2] {
            region_books.months.insert(
                Month { year: 2020, month },
                MonthLines {
                    bmi_income: Yuan::from_decimal(Decimal::MAX),
                    ..MonthLines::default()
                },
            );
        }
        let books = Books {
            regions: BTreeMap::from([(region.clone(), region_books)]),
            ..Books::default()
        };
        let report = |day| {
            crate::projections::report::region_report(
                &books,
                &Rulebook::empty(),
                &region,
                jiff::civil::date(2020, day, 1),
            )
        };
        assert_eq!(
            report(1).unwrap().lines.bmi_income,
            Yuan::from_decimal(Decimal::MAX)
        );
        assert_eq!(report(2), Err(SumOverflow::of("bmi_income")));
    }

    /// Insured counts that leave `i64` are an error, not a wrapped or clamped count.
    #[test]
    fn insured_counts_refuse_to_overflow() {
        let mut books = RegionBooks::default();
        for day in [1, 2] {
            books.insured.insert(
                jiff::civil::date(2020, 1, day),
                InsuredChange {
                    bmi: i64::MAX,
                    maternity: 0,
                },
            );
        }
        assert_eq!(
            books.insured_as_of(jiff::civil::date(2020, 1, 1)),
            Ok((i64::MAX, 0))
        );
        assert_eq!(
            books.insured_as_of(jiff::civil::date(2020, 1, 2)),
            Err(SumOverflow::of("insured counts"))
        );
    }
}
