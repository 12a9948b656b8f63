//! `State`: what the decisions need to know, folded from events by [`evolve`]. Holds only
//! the streams the edge loaded for a command (see `Command::reads`), or everything in
//! tests. `evolve` is total: it never fails and never reads the rulebook.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;

use super::contribution::ContributionLine;
use super::event::{Event, MaternityFundCleared};
use super::ids::{BirthId, ClaimId, EmployerId, Month, PersonId, PregnancyId, RegionId};
use super::money::Yuan;
use super::party::{EmployerCategory, InsuranceType, PersonKind};
use super::posting::{Account, Side, Transaction};

/// Enrollment status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Contributing, entitled.
    Active,
    /// Contributions interrupted (中断参保缴费).
    Suspended,
    /// Enrollment ended.
    Terminated,
}

/// An allowance already granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedAllowance {
    /// Decision date.
    pub granted_on: Date,
    /// Birth date: the first allowance day.
    pub birth_date: Date,
    /// Days granted.
    pub allowance_days: u32,
    /// Divisor.
    pub divisor: u32,
    /// Wage used.
    pub wage: Yuan,
    /// Amount granted.
    pub amount: Yuan,
    /// The fund account that paid it.
    pub paid_from: Account,
    /// Set when the allowance stopped.
    pub stopped_on: Option<Date>,
    /// True for a miscarriage (流产), false for a delivery.
    pub miscarriage: bool,
    /// The log position of the grant, when folded by [`evolve_recorded`]; `None` when
    /// folded without positions (a grant decided earlier in the same batch).
    pub position: Option<u64>,
}

/// An insured person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonState {
    /// Pooling region.
    pub region: RegionId,
    /// Employer, if any.
    pub employer: Option<EmployerId>,
    /// Kind.
    pub kind: PersonKind,
    /// Insured since.
    pub enrolled_on: Date,
    /// Insurance types held.
    pub insurance: Vec<InsuranceType>,
    /// Status changes, in date order (enrollment is the first, Active).
    pub status_changes: Vec<(Date, Status)>,
    /// Allowances by birth.
    pub allowances: BTreeMap<BirthId, GrantedAllowance>,
    /// Settled claims and their service dates.
    pub claims: BTreeMap<ClaimId, Date>,
    /// Prenatal quota used per pregnancy.
    pub prenatal_used: BTreeMap<PregnancyId, Yuan>,
    /// Pregnancies whose delivery is settled.
    pub delivered: BTreeSet<PregnancyId>,
}

impl PersonState {
    /// Status in force on `date` and since when; `None` before enrollment.
    pub fn status_on(&self, date: Date) -> Option<(Status, Date)> {
        self.status_changes
            .iter()
            .rev()
            .find(|(since, _)| *since <= date)
            .map(|(since, status)| (*status, *since))
    }

    /// The latest status change.
    pub fn current_status(&self) -> (Status, Date) {
        self.status_changes
            .last()
            .map_or((Status::Active, self.enrolled_on), |(d, s)| (*s, *d))
    }

    /// Whether maternity insurance is among the types held.
    pub fn has_maternity(&self) -> bool {
        self.insurance.contains(&InsuranceType::Maternity)
    }
}

/// One employer-month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthAccount {
    /// Current lines per person (after assessments, back-payments and differences).
    pub lines: BTreeMap<PersonId, ContributionLine>,
    /// Owed through the receivable: assessments plus signed differences.
    pub assessed: Yuan,
    /// Collected against it.
    pub collected: Yuan,
    /// Paid at once by back-payments.
    pub back_paid: Yuan,
}

impl MonthAccount {
    /// Arrears: assessed − collected (negative when the employer is owed a refund).
    pub fn arrears(&self) -> Yuan {
        self.assessed
            .checked_sub(self.collected)
            .unwrap_or(Yuan::ZERO)
    }
}

/// An employer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployerState {
    /// Pooling region.
    pub region: RegionId,
    /// Category.
    pub category: EmployerCategory,
    /// Name.
    pub name: String,
    /// Registration date.
    pub registered_on: Date,
    /// Previous-year average monthly wage, by the year it is used for.
    pub wages: BTreeMap<i16, Yuan>,
    /// Declared bases by contribution year and person.
    pub declarations: BTreeMap<i16, BTreeMap<PersonId, Option<Yuan>>>,
    /// Contribution months.
    pub months: BTreeMap<Month, MonthAccount>,
}

