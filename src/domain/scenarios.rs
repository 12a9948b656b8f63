//! The canonical scenarios: one small, deterministic history per region, built from the
//! commands only, that the golden snapshots replay and the `demo` command shows.
//!
//! Each scenario walks the region's facts (SPEC §2): registration, enrollment, the base
//! declaration, contributions on both sides of the merge date, a collection, a
//! back-payment, the clearance, transfer and closure of the maternity fund, a maternity
//! medical claim and an allowance, and the region's own twist (Gansu's migration and
//! back-payment at the arrears month's rate, Kizilsu's interruption, Tianjin's income item
//! from 2024-05-22, Beijing's floor, cap and mutual-aid fund). The figures every step
//! produces are worked out in the comments, so that a snapshot can be read against them.
//!
//! Pure: no I/O, no clock; the same commands with the same ids on every call. Ids carry a
//! region prefix, so all five scenarios can run in one ledger.

use jiff::civil::Date;
use rust_decimal::Decimal;

use super::benefit::{Birth, ClaimKind, Delivery, HospitalLevel};
use super::command::{
    AssessContributions, BackPayContributions, CloseMaternityFund, CollectContribution, Command,
    DeclareBases, Enroll, MigrateEnrollments, MigrationRecord, PayAllowance, RegisterEmployer,
    SettleClearance, SettleMedicalClaim, SuspendEnrollment, TransferMaternityBalance,
};
use super::event::DeclaredWage;
use super::ids::{BirthId, ClaimId, EmployerId, Month, PersonId, PregnancyId, RegionId};
use super::money::Yuan;
use super::party::{EmployerCategory, PersonKind};

/// One region's canonical history and the business dates worth reporting on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The region whose books the scenario moves.
    pub region: RegionId,
    /// What the scenario shows, in a line.
    pub title: &'static str,
    /// The commands, in the order they are executed (recorded).
    pub steps: Vec<Step>,
    /// The key business dates: merge eve, clearance cutoff, year ends.
    pub report_dates: Vec<Date>,
}

/// One command with its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Deterministic: `<region>-<NNN>-<what>`, e.g. `beijing-007-assess-2020-01`.
    pub command_id: String,
    /// The command.
    pub command: Command,
}

/// The five canonical scenarios, one per region, in a fixed order.
pub fn canonical() -> Vec<Scenario> {
    vec![
        chongqing(),
        gansu_lanzhou(),
        kizilsu(),
        tianjin(),
        beijing(),
    ]
}

/// Builds a scenario's steps with numbered command ids.
struct Steps {
    prefix: &'static str,
    region: RegionId,
    steps: Vec<Step>,
}

impl Steps {
    fn new(prefix: &'static str, region: &str) -> Steps {
        Steps {
            prefix,
            region: RegionId::new(region),
            steps: Vec::new(),
        }
    }

    fn push(&mut self, what: &str, command: impl Into<Command>) {
        let number = self.steps.len() + 1;
        self.steps.push(Step {
            command_id: format!("{}-{number:03}-{what}", self.prefix),
            command: command.into(),
        });
    }

    fn register(&mut self, employer: &str, category: EmployerCategory, wage: Yuan, on: Date) {
        let command = registration(EmployerId::new(employer), &self.region, category, wage, on);
        self.push(&format!("register-{employer}"), command);
    }

    fn enroll(&mut self, person: &str, employer: Option<&str>, kind: PersonKind, on: Date) {
        let employer = employer.map(EmployerId::new);
        let command = enrollment(PersonId::new(person), &self.region, employer, kind, on);
        self.push(&format!("enroll-{person}"), command);
    }

    fn declare(
        &mut self,
        employer: &str,
        year: i16,
        wages: &[(&str, Option<Yuan>)],
        employer_wage: Option<Yuan>,
        on: Date,
    ) {
        let command = DeclareBases {
            employer: EmployerId::new(employer),
            region: self.region.clone(),
            year,
            lines: wages
                .iter()
                .map(|(person, wage)| DeclaredWage {
                    person: PersonId::new(*person),
                    wage: *wage,
                })
                .collect(),
            employer_average_monthly_wage: employer_wage,
            declared_on: on,
        };
        self.push(&format!("declare-{year}"), command);
    }

    fn assess(&mut self, employer: &str, at: Month, persons: &[&str], on: Date) {
        let (employer, region, persons) = self.roster(employer, persons);
        let command = AssessContributions {
            employer,
            region,
            month: at,
            persons,
            booked_on: on,
        };
        self.push(&format!("assess-{at}"), command);
    }

    fn back_pay(&mut self, employer: &str, at: Month, persons: &[&str], on: Date) {
        let (employer, region, persons) = self.roster(employer, persons);
        let command = BackPayContributions {
            employer,
            region,
            month: at,
            persons,
            booked_on: on,
        };
        self.push(&format!("back-pay-{at}"), command);
    }

    /// The employer, region and persons of an assessment or a back-payment.
    fn roster(&self, employer: &str, persons: &[&str]) -> (EmployerId, RegionId, Vec<PersonId>) {
        let persons = persons.iter().copied().map(PersonId::new).collect();
        (EmployerId::new(employer), self.region.clone(), persons)
    }

    fn collect(&mut self, employer: &str, at: Month, amount: Yuan, on: Date) {
        let command = collection(EmployerId::new(employer), at, amount, on);
        self.push(&format!("collect-{at}"), command);
    }

    fn claim(&mut self, person: &str, kind: ClaimKind, on: Date, actual: Yuan) {
        let what = match kind {
            ClaimKind::Delivery { .. } => "delivery",
            ClaimKind::Prenatal { .. } => "prenatal",
        };
        let claim = ClaimId::new(format!("{person}-{what}-{on}"));
        let command = medical_claim(claim, PersonId::new(person), &self.region, kind, on, actual);
        self.push(&format!("claim-{what}-{person}"), command);
    }

