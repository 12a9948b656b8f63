//! Who pays and who is insured: employer categories, person kinds, insurance types.

use serde::{Deserialize, Serialize};

/// Employer category (单位类型); rates may differ by category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EmployerCategory {
    /// 机关 (government agency).
    Agency,
    /// 事业单位 (public institution, budget-funded).
    Institution,
    /// 自收自支事业单位 (self-funded public institution).
    SelfFundedInstitution,
    /// 企业 (enterprise).
    Enterprise,
    /// 个体经济组织 (individual business).
    IndividualBusiness,
    /// 民办非企业单位 (private non-enterprise unit).
    PrivateNonEnterprise,
    /// 社会团体 (social organisation).
    SocialOrganisation,
}

impl EmployerCategory {
    /// The key used for category-specific rule parameters (`maternity_rate.agency`).
    pub fn rule_key(self) -> &'static str {
        match self {
            EmployerCategory::Agency => "agency",
            EmployerCategory::Institution => "institution",
            EmployerCategory::SelfFundedInstitution => "self_funded_institution",
            EmployerCategory::Enterprise => "enterprise",
            EmployerCategory::IndividualBusiness => "individual_business",
            EmployerCategory::PrivateNonEnterprise => "private_non_enterprise",
            EmployerCategory::SocialOrganisation => "social_organisation",
        }
    }
}

/// What kind of insured person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PersonKind {
    /// In-service employee (在职职工): BMI and maternity in one registration.
    Employee,
    /// Flexible worker (灵活就业人员): registers herself where the region allows it.
    FlexibleWorker,
    /// Retiree at or after the statutory age: BMI only, no individual contribution.
    Retiree,
    /// Retired before the statutory age (未达到法定年龄退休): follows the retiree policy,
    /// no individual contribution (克州), flagged for statistics.
    EarlyRetiree,
}

impl PersonKind {
    /// A name for messages.
    pub fn name(self) -> &'static str {
        match self {
            PersonKind::Employee => "employee",
            PersonKind::FlexibleWorker => "flexible worker",
            PersonKind::Retiree => "retiree",
            PersonKind::EarlyRetiree => "early retiree",
        }
    }

    /// Whether enrollment of this kind carries maternity insurance.
    pub fn carries_maternity(self) -> bool {
        matches!(self, PersonKind::Employee | PersonKind::FlexibleWorker)
    }

    /// Whether the person pays the individual BMI part.
    pub fn pays_individual_part(self) -> bool {
        matches!(self, PersonKind::Employee | PersonKind::FlexibleWorker)
    }

    /// Whether the employer pays the employer part for the person.
    pub fn employer_pays(self) -> bool {
        matches!(self, PersonKind::Employee | PersonKind::EarlyRetiree)
    }
}

/// The two insurance types being merged (national platform codes 310 and 510).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum InsuranceType {
    /// 职工基本医疗保险, code 310.
    BasicMedical,
    /// 生育保险, code 510.
    Maternity,
}

impl InsuranceType {
    /// National platform insurance type code (险种).
    pub fn code(self) -> u16 {
        match self {
            InsuranceType::BasicMedical => 310,
            InsuranceType::Maternity => 510,
        }
    }
}
