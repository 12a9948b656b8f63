//! Maternity benefit vocabulary and arithmetic: births, leave and allowance days, the
//! per-disease delivery payment and the prenatal quota.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::ids::{BirthId, PregnancyId, RegionId};
use super::money::Yuan;
use super::rejection::Rejection;
use super::rulebook::{AppliedRule, PaymentMode, Rulebook};

/// How the baby (or babies) were delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Delivery {
    /// Vaginal delivery (顺产).
    Vaginal,
    /// Caesarean section (剖宫产).
    Caesarean,
}

impl Delivery {
    /// Rule key.
    pub fn rule_key(self) -> &'static str {
        match self {
            Delivery::Vaginal => "vaginal",
            Delivery::Caesarean => "caesarean",
        }
    }
}

/// Level of the designated medical institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HospitalLevel {
    /// 一级.
    Primary,
    /// 二级.
    Secondary,
    /// 三级.
    Tertiary,
}

impl HospitalLevel {
    /// Rule key.
    pub fn rule_key(self) -> &'static str {
        match self {
            HospitalLevel::Primary => "primary",
            HospitalLevel::Secondary => "secondary",
            HospitalLevel::Tertiary => "tertiary",
        }
    }
}

/// A birth: one delivery, possibly several babies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Birth {
    /// Identifies the birth (one allowance per birth).
    pub id: BirthId,
    /// The birth date: the business date of every rule the allowance uses.
    pub date: Date,
    /// Vaginal or caesarean.
    pub delivery: Delivery,
    /// Difficult birth (难产).
    pub difficult: bool,
    /// Number of babies, at least one.
    pub babies: u8,
    /// Set for a miscarriage (流产): completed months of pregnancy. Leave is then 15 days
    /// under 4 months and 42 days from 4 months (national rules), nothing else added.
    pub miscarriage_months: Option<u8>,
}

/// The allowance days and where each part came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowanceDays {
    /// National base leave (98).
    pub national: u32,
    /// Difficult birth extra (15 or 0).
    pub difficult_birth: u32,
    /// Extra babies × 15.
    pub extra_babies: u32,
    /// The region's extra days in force on the birth date.
    pub regional: u32,
    /// Total leave days.
    pub leave_days: u32,
    /// Days the allowance pays (leave days, capped by `allowance_days_max` if set).
    pub allowance_days: u32,
    /// Divisor of the monthly wage (30).
    pub divisor: u32,
    /// Rules used.
    pub rules: Vec<AppliedRule>,
}

/// Leave and allowance days for a birth, each part the rule in force on the birth date.
pub fn allowance_days(
    rules: &Rulebook,
    region: &RegionId,
    birth: &Birth,
) -> Result<AllowanceDays, Rejection> {
    if birth.babies == 0 && birth.miscarriage_months.is_none() {
        return Err(Rejection::NoBabies {
            birth_id: birth.id.clone(),
        });
    }
    let date = birth.date;
    let mut applied = Vec::new();
    let mut count = |name: &str| -> Result<u32, Rejection> {
        let (value, rule) = rules.count(region, name, date)?;
        applied.push(rule);
        Ok(value)
    };
    if let Some(months) = birth.miscarriage_months {
        let name = if months < 4 {
            "miscarriage_early_days"
        } else {
            "miscarriage_late_days"
        };
        let leave_days = count(name)?;
        let divisor = count("allowance_divisor_days")?;
        return Ok(AllowanceDays {
            national: leave_days,
            difficult_birth: 0,
            extra_babies: 0,
            regional: 0,
            leave_days,
            allowance_days: leave_days,
            divisor,
            rules: applied,
        });
    }
    let national = count("national_leave_days")?;
    let difficult_birth = if birth.difficult {
        count("difficult_birth_extra_days")?
    } else {
        0
    };
    let extra_babies = if birth.babies > 1 {
        count("extra_baby_days")?.saturating_mul(u32::from(birth.babies) - 1)
    } else {
        0
    };
    let regional = count("regional_extra_leave_days")?;
    let divisor = count("allowance_divisor_days")?;
    let leave_days = national
        .saturating_add(difficult_birth)
        .saturating_add(extra_babies)
        .saturating_add(regional);
    let allowance_days = match rules.optional_count(region, "allowance_days_max", date)? {
        Some((max, rule)) => {
            applied.push(rule);
            leave_days.min(max)
        }
        None => leave_days,
    };
    Ok(AllowanceDays {
        national,
        difficult_birth,
        extra_babies,
        regional,
        leave_days,
        allowance_days,
        divisor,
        rules: applied,
    })
}

/// What a maternity medical claim is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClaimKind {
    /// Delivery (住院分娩), paid per disease by delivery type and hospital level.
    Delivery {
        /// The pregnancy delivered.
        pregnancy: PregnancyId,
        /// Delivery type.
        delivery: Delivery,
        /// Hospital level.
        level: HospitalLevel,
    },
    /// Prenatal checks (产前检查), paid against a per-pregnancy quota.
    Prenatal {
        /// The pregnancy.
        pregnancy: PregnancyId,
    },
}

impl ClaimKind {
    /// The pregnancy the claim belongs to.
    pub fn pregnancy(&self) -> &PregnancyId {
        match self {
            ClaimKind::Delivery { pregnancy, .. } | ClaimKind::Prenatal { pregnancy } => pregnancy,
        }
    }

    /// National platform medical category (医疗类别): 52 inpatient, 51 outpatient.
    pub fn medical_category(&self) -> u16 {
        match self {
            ClaimKind::Delivery { .. } => 52,
            ClaimKind::Prenatal { .. } => 51,
        }
    }
}

/// The delivery payment: `fixed`, or `min(actual, fixed)`, per the mode in force.
pub fn delivery_payment(
    rules: &Rulebook,
    region: &RegionId,
    delivery: Delivery,
    level: HospitalLevel,
    actual: Yuan,
    date: Date,
) -> Result<(Yuan, Vec<AppliedRule>), Rejection> {
    let parameter = format!(
        "delivery_payment.{}.{}",
        delivery.rule_key(),
        level.rule_key()
    );
    let (fixed, amount_rule) = rules.amount(region, &parameter, date)?;
    let (mode, mode_rule) = rules.payment_mode(region, date)?;
    let paid = match mode {
        PaymentMode::Fixed => fixed,
        PaymentMode::MinActualFixed => actual.min(fixed),
    };
    Ok((paid, vec![amount_rule, mode_rule]))
}