    /// A birth: its delivery claim on the birth date at a hospital of `level`, then the
    /// allowance granted on `granted_on`.
    fn give_birth(
        &mut self,
        person: &str,
        employer: &str,
        birth: Birth,
        level: HospitalLevel,
        actual: Yuan,
        granted_on: Date,
    ) {
        let kind = delivery(person, birth.delivery, level);
        self.claim(person, kind, birth.date, actual);
        let command = allowance(
            PersonId::new(person),
            EmployerId::new(employer),
            &self.region,
            birth,
            granted_on,
        );
        self.push(&format!("allowance-{person}"), command);
    }

    /// The clearance of the maternity fund up to `cutoff`.
    fn clear(&mut self, cutoff: Date, settled_on: Date, verified_by: &str) {
        let command = SettleClearance {
            region: self.region.clone(),
            cutoff,
            settled_on,
            verified_by: verified_by.to_owned(),
        };
        self.push("clearance", command);
    }

    /// The transfer of the maternity fund's balance, then the fund's closure.
    fn transfer_and_close(&mut self, transferred_on: Date, closed_on: Date) {
        let transfer = TransferMaternityBalance {
            region: self.region.clone(),
            transferred_on,
        };
        self.push("transfer", transfer);
        let close = CloseMaternityFund {
            region: self.region.clone(),
            closed_on,
        };
        self.push("close", close);
    }

    fn finish(self, title: &'static str, report_dates: Vec<Date>) -> Scenario {
        Scenario {
            region: self.region,
            title,
            steps: self.steps,
            report_dates,
        }
    }
}

/// Yuan from fen: `fen(48500)` is 485.00.
fn fen(amount: i64) -> Yuan {
    Yuan::from_decimal(Decimal::new(amount, 2))
}

/// Whole yuan.
fn yuan(amount: i64) -> Yuan {
    fen(amount * 100)
}

fn day(year: i16, month: i8, day: i8) -> Date {
    jiff::civil::date(year, month, day)
}

fn month(year: i16, month: i8) -> Month {
    Month { year, month }
}

fn delivery(person: &str, delivery: Delivery, level: HospitalLevel) -> ClaimKind {
    ClaimKind::Delivery {
        pregnancy: PregnancyId::new(format!("{person}-1")),
        delivery,
        level,
    }
}

fn prenatal(person: &str) -> ClaimKind {
    ClaimKind::Prenatal {
        pregnancy: PregnancyId::new(format!("{person}-1")),
    }
}

fn birth(person: &str, on: Date, delivery: Delivery, difficult: bool, babies: u8) -> Birth {
    Birth {
        id: BirthId::new(format!("{person}-birth-1")),
        date: on,
        delivery,
        difficult,
        babies,
        miscarriage_months: None,
    }
}

/// An employer's registration, named after its id.
fn registration(
    employer: EmployerId,
    region: &RegionId,
    category: EmployerCategory,
    wage: Yuan,
    on: Date,
) -> RegisterEmployer {
    RegisterEmployer {
        name: format!("{employer} 单位"),
        employer,
        region: region.clone(),
        category,
        registered_on: on,
        average_monthly_wage: wage,
    }
}

fn enrollment(
    person: PersonId,
    region: &RegionId,
    employer: Option<EmployerId>,
    kind: PersonKind,
    on: Date,
) -> Enroll {
    Enroll {
        person,
        region: region.clone(),
        employer,
        kind,
        enrolled_on: on,
    }
}

/// A month's contributions received, with the tax bureau's reference.
fn collection(employer: EmployerId, month: Month, amount: Yuan, on: Date) -> CollectContribution {
    CollectContribution {
        employer,
        month,
        amount,
        received_on: on,
        reference: format!("税务征收 {month}"),
    }
}

/// A claim settled by a designated institution on the day of the service.
fn medical_claim(
    claim: ClaimId,
    person: PersonId,
    region: &RegionId,
    kind: ClaimKind,
    on: Date,
    actual: Yuan,
) -> SettleMedicalClaim {
    SettleMedicalClaim {
        claim,
        person,
        region: region.clone(),
        institution: "定点医疗机构".to_owned(),
        kind,
        service_date: on,
        settled_on: on,
        actual,
    }
}

fn allowance(
    person: PersonId,
    employer: EmployerId,
    region: &RegionId,
    birth: Birth,
    on: Date,
) -> PayAllowance {
    PayAllowance {
        person,
        employer,
        region: region.clone(),
        birth,
        granted_on: on,
        override_reason: None,
    }
}

/// An interruption of contributions (中断参保缴费).
fn interruption(person: PersonId, region: &RegionId, on: Date) -> SuspendEnrollment {
    SuspendEnrollment {
        person,
        region: region.clone(),
        on,
        reason: "中断参保缴费".to_owned(),
    }
}