impl EmployerState {
    /// The employer wage used for `year`: that year's declaration, else the latest
    /// earlier one.
    pub fn wage_for(&self, year: i16) -> Option<(i16, Yuan)> {
        self.wages
            .range(..=year)
            .next_back()
            .map(|(year, wage)| (*year, *wage))
    }

    /// The declared wage of a person for a year (`None` if declared unknown or absent).
    pub fn declared_wage(&self, year: i16, person: &PersonId) -> Option<Yuan> {
        self.declarations
            .get(&year)
            .and_then(|lines| lines.get(person).copied().flatten())
    }
}

/// The merger steps of a region's maternity fund.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FundState {
    /// The clearance report, once settled.
    pub cleared: Option<MaternityFundCleared>,
    /// Transfer date, once transferred.
    pub transferred_on: Option<Date>,
    /// Closure date, once closed.
    pub closed_on: Option<Date>,
}

/// Debits and credits per account and business date of one region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    movements: BTreeMap<(Account, Date), (Yuan, Yuan)>,
}

impl Ledger {
    /// Adds debits and credits of an account at a business date, as a projection that
    /// already folded the postings hands them over.
    pub fn add_sides(&mut self, account: Account, date: Date, debits: Yuan, credits: Yuan) {
        let entry = self.movements.entry((account, date)).or_default();
        entry.0 = entry.0.checked_add(debits).unwrap_or(entry.0);
        entry.1 = entry.1.checked_add(credits).unwrap_or(entry.1);
    }

    /// Adds a transaction's postings at a business date.
    pub fn record(&mut self, date: Date, transaction: &Transaction) {
        for posting in transaction.postings() {
            let entry = self.movements.entry((posting.account, date)).or_default();
            // Decimal overflow needs amounts near 10^28 yuan; replay stays total by
            // keeping the previous figure rather than panicking.
            match posting.side {
                Side::Debit => entry.0 = entry.0.checked_add(posting.amount).unwrap_or(entry.0),
                Side::Credit => entry.1 = entry.1.checked_add(posting.amount).unwrap_or(entry.1),
            }
        }
    }

    /// (debits, credits) of an account up to and including `date`.
    pub fn sides_as_of(&self, account: Account, date: Date) -> (Yuan, Yuan) {
        self.movements
            .range((account, Date::MIN)..=(account, date))
            .fold(
                (Yuan::ZERO, Yuan::ZERO),
                |(debits, credits), (_, (debit, credit))| {
                    (
                        debits.checked_add(*debit).unwrap_or(debits),
                        credits.checked_add(*credit).unwrap_or(credits),
                    )
                },
            )
    }

    /// Balance (debits − credits) up to and including `date`.
    pub fn balance_as_of(&self, account: Account, date: Date) -> Yuan {
        let (debits, credits) = self.sides_as_of(account, date);
        debits.checked_sub(credits).unwrap_or(Yuan::ZERO)
    }

    /// Balance over all dates.
    pub fn balance(&self, account: Account) -> Yuan {
        self.balance_as_of(account, Date::MAX)
    }
}

/// What the decisions know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Persons by id.
    pub persons: BTreeMap<PersonId, PersonState>,
    /// Employers by id.
    pub employers: BTreeMap<EmployerId, EmployerState>,
    /// Maternity-fund merger steps by region.
    pub funds: BTreeMap<RegionId, FundState>,
    /// Postings by region, folded from every event that moves money.
    pub ledgers: BTreeMap<RegionId, Ledger>,
}

impl State {
    /// An empty state.
    pub fn new() -> State {
        State::default()
    }
}

/// Folds one event that the log recorded at `position`: as [`evolve`], and keeps the
/// position where a rejection must point an operator to a record (an allowance's grant,
/// named when a second allowance for the same birth is refused). Total, like [`evolve`].
pub fn evolve_recorded(state: &mut State, event: &Event, position: u64) {
    evolve(state, event);
    if let Event::AllowanceGranted(granted) = event {
        let allowance = state
            .persons
            .get_mut(&granted.person)
            .and_then(|person| person.allowances.get_mut(&granted.birth.id));
        if let Some(allowance) = allowance {
            allowance.position = Some(position);
        }
    }
}