/// Chongqing: merged 2020-01-01 (default), employer 8% + 0.5% (assumed), individual 2%
/// (national), +30 leave days before 2021-11-25. The rulebook has no clearance cutoff for
/// Chongqing, so its maternity fund is not cleared here and keeps its 2019 balance.
///
/// Figures:
/// - 2019-12 (to the maternity fund): wang base 6000: maternity 6000 × 0.5% = 30.00,
///   employer 6000 × 8.5% = 510.00, BMI 480.00, individual 6000 × 2% = 120.00, total
///   630.00; chen base 8000: 40.00, 680.00, 640.00, 160.00, total 840.00. Month: maternity
///   70.00, pooled 1120.00, personal 280.00, total 1470.00.
/// - 2020-01 (merged): wang base 6500: 32.50, 552.50, 520.00, 130.00, total 682.50; chen
///   as before 840.00. Month: maternity 72.50, pooled 1160.00, personal 290.00, total
///   1522.50.
/// - Prenatal 2019-12-20: 60.00 of the 1000 quota, from the maternity fund (70.00 − 60.00
///   = 10.00 left in it). Delivery 2020-03-10, vaginal, secondary hospital:
///   min(3200, 2500) = 2500.00. Allowance, birth 2020-03-10: 98 + 30 = 128 days,
///   7200 × 128 / 30 = 30720.00; both from the pooled fund's maternity line.
fn chongqing() -> Scenario {
    let mut steps = Steps::new("chongqing", "chongqing");
    let firm = "cq-firm";
    steps.register(
        firm,
        EmployerCategory::Enterprise,
        yuan(7000),
        day(2019, 1, 2),
    );
    steps.enroll("cq-wang", Some(firm), PersonKind::Employee, day(2019, 1, 2));
    steps.enroll("cq-chen", Some(firm), PersonKind::Employee, day(2019, 1, 2));
    // A retiree joins BMI only: insured in BMI, not in maternity.
    steps.enroll("cq-zhou", Some(firm), PersonKind::Retiree, day(2019, 1, 2));
    steps.declare(
        firm,
        2019,
        &[("cq-wang", Some(yuan(6000))), ("cq-chen", Some(yuan(8000)))],
        Some(yuan(7000)),
        day(2019, 1, 5),
    );
    steps.assess(
        firm,
        month(2019, 12),
        &["cq-wang", "cq-chen"],
        day(2019, 12, 10),
    );
    steps.claim("cq-wang", prenatal("cq-wang"), day(2019, 12, 20), yuan(60));
    steps.declare(
        firm,
        2020,
        &[("cq-wang", Some(yuan(6500))), ("cq-chen", Some(yuan(8000)))],
        Some(yuan(7200)),
        day(2020, 1, 5),
    );
    steps.assess(
        firm,
        month(2020, 1),
        &["cq-wang", "cq-chen"],
        day(2020, 1, 10),
    );
    steps.collect(firm, month(2019, 12), yuan(1470), day(2020, 1, 15));
    steps.collect(firm, month(2020, 1), fen(152_250), day(2020, 2, 15));
    steps.give_birth(
        "cq-wang",
        firm,
        birth("cq-wang", day(2020, 3, 10), Delivery::Vaginal, false, 1),
        HospitalLevel::Secondary,
        yuan(3200),
        day(2020, 3, 20),
    );
    steps.finish(
        "Chongqing: contributions across the 2020-01-01 merger, prenatal, delivery and allowance",
        vec![
            day(2019, 12, 31),
            day(2020, 1, 31),
            day(2020, 3, 31),
            day(2020, 12, 31),
        ],
    )
}

/// Gansu, 兰州市: merged 2019-12-01 (province), employer 7% + 0.7% (prefecture, assumed),
/// individual 2%; clearance up to 2019-11-30; +80 leave days before 2021-11.
///
/// Figures:
/// - Each of 2019-10, 2019-11, 2019-12: ma base 5000: maternity 35.00, employer 385.00,
///   BMI 350.00, individual 100.00, total 485.00; zhang base 4000: 28.00, 308.00, 280.00,
///   80.00, total 388.00. Month: maternity 63.00, pooled 630.00, personal 180.00, total
///   873.00. 2019-10 and 2019-11 credit the maternity fund, 2019-12 (merged) the pooled
///   fund's maternity line.
/// - 2020-01: ma base 6000: 42.00, 462.00, 420.00, 120.00, total 582.00; zhang base 4500:
///   31.50, 346.50, 315.00, 90.00, total 436.50. Month: maternity 73.50, pooled 735.00,
///   personal 210.00, total 1018.50.
/// - Prenatal 2019-11-05: 20.00 from the maternity fund. Clearance at 2019-11-30: income
///   63.00 + 63.00 = 126.00, expenditure 20.00, balance 106.00, receivables 873.00
///   (2019-11 not yet collected), pending payables 20.00. Transfer 2019-12-10: 106.00.
/// - Back-payment of 2019-08 booked 2020-03-15 (ma and zhang, 2019's rates and bases):
///   873.00 paid at once, maternity 63.00 to the pooled fund's maternity line (the
///   maternity fund is closed), business date 2019-08-01.
/// - Delivery 2020-04-10, caesarean, tertiary: min(5200, 4500) = 4500.00. Allowance:
///   98 + 80 = 178 days, 5500 × 178 / 30 = 32633.333… = 32633.33.
fn gansu_lanzhou() -> Scenario {
    let mut steps = Steps::new("gansu-lanzhou", "gansu-lanzhou");
    let firm = "lz-firm";
    let roster = ["lz-ma", "lz-zhang"];
    steps.register(
        firm,
        EmployerCategory::Enterprise,
        yuan(5000),
        day(2018, 1, 2),
    );
    let record = |person: &str, held_bmi: bool, held_maternity: bool| MigrationRecord {
        person: PersonId::new(person),
        employer: EmployerId::new(firm),
        held_bmi,
        held_maternity,
        insured_since: day(2018, 1, 2),
    };
    // ma held both; zhang BMI only and liu maternity only: the agency adds the missing one.
    steps.push(
        "migrate",
        MigrateEnrollments {
            region: steps.region.clone(),
            agency: "兰州市医疗保障局".to_owned(),
            migrated_on: day(2019, 9, 1),
            records: vec![
                record("lz-ma", true, true),
                record("lz-zhang", true, false),
                record("lz-liu", false, true),
            ],
        },
    );
    steps.declare(
        firm,
        2019,
        &[("lz-ma", Some(yuan(5000))), ("lz-zhang", Some(yuan(4000)))],
        Some(yuan(5000)),
        day(2019, 9, 2),
    );
    steps.assess(firm, month(2019, 10), &roster, day(2019, 10, 10));
    steps.collect(firm, month(2019, 10), yuan(873), day(2019, 10, 25));
    steps.claim("lz-ma", prenatal("lz-ma"), day(2019, 11, 5), yuan(20));
    steps.assess(firm, month(2019, 11), &roster, day(2019, 11, 10));
    steps.clear(day(2019, 11, 30), day(2019, 12, 5), "兰州市医疗保障局");
    steps.assess(firm, month(2019, 12), &roster, day(2019, 12, 10));
    steps.transfer_and_close(day(2019, 12, 10), day(2019, 12, 20));
    steps.collect(firm, month(2019, 11), yuan(873), day(2019, 12, 25));
    steps.declare(
        firm,
        2020,
        &[("lz-ma", Some(yuan(6000))), ("lz-zhang", Some(yuan(4500)))],
        Some(yuan(5500)),
        day(2020, 1, 5),
    );
    steps.assess(firm, month(2020, 1), &roster, day(2020, 1, 10));
    steps.collect(firm, month(2019, 12), yuan(873), day(2020, 1, 20));
    steps.collect(firm, month(2020, 1), fen(101_850), day(2020, 2, 20));
    steps.back_pay(firm, month(2019, 8), &roster, day(2020, 3, 15));
    steps.give_birth(
        "lz-ma",
        firm,
        birth("lz-ma", day(2020, 4, 10), Delivery::Caesarean, false, 1),
        HospitalLevel::Tertiary,
        yuan(5200),
        day(2020, 4, 20),
    );
    steps.finish(
        "Gansu (Lanzhou): migration, clearance at 2019-11-30, transfer, closure, \
         back-payment of 2019-08 booked in 2020",
        vec![
            day(2019, 8, 31),
            day(2019, 11, 30),
            day(2019, 12, 31),
            day(2020, 12, 31),
        ],
    )
}

/// Kizilsu (克州): employer 8% + 0.5%, individual 2%, early retirees pay no individual part;
/// clearance of 2019-09 and earlier, closure 2019-12-20..25, merged 2020-01-01; +60 leave
/// days; interruption stops benefits.
///
/// Figures:
/// - 2019-09 and 2019-12 (to the maternity fund): ayi base 6000: maternity 30.00, employer
///   510.00, BMI 480.00, individual 120.00, total 630.00; tursun (early retiree) base
///   5000: 25.00, 425.00, 400.00, no individual part, total 425.00; gulnar base 4000:
///   20.00, 340.00, 320.00, 80.00, total 420.00. Month: maternity 75.00, pooled 1200.00,
///   personal 200.00, total 1475.00.
/// - 2020-01 (merged): gulnar base 4500: 22.50, 382.50, 360.00, 90.00, total 472.50.
///   Month: maternity 77.50, pooled 1240.00, personal 210.00, total 1527.50.
/// - Prenatal 2019-09-20: 60.00 from the maternity fund. Clearance at 2019-09-30: income
///   75.00, expenditure 60.00, balance 15.00, receivables 1475.00 (collected 2019-10-15),
///   pending payables 60.00. Transfer 2019-12-20: 15.00 + 2019-12's 75.00 = 90.00.
/// - Delivery 2020-02-10, vaginal, primary: min(1800, 2000) = 1800.00. Allowance: 98 + 60
///   = 158 days, 6300 × 158 / 30 = 33180.00. Interrupted 2020-04-10, 60 days after the
///   birth (19 left of February 2020, 31 of March, 10 of April): 6300 × 60 / 30 =
///   12600.00 earned, 33180.00 − 12600.00 = 20580.00 withdrawn for the 98 days stopped.
fn kizilsu() -> Scenario {
    let mut steps = Steps::new("kizilsu", "kizilsu");
    let firm = "kz-agency";
    let roster = ["kz-ayi", "kz-tursun", "kz-gulnar"];
    steps.register(firm, EmployerCategory::Agency, yuan(6000), day(2019, 1, 2));
    steps.enroll("kz-ayi", Some(firm), PersonKind::Employee, day(2019, 1, 2));
    steps.enroll(
        "kz-tursun",
        Some(firm),
        PersonKind::EarlyRetiree,
        day(2019, 1, 2),
    );
    steps.enroll(
        "kz-gulnar",
        Some(firm),
        PersonKind::Employee,
        day(2019, 1, 2),
    );
    steps.declare(
        firm,
        2019,
        &[
            ("kz-ayi", Some(yuan(6000))),
            ("kz-tursun", Some(yuan(5000))),
            ("kz-gulnar", Some(yuan(4000))),
        ],
        None,
        day(2019, 1, 5),
    );
    steps.assess(firm, month(2019, 9), &roster, day(2019, 9, 10));
    steps.claim(
        "kz-gulnar",
        prenatal("kz-gulnar"),
        day(2019, 9, 20),
        yuan(60),
    );
    steps.collect(firm, month(2019, 9), yuan(1475), day(2019, 10, 15));
    steps.clear(day(2019, 9, 30), day(2019, 10, 20), "克州医疗保障局");
    steps.assess(firm, month(2019, 12), &roster, day(2019, 12, 10));
    steps.transfer_and_close(day(2019, 12, 20), day(2019, 12, 25));
    steps.declare(
        firm,
        2020,
        &[
            ("kz-ayi", Some(yuan(6000))),
            ("kz-tursun", Some(yuan(5000))),
            ("kz-gulnar", Some(yuan(4500))),
        ],
        Some(yuan(6300)),
        day(2020, 1, 5),
    );
    steps.assess(firm, month(2020, 1), &roster, day(2020, 1, 10));
    steps.collect(firm, month(2019, 12), yuan(1475), day(2020, 1, 15));
    steps.give_birth(
        "kz-gulnar",
        firm,
        birth("kz-gulnar", day(2020, 2, 10), Delivery::Vaginal, false, 1),
        HospitalLevel::Primary,
        yuan(1800),
        day(2020, 2, 15),
    );
    steps.collect(firm, month(2020, 1), fen(152_750), day(2020, 2, 15));
    let suspension = interruption(PersonId::new("kz-gulnar"), &steps.region, day(2020, 4, 10));
    steps.push("suspend-kz-gulnar", suspension);
    steps.finish(
        "Kizilsu: clearance of 2019-09 and earlier, closure 2019-12-25, merger 2020-01-01, \
         an interruption stopping a running allowance",
        vec![
            day(2019, 9, 30),
            day(2019, 12, 31),
            day(2020, 3, 31),
            day(2020, 12, 31),
        ],
    )
}