/// Folds one event into the state. Total: replay never fails, never reads the rulebook.
/// An event about an entity the state does not hold (its stream was not loaded) only
/// moves the ledger.
pub fn evolve(state: &mut State, event: &Event) {
    match event {
        Event::RegionDefined(_) | Event::RuleAmended(_) => {}
        Event::EmployerRegistered(_)
        | Event::BasesDeclared(_)
        | Event::ContributionAssessed(_)
        | Event::ContributionCollected(_)
        | Event::ContributionBackPaid(_)
        | Event::ContributionAdjusted(_) => evolve_employer(state, event),
        Event::PersonEnrolled(_)
        | Event::PersonMigrated(_)
        | Event::EnrollmentSuspended(_)
        | Event::EnrollmentResumed(_)
        | Event::EnrollmentTerminated(_)
        | Event::MedicalClaimSettled(_)
        | Event::AllowanceGranted(_)
        | Event::AllowanceStopped(_) => evolve_person(state, event),
        Event::MaternityFundCleared(_)
        | Event::MaternityFundBalanceTransferred(_)
        | Event::MaternityFundClosed(_) => evolve_fund(state, event),
    }
    if let Some(transaction) = event.transaction() {
        state
            .ledgers
            .entry(transaction.region().clone())
            .or_default()
            .record(event.business_date(), transaction);
    }
}

fn evolve_employer(state: &mut State, event: &Event) {
    match event {
        Event::EmployerRegistered(registered) => {
            let mut wages = BTreeMap::new();
            wages.insert(registered.wage_year, registered.average_monthly_wage);
            state.employers.insert(
                registered.employer.clone(),
                EmployerState {
                    region: registered.region.clone(),
                    category: registered.category,
                    name: registered.name.clone(),
                    registered_on: registered.registered_on,
                    wages,
                    declarations: BTreeMap::new(),
                    months: BTreeMap::new(),
                },
            );
        }
        Event::BasesDeclared(declared) => {
            if let Some(employer) = state.employers.get_mut(&declared.employer) {
                let year = employer.declarations.entry(declared.year).or_default();
                for line in &declared.lines {
                    year.insert(line.person.clone(), line.wage);
                }
                if let Some(wage) = declared.employer_average_monthly_wage {
                    employer.wages.insert(declared.year, wage);
                }
            }
        }
        Event::ContributionAssessed(chunk) => {
            if let Some(month) = month_account(state, &chunk.employer, chunk.month) {
                month.assessed = add_or_keep(month.assessed, chunk.totals.total);
                insert_lines(month, &chunk.lines);
            }
        }
        Event::ContributionCollected(collected) => {
            if let Some(month) = month_account(state, &collected.employer, collected.month) {
                month.collected = add_or_keep(month.collected, collected.amount);
            }
        }
        Event::ContributionBackPaid(back_paid) => {
            let chunk = &back_paid.chunk;
            if let Some(month) = month_account(state, &chunk.employer, chunk.month) {
                month.back_paid = add_or_keep(month.back_paid, chunk.totals.total);
                insert_lines(month, &chunk.lines);
            }
        }
        Event::ContributionAdjusted(adjusted) => {
            let chunk = &adjusted.chunk;
            if let Some(month) = month_account(state, &chunk.employer, chunk.month) {
                month.assessed = add_or_keep(month.assessed, chunk.totals.total);
                insert_lines(month, &adjusted.new_lines);
            }
        }
        _ => {}
    }
}

fn evolve_person(state: &mut State, event: &Event) {
    match event {
        Event::PersonEnrolled(enrolled) => {
            let person = new_person(
                &enrolled.region,
                enrolled.employer.clone(),
                enrolled.kind,
                enrolled.enrolled_on,
                enrolled.insurance.clone(),
            );
            state.persons.insert(enrolled.person.clone(), person);
        }
        Event::PersonMigrated(migrated) => {
            let mut insurance = migrated.held.clone();
            insurance.extend(migrated.added.iter().copied());
            insurance.sort();
            insurance.dedup();
            let person = new_person(
                &migrated.region,
                Some(migrated.employer.clone()),
                PersonKind::Employee,
                migrated.insured_since,
                insurance,
            );
            state.persons.insert(migrated.person.clone(), person);
        }
        Event::EnrollmentSuspended(change) => push_status(state, change, Status::Suspended),
        Event::EnrollmentResumed(change) => push_status(state, change, Status::Active),
        Event::EnrollmentTerminated(change) => push_status(state, change, Status::Terminated),
        Event::MedicalClaimSettled(settled) => evolve_claim(state, settled),
        Event::AllowanceGranted(granted) => evolve_allowance(state, granted),
        Event::AllowanceStopped(stopped) => {
            let allowance = state
                .persons
                .get_mut(&stopped.person)
                .and_then(|person| person.allowances.get_mut(&stopped.birth_id));
            if let Some(allowance) = allowance {
                allowance.stopped_on = Some(stopped.stopped_on);
            }
        }
        _ => {}
    }
}