/// Tianjin: merged since 2019-06-01, employer 10% + 0.5% (assumed), individual 2%; the
/// maternity income item from 2024-05-22; flexible workers register themselves; +60 leave
/// days from 2021-11-29.
///
/// Figures:
/// - Each of 2024-04, 2024-05, 2024-06: li base 8000: maternity 40.00, employer 8000 ×
///   10.5% = 840.00, BMI 800.00, individual 160.00, total 1000.00; zhao base 10000: 50.00,
///   1050.00, 1000.00, 200.00, total 1250.00. Month: maternity 90.00, pooled 1800.00,
///   personal 360.00, total 2250.00, collected in full.
/// - The income item is shown for a month when the rule is in force on the month's last
///   day: 2024-04 shows none; 2024-05 (2024-05-31 is after 2024-05-22) and 2024-06 show
///   90.00 each.
/// - Prenatal 2024-05-30: 450.00. Delivery 2024-07-15, vaginal, tertiary: min(2800, 3000)
///   = 2800.00. Allowance: 98 + 60 = 158 days, 8500 × 158 / 30 = 44766.666… = 44766.67.
fn tianjin() -> Scenario {
    let mut steps = Steps::new("tianjin", "tianjin");
    let firm = "tj-firm";
    let roster = ["tj-li", "tj-zhao"];
    steps.register(
        firm,
        EmployerCategory::Enterprise,
        yuan(8000),
        day(2024, 1, 2),
    );
    steps.enroll("tj-li", Some(firm), PersonKind::Employee, day(2024, 1, 2));
    steps.enroll("tj-zhao", Some(firm), PersonKind::Employee, day(2024, 1, 2));
    // A flexible worker registers herself and joins maternity with BMI.
    steps.enroll("tj-sun", None, PersonKind::FlexibleWorker, day(2024, 3, 1));
    steps.declare(
        firm,
        2024,
        &[("tj-li", Some(yuan(8000))), ("tj-zhao", Some(yuan(10000)))],
        Some(yuan(8500)),
        day(2024, 1, 5),
    );
    for (at, booked, paid) in [(4, 10, 25), (5, 10, 25), (6, 10, 25)] {
        steps.assess(firm, month(2024, at), &roster, day(2024, at, booked));
        steps.collect(firm, month(2024, at), yuan(2250), day(2024, at, paid));
    }
    steps.claim("tj-li", prenatal("tj-li"), day(2024, 5, 30), yuan(450));
    steps.give_birth(
        "tj-li",
        firm,
        birth("tj-li", day(2024, 7, 15), Delivery::Vaginal, false, 1),
        HospitalLevel::Tertiary,
        yuan(2800),
        day(2024, 7, 25),
    );
    steps.finish(
        "Tianjin: contributions before and after the 2024-05-22 maternity income item",
        vec![
            day(2024, 4, 30),
            day(2024, 5, 31),
            day(2024, 6, 30),
            day(2024, 12, 31),
        ],
    )
}

/// Beijing: merged 2020-01-01, employer 9% + 0.8% = 9.8%, individual 2%, mutual-aid fund
/// 1% employer + 3 yuan a month per person (retirees too); base floor 5360, cap 25401,
/// unknown wage 8467; contribution year July to June; +30 leave days before 2021-11-26.
///
/// Figures, each of 2020-01 and 2020-02:
/// - wei declared 4000, base the floor 5360: maternity 5360 × 0.8% = 42.88, employer
///   5360 × 9.8% = 525.28, BMI 482.40, individual 107.20, mutual aid 53.60 + 3.00, total
///   525.28 + 107.20 + 53.60 + 3.00 = 689.08.
/// - feng declared 30000, base the cap 25401: maternity 203.208 = 203.21, employer
///   2489.298 = 2489.30, BMI 2286.09, individual 508.02, mutual aid 254.01 + 3.00, total
///   3254.33.
/// - gao wage unknown, base 8467: maternity 67.736 = 67.74, employer 829.766 = 829.77, BMI
///   762.03, individual 169.34, mutual aid 84.67 + 3.00, total 1086.78.
/// - he, retiree: mutual aid 3.00 only.
/// - Month: maternity 313.83, pooled 3530.52, personal 784.56, mutual aid 392.28 + 12.00
///   = 404.28, total 5033.19. 2020-01 collected in full; 2020-02 3000.00 of it, arrears
///   2033.19.
/// - Prenatal 2020-03-02: min(1200, quota 1000) = 1000.00. Delivery 2020-06-18, caesarean,
///   secondary: min(6100, 4000) = 4000.00. Allowance, difficult birth of twins: 98 + 15 +
///   15 + 30 = 158 days, 12000 × 158 / 30 = 63200.00.
fn beijing() -> Scenario {
    let mut steps = Steps::new("beijing", "beijing");
    let firm = "bj-firm";
    let roster = ["bj-wei", "bj-feng", "bj-gao", "bj-he"];
    steps.register(
        firm,
        EmployerCategory::Enterprise,
        yuan(12000),
        day(2020, 1, 2),
    );
    for person in ["bj-wei", "bj-feng", "bj-gao"] {
        steps.enroll(person, Some(firm), PersonKind::Employee, day(2020, 1, 2));
    }
    steps.enroll("bj-he", Some(firm), PersonKind::Retiree, day(2020, 1, 2));
    // Beijing's contribution year runs July to June: the employer joins in the middle of
    // the 2019 year (2019-07..2020-06) and declares its bases for it.
    steps.declare(
        firm,
        2019,
        &[
            ("bj-wei", Some(yuan(4000))),
            ("bj-feng", Some(yuan(30000))),
            ("bj-gao", None),
        ],
        Some(yuan(12000)),
        day(2020, 1, 5),
    );
    steps.assess(firm, month(2020, 1), &roster, day(2020, 1, 10));
    steps.assess(firm, month(2020, 2), &roster, day(2020, 2, 10));
    steps.collect(firm, month(2020, 1), fen(503_319), day(2020, 2, 15));
    steps.collect(firm, month(2020, 2), yuan(3000), day(2020, 3, 15));
    steps.claim("bj-wei", prenatal("bj-wei"), day(2020, 3, 2), yuan(1200));
    steps.give_birth(
        "bj-wei",
        firm,
        birth("bj-wei", day(2020, 6, 18), Delivery::Caesarean, true, 2),
        HospitalLevel::Secondary,
        yuan(6100),
        day(2020, 6, 28),
    );
    steps.finish(
        "Beijing: 9.8% on clamped bases, the mutual-aid fund, prenatal quota, twins",
        vec![
            day(2020, 1, 31),
            day(2020, 2, 29),
            day(2020, 6, 30),
            day(2020, 12, 31),
        ],
    )
}

// ---- the scale generator ----------------------------------------------------------------

/// What the scale generator makes: `employers` employers of `persons_per_employer`
/// employees each in one region, `months` months of assessments from `start`, with births,
/// back-payments, interruptions and unpaid months at the given rates. Deterministic from
/// the seed; rates are integers per million, so no floating point comes near the money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleConfig {
    /// Seeds the generator; it also prefixes every id, so two seeds can share a ledger.
    pub seed: u64,
    /// The region (it must have contribution rules in force from `start`).
    pub region: RegionId,
    /// How many employers.
    pub employers: u32,
    /// Employees per employer.
    pub persons_per_employer: u32,
    /// The first contribution month.
    pub start: Month,
    /// How many months.
    pub months: u32,
    /// Most persons in one assessment command (an employer's roster is split).
    pub roster_max: usize,
    /// Births per million person-months (realistic: about 1000, 1.2% a year).
    pub births_per_million: u32,
    /// Person-months left out of the assessment and back-paid two months later.
    pub back_payments_per_million: u32,
    /// Interruptions (中断参保缴费) per million person-months; each lasts one to three months.
    pub interruptions_per_million: u32,
    /// Employer-months left unpaid (arrears) per million.
    pub arrears_per_million: u32,
}

impl ScaleConfig {
    /// Realistic rates for a region: 0.1% births, 0.2% back-paid and 0.1% interrupted
    /// person-months, 2% unpaid employer-months, rosters of at most 200.
    pub fn realistic(
        seed: u64,
        region: RegionId,
        employers: u32,
        persons_per_employer: u32,
        start: Month,
        months: u32,
    ) -> ScaleConfig {
        ScaleConfig {
            seed,
            region,
            employers,
            persons_per_employer,
            start,
            months,
            roster_max: 200,
            births_per_million: 1_000,
            back_payments_per_million: 2_000,
            interruptions_per_million: 1_000,
            arrears_per_million: 20_000,
        }
    }
}

/// What the generated history should leave in the books, computed with the same
/// contribution rules as the decisions: a cross-check for tests and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleTotals {
    /// Sum of every assessed line (to the receivable).
    pub assessed: Yuan,
    /// Sum of every collection (receivable to bank).
    pub collected: Yuan,
    /// Sum of every back-paid line (paid at once, to the bank).
    pub back_paid: Yuan,
    /// Births (each with a prenatal claim, a delivery claim and an allowance).
    pub births: u32,
    /// Person-months back-paid.
    pub back_paid_person_months: u32,
    /// Interruptions.
    pub interruptions: u32,
}

/// A small deterministic random source (SplitMix64): same seed, same history. The
/// generator, the crash bench and the decoder fuzz draw from it, so each run of them is the
/// same run.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A source seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = u64::try_from(high - low + 1).unwrap_or(1).max(1);
        low + i64::try_from(self.next_u64() % span).unwrap_or(0)
    }

    fn chance(&mut self, per_million: u32) -> bool {
        self.next_u64() % 1_000_000 < u64::from(per_million)
    }
}

#[derive(Debug, Clone)]
struct ScalePerson {
    id: PersonId,
    kind: PersonKind,
    /// Declared wage per declaration year (`None`: unknown, the default base applies).
    wages: std::collections::BTreeMap<i16, Option<Yuan>>,
    /// Suspended until (resumed on the first day of) this month.
    suspended_until: Option<Month>,
    has_given_birth: bool,
}

#[derive(Debug, Clone)]
struct ScaleEmployer {
    id: EmployerId,
    wage: i64,
    persons: Vec<ScalePerson>,
}

impl ScaleEmployer {
    /// The ids of the persons at `indexes`, for a roster.
    fn person_ids(&self, indexes: &[usize]) -> Vec<PersonId> {
        indexes
            .iter()
            .map(|index| self.persons[*index].id.clone())
            .collect()
    }
}

/// Generates a region's history month by month as [`Step`]s for `Ledger::execute`:
/// [`ScaleGenerator::setup`] first, then [`ScaleGenerator::next_month`] until it returns
/// `None`. Nothing is held per event, only per person, so it scales with the population.
#[derive(Debug, Clone)]
pub struct ScaleGenerator<'rules> {
    config: ScaleConfig,
    rules: &'rules super::rulebook::Rulebook,
    random: SplitMix,
    employers: Vec<ScaleEmployer>,
    month_index: u32,
    /// Back-payments due in a month: (employer index, arrears month, person indexes).
    back_pays: std::collections::BTreeMap<Month, Vec<(usize, Month, Vec<usize>)>>,
    totals: ScaleTotals,
}

const CATEGORY: EmployerCategory = EmployerCategory::Enterprise;

fn months_after(month: Month, count: u32) -> Month {
    let index = i64::from(month.year) * 12 + i64::from(month.month) - 1 + i64::from(count);
    Month {
        year: i16::try_from(index / 12).unwrap_or(i16::MAX),
        month: i8::try_from(index % 12 + 1).unwrap_or(12),
    }
}

fn day_of(month: Month, day_of_month: i8) -> Date {
    month
        .first_day()
        .with()
        .day(day_of_month)
        .build()
        .unwrap_or(month.first_day())
}

impl<'rules> ScaleGenerator<'rules> {
    /// A generator for `config` deciding figures under `rules` (the shipped rulebook).
    pub fn new(config: ScaleConfig, rules: &'rules super::rulebook::Rulebook) -> Self {
        let random = SplitMix::new(config.seed);
        ScaleGenerator {
            config,
            rules,
            random,
            employers: Vec::new(),
            month_index: 0,
            back_pays: std::collections::BTreeMap::new(),
            totals: ScaleTotals {
                assessed: Yuan::ZERO,
                collected: Yuan::ZERO,
                back_paid: Yuan::ZERO,
                births: 0,
                back_paid_person_months: 0,
                interruptions: 0,
            },
        }
    }

    /// What the steps so far should leave in the books.
    pub fn totals(&self) -> ScaleTotals {
        self.totals
    }