fn evolve_fund(state: &mut State, event: &Event) {
    let fund = state.funds.entry(event.region().clone()).or_default();
    match event {
        Event::MaternityFundCleared(cleared) => fund.cleared = Some(cleared.clone()),
        Event::MaternityFundBalanceTransferred(transferred) => {
            fund.transferred_on = Some(transferred.transferred_on);
        }
        Event::MaternityFundClosed(closed) => fund.closed_on = Some(closed.closed_on),
        _ => {}
    }
}

fn evolve_allowance(state: &mut State, granted: &super::event::AllowanceGranted) {
    let Some(person) = state.persons.get_mut(&granted.person) else {
        return;
    };
    let paid_from = granted
        .transaction
        .postings()
        .iter()
        .find(|posting| posting.side == Side::Debit)
        .map_or(Account::BmiPooledMaternity, |posting| posting.account);
    person.allowances.insert(
        granted.birth.id.clone(),
        GrantedAllowance {
            granted_on: granted.granted_on,
            birth_date: granted.birth.date,
            allowance_days: granted.days.allowance_days,
            divisor: granted.days.divisor,
            wage: granted.wage,
            amount: granted.amount,
            paid_from,
            stopped_on: None,
            miscarriage: granted.birth.miscarriage_months.is_some(),
            position: None,
        },
    );
}

/// Decimal overflow needs amounts near 10^28 yuan; replay stays total by keeping the
/// previous figure rather than panicking.
fn add_or_keep(total: Yuan, amount: Yuan) -> Yuan {
    total.checked_add(amount).unwrap_or(total)
}

fn new_person(
    region: &RegionId,
    employer: Option<EmployerId>,
    kind: PersonKind,
    enrolled_on: Date,
    insurance: Vec<InsuranceType>,
) -> PersonState {
    PersonState {
        region: region.clone(),
        employer,
        kind,
        enrolled_on,
        insurance,
        status_changes: vec![(enrolled_on, Status::Active)],
        allowances: BTreeMap::new(),
        claims: BTreeMap::new(),
        prenatal_used: BTreeMap::new(),
        delivered: BTreeSet::new(),
    }
}

fn push_status(state: &mut State, change: &super::event::EnrollmentStatusChanged, status: Status) {
    if let Some(person) = state.persons.get_mut(&change.person) {
        person.status_changes.push((change.on, status));
        person.status_changes.sort_by_key(|(date, _)| *date);
    }
}

fn month_account<'a>(
    state: &'a mut State,
    employer: &EmployerId,
    month: Month,
) -> Option<&'a mut MonthAccount> {
    state
        .employers
        .get_mut(employer)
        .map(|employer| employer.months.entry(month).or_default())
}

fn insert_lines(month: &mut MonthAccount, lines: &[ContributionLine]) {
    for line in lines {
        month.lines.insert(line.person.clone(), line.clone());
    }
}

fn evolve_claim(state: &mut State, settled: &super::event::MedicalClaimSettled) {
    let Some(person) = state.persons.get_mut(&settled.person) else {
        return;
    };
    person
        .claims
        .insert(settled.claim.clone(), settled.service_date);
    match &settled.kind {
        super::benefit::ClaimKind::Delivery { pregnancy, .. } => {
            person.delivered.insert(pregnancy.clone());
        }
        super::benefit::ClaimKind::Prenatal { pregnancy } => {
            let used = person.prenatal_used.entry(pregnancy.clone()).or_default();
            *used = used.checked_add(settled.paid).unwrap_or(*used);
        }
    }
}