    fn id(&self, what: std::fmt::Arguments<'_>) -> String {
        format!("scale-{}-{what}", self.config.seed)
    }

    /// Registers the employers, enrolls their employees (one in twenty an early retiree,
    /// one in fifty with an unknown wage) and declares the bases of the start month's
    /// declaration year and the one before (Beijing's year starts in July).
    pub fn setup(&mut self) -> Vec<Step> {
        let on = self.config.start.first_day();
        let first_year = self.config.start.year;
        let mut steps = Vec::new();
        for employer_index in 0..self.config.employers {
            let id = EmployerId::new(self.id(format_args!("e{employer_index}")));
            let wage = self.random.between(4_000, 15_000);
            steps.push(Step {
                command_id: self.id(format_args!("register-e{employer_index}")),
                command: registration(id.clone(), &self.config.region, CATEGORY, yuan(wage), on)
                    .into(),
            });
            let mut persons = Vec::new();
            for person_index in 0..self.config.persons_per_employer {
                let person = PersonId::new(format!("{id}-p{person_index}"));
                let kind = if self.random.chance(50_000) {
                    PersonKind::EarlyRetiree
                } else {
                    PersonKind::Employee
                };
                steps.push(Step {
                    command_id: format!("{}-enroll", person),
                    command: enrollment(
                        person.clone(),
                        &self.config.region,
                        Some(id.clone()),
                        kind,
                        on,
                    )
                    .into(),
                });
                let wage = if self.random.chance(20_000) {
                    None
                } else {
                    Some(self.random.between(3_000, 30_000))
                };
                let mut wages = std::collections::BTreeMap::new();
                wages.insert(first_year - 1, wage.map(yuan));
                wages.insert(first_year, wage.map(yuan));
                persons.push(ScalePerson {
                    id: person,
                    kind,
                    wages,
                    suspended_until: None,
                    has_given_birth: false,
                });
            }
            self.employers.push(ScaleEmployer { id, wage, persons });
        }
        for year in [first_year - 1, first_year] {
            for employer_index in 0..self.employers.len() {
                steps.push(self.declaration(employer_index, year, on));
            }
        }
        steps
    }

    fn declaration(&self, employer_index: usize, year: i16, on: Date) -> Step {
        let employer = &self.employers[employer_index];
        Step {
            command_id: self.id(format_args!("declare-e{employer_index}-{year}")),
            command: DeclareBases {
                employer: employer.id.clone(),
                region: self.config.region.clone(),
                year,
                lines: employer
                    .persons
                    .iter()
                    .map(|person| DeclaredWage {
                        person: person.id.clone(),
                        wage: person.wages.get(&year).copied().flatten(),
                    })
                    .collect(),
                employer_average_monthly_wage: Some(yuan(employer.wage)),
                declared_on: on,
            }
            .into(),
        }
    }

    /// The steps of the next month, or `None` after the last; an error if the region has
    /// no contribution rules in force for the month.
    pub fn next_month(&mut self) -> Result<Option<Vec<Step>>, super::rejection::Rejection> {
        if self.month_index >= self.config.months {
            return Ok(None);
        }
        let month = months_after(self.config.start, self.month_index);
        self.month_index += 1;
        let mut steps = Vec::new();
        if month.month == 1 && month.year > self.config.start.year {
            self.raise_wages(month.year);
            for employer_index in 0..self.employers.len() {
                steps.push(self.declaration(employer_index, month.year, month.first_day()));
            }
        }
        for employer_index in 0..self.employers.len() {
            self.status_changes(employer_index, month, &mut steps);
            self.assessment(employer_index, month, &mut steps)?;
            self.births(employer_index, month, &mut steps);
        }
        for (employer_index, arrears, persons) in self.back_pays.remove(&month).unwrap_or_default()
        {
            self.back_payment(employer_index, arrears, &persons, month, &mut steps)?;
        }
        Ok(Some(steps))
    }

    /// A new declaration year: every known wage rises by 0 to 5%, to the yuan.
    fn raise_wages(&mut self, year: i16) {
        for employer_index in 0..self.employers.len() {
            for person_index in 0..self.employers[employer_index].persons.len() {
                let raise = self.random.between(100, 105);
                let person = &mut self.employers[employer_index].persons[person_index];
                let last = person.wages.values().next_back().copied().flatten();
                // A raise of 0 to 5%; each new wage rounded once to the fen.
                let next = last.map(|wage| {
                    wage.decimal()
                        .checked_mul(Decimal::from(raise))
                        .and_then(|raised| raised.checked_div(Decimal::from(100)))
                        .map_or(wage, Yuan::from_decimal)
                });
                person.wages.insert(year, next);
            }
        }
    }

    fn status_changes(&mut self, employer_index: usize, month: Month, steps: &mut Vec<Step>) {
        let per_million = self.config.interruptions_per_million;
        for person_index in 0..self.employers[employer_index].persons.len() {
            let resume = self.employers[employer_index].persons[person_index].suspended_until;
            if resume == Some(month) {
                let person = &mut self.employers[employer_index].persons[person_index];
                person.suspended_until = None;
                steps.push(Step {
                    command_id: format!("{}-resume-{month}", person.id),
                    command: super::command::ResumeEnrollment {
                        person: person.id.clone(),
                        on: month.first_day(),
                        reason: "恢复缴费".to_owned(),
                    }
                    .into(),
                });
                continue;
            }
            if resume.is_some() || !self.random.chance(per_million) {
                continue;
            }
            let lasts = u32::try_from(self.random.between(1, 3)).unwrap_or(1);
            let person = &mut self.employers[employer_index].persons[person_index];
            person.suspended_until = Some(months_after(month, lasts));
            self.totals.interruptions += 1;
            steps.push(Step {
                command_id: format!("{}-suspend-{month}", person.id),
                command: interruption(person.id.clone(), &self.config.region, day_of(month, 15))
                    .into(),
            });
        }
    }

    /// The sum of the lines of `persons` for `month`, as the decision computes them.
    fn lines_total(
        &self,
        employer_index: usize,
        month: Month,
        persons: &[usize],
    ) -> Result<Yuan, super::rejection::Rejection> {
        let rules = super::contribution::ContributionRules::in_force(
            self.rules,
            &self.config.region,
            CATEGORY,
            month,
        )?;
        let (year, _) =
            super::contribution::declaration_year(self.rules, &self.config.region, month)?;
        let mut total = Yuan::ZERO;
        for person_index in persons {
            let person = &self.employers[employer_index].persons[*person_index];
            let wage = person.wages.get(&year).copied().flatten();
            total = total.checked_add(rules.line(&person.id, person.kind, wage)?.amounts.total)?;
        }
        Ok(total)
    }

    fn assessment(
        &mut self,
        employer_index: usize,
        month: Month,
        steps: &mut Vec<Step>,
    ) -> Result<(), super::rejection::Rejection> {
        let mut roster = Vec::new();
        let mut left_out = Vec::new();
        for person_index in 0..self.employers[employer_index].persons.len() {
            if self.employers[employer_index].persons[person_index]
                .suspended_until
                .is_some()
            {
                continue;
            }
            if self.random.chance(self.config.back_payments_per_million) {
                left_out.push(person_index);
            } else {
                roster.push(person_index);
            }
        }
        if !left_out.is_empty() {
            self.back_pays
                .entry(months_after(month, 2))
                .or_default()
                .push((employer_index, month, left_out));
        }
        if roster.is_empty() {
            return Ok(());
        }
        let total = self.lines_total(employer_index, month, &roster)?;
        self.totals.assessed = self.totals.assessed.checked_add(total)?;
        let employer = &self.employers[employer_index];
        for (part, chunk) in roster.chunks(self.config.roster_max.max(1)).enumerate() {
            steps.push(Step {
                command_id: self.id(format_args!("assess-e{employer_index}-{month}-{part}")),
                command: AssessContributions {
                    employer: employer.id.clone(),
                    region: self.config.region.clone(),
                    month,
                    persons: employer.person_ids(chunk),
                    booked_on: day_of(month, 10),
                }
                .into(),
            });
        }
        if self.random.chance(self.config.arrears_per_million) {
            return Ok(());
        }
        self.totals.collected = self.totals.collected.checked_add(total)?;
        steps.push(Step {
            command_id: self.id(format_args!("collect-e{employer_index}-{month}")),
            command: collection(
                employer.id.clone(),
                month,
                total,
                day_of(months_after(month, 1), 20),
            )
            .into(),
        });
        Ok(())
    }

    fn back_payment(
        &mut self,
        employer_index: usize,
        arrears: Month,
        persons: &[usize],
        month: Month,
        steps: &mut Vec<Step>,
    ) -> Result<(), super::rejection::Rejection> {
        let total = self.lines_total(employer_index, arrears, persons)?;
        self.totals.back_paid = self.totals.back_paid.checked_add(total)?;
        self.totals.back_paid_person_months += u32::try_from(persons.len()).unwrap_or(u32::MAX);
        let employer = &self.employers[employer_index];
        steps.push(Step {
            command_id: self.id(format_args!("back-pay-e{employer_index}-{arrears}")),
            command: BackPayContributions {
                employer: employer.id.clone(),
                region: self.config.region.clone(),
                month: arrears,
                persons: employer.person_ids(persons),
                booked_on: day_of(month, 14),
            }
            .into(),
        });
        Ok(())
    }

    /// Births among employees contributing this month: a prenatal claim on the 5th, the
    /// birth and its delivery claim on the 20th, the allowance granted on the 28th.
    fn births(&mut self, employer_index: usize, month: Month, steps: &mut Vec<Step>) {
        for person_index in 0..self.employers[employer_index].persons.len() {
            let person = &self.employers[employer_index].persons[person_index];
            let eligible = person.kind == PersonKind::Employee
                && person.suspended_until.is_none()
                && !person.has_given_birth;
            if !eligible || !self.random.chance(self.config.births_per_million) {
                continue;
            }
            let prenatal_cost = yuan(self.random.between(100, 1_500));
            let delivery_cost = yuan(self.random.between(1_500, 9_000));
            let kind = if self.random.chance(400_000) {
                Delivery::Caesarean
            } else {
                Delivery::Vaginal
            };
            let level = match self.random.between(0, 2) {
                0 => HospitalLevel::Primary,
                1 => HospitalLevel::Secondary,
                _ => HospitalLevel::Tertiary,
            };
            let babies = if self.random.chance(20_000) { 2 } else { 1 };
            let difficult = self.random.chance(50_000);
            let employer = &mut self.employers[employer_index];
            let person = &mut employer.persons[person_index];
            person.has_given_birth = true;
            self.totals.births += 1;
            let id = person.id.as_str().to_owned();
            let claim = |what: &str, kind: ClaimKind, on: Date, actual: Yuan| Step {
                command_id: format!("{id}-{what}"),
                command: medical_claim(
                    ClaimId::new(format!("{id}-{what}")),
                    PersonId::new(id.as_str()),
                    &self.config.region,
                    kind,
                    on,
                    actual,
                )
                .into(),
            };
            steps.push(claim(
                "prenatal",
                prenatal(&id),
                day_of(month, 5),
                prenatal_cost,
            ));
            steps.push(claim(
                "delivery",
                delivery(&id, kind, level),
                day_of(month, 20),
                delivery_cost,
            ));
            steps.push(Step {
                command_id: format!("{id}-allowance"),
                command: allowance(
                    PersonId::new(id.as_str()),
                    employer.id.clone(),
                    &self.config.region,
                    birth(&id, day_of(month, 20), kind, difficult, babies),
                    day_of(month, 28),
                )
                .into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Command ids are unique across all scenarios, so all five can share one ledger.
    #[test]
    fn command_ids_are_unique() {
        let mut ids: Vec<String> = canonical()
            .into_iter()
            .flat_map(|scenario| scenario.steps.into_iter().map(|step| step.command_id))
            .collect();
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "every command id is used once");
    }

    /// Two calls give the same scenarios (the demo and the snapshots rely on it).
    #[test]
    fn scenarios_are_deterministic() {
        assert_eq!(canonical(), canonical());
    }
}
