//! Monthly contribution assessment for an employer: base = declared previous-year
//! average monthly wage clamped to the floor and cap in force that month (unknown wage:
//! the default base); rates by employer category in force that month; lines split per
//! SPEC §3. Pre-merger months credit the maternity fund; merged months the pooled
//! fund's maternity line. A pre-merger month after the maternity fund closed is refused:
//! it is a back-payment now.

use jiff::civil::Date;

use super::{require_employer_in, roster_lines};
use crate::domain::contribution::{
    ContributionRules, LineChunk, chunk_lines, maternity_destination,
};
use crate::domain::event::{Event, employer_stream, fund_stream, person_stream};
use crate::domain::ids::{EmployerId, Month, PersonId, RegionId};
use crate::domain::posting::Account;
use crate::domain::rejection::Rejection;
use crate::domain::rulebook::Rulebook;
use crate::domain::state::{EmployerState, State, Status};

/// Assess an employer-month for a roster of persons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessContributions {
    /// The employer.
    pub employer: EmployerId,
    /// Its region.
    pub region: RegionId,
    /// The contribution month.
    pub month: Month,
    /// The persons assessed (the roster from the employer's enrollment projection).
    pub persons: Vec<PersonId>,
    /// Booking date.
    pub booked_on: Date,
}

impl AssessContributions {
    fn roster(&self) -> Roster<'_> {
        Roster::new(
            &self.employer,
            &self.region,
            self.month,
            &self.persons,
            self.booked_on,
        )
    }

    /// Streams read.
    pub fn reads(&self) -> Vec<String> {
        self.roster().reads()
    }

    /// Decision.
    pub fn decide(&self, state: &State, rules: &Rulebook) -> Result<Vec<Event>, Rejection> {
        let employer = require_employer_in(state, &self.employer, &self.region)?;
        let chunks = self.roster().chunks(
            state,
            rules,
            employer,
            &[Status::Active],
            true,
            Account::ContributionReceivable,
        )?;
        Ok(chunks
            .into_iter()
            .map(Event::ContributionAssessed)
            .collect())
    }
}

/// What an assessment and a back-payment share: an employer's roster for a month, booked
/// on a date. Both read the same streams and price the roster the same way, under the
/// rules in force in the month (not on the booking date).
pub(super) struct Roster<'a> {
    employer: &'a EmployerId,
    region: &'a RegionId,
    month: Month,
    persons: &'a [PersonId],
    booked_on: Date,
}

impl<'a> Roster<'a> {
    /// The roster of `persons` at `employer` for `month`.
    pub(super) fn new(
        employer: &'a EmployerId,
        region: &'a RegionId,
        month: Month,
        persons: &'a [PersonId],
        booked_on: Date,
    ) -> Self {
        Roster {
            employer,
            region,
            month,
            persons,
            booked_on,
        }
    }

    /// The employer's stream, the region's fund and each person's stream.
    pub(super) fn reads(&self) -> Vec<String> {
        let mut streams = vec![employer_stream(self.employer), fund_stream(self.region)];
        streams.extend(self.persons.iter().map(person_stream));
        streams
    }

    /// The roster's lines under the month's rules, for persons in one of the `accepted`
    /// statuses, in chunks posted against `counter`. `strict` refuses a pre-merger month
    /// once the maternity fund is closed (see [`maternity_destination`]).
    pub(super) fn chunks(
        &self,
        state: &State,
        rules: &Rulebook,
        employer: &EmployerState,
        accepted: &[Status],
        strict: bool,
        counter: Account,
    ) -> Result<Vec<LineChunk>, Rejection> {
        let contribution =
            ContributionRules::in_force(rules, self.region, employer.category, self.month)?;
        let lines = roster_lines(
            state,
            self.employer,
            employer,
            self.month,
            self.persons,
            accepted,
            &contribution,
        )?;
        let destination = maternity_destination(
            rules,
            self.region,
            self.month,
            state.funds.get(self.region),
            self.booked_on,
            strict,
        )?;
        chunk_lines(
            self.employer,
            self.region,
            self.month,
            lines,
            &contribution.applied,
            destination,
            counter,
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use crate::domain::contribution::BaseSource;
    use crate::domain::party::{EmployerCategory, PersonKind};
    use crate::domain::posting::Account;
    use crate::domain::rejection::Rejection;
    use crate::domain::testing::*;
    use crate::domain::{Command, Month};
    use jiff::civil::Date;

    /// An employer and its region: most tests here register one, enroll its staff on the
    /// same day, declare their wages and assess a month.
    struct Firm {
        employer: &'static str,
        region: &'static str,
    }

    const KIZILSU: Firm = Firm {
        employer: "kz-agency",
        region: "kizilsu",
    };
    const BEIJING: Firm = Firm {
        employer: "bj-firm",
        region: "beijing",
    };
    const TIANJIN: Firm = Firm {
        employer: "tj-firm",
        region: "tianjin",
    };
    const CHONGQING: Firm = Firm {
        employer: "cq-firm",
        region: "chongqing",
    };
    const TIANSHUI: Firm = Firm {
        employer: "ts-school",
        region: "gansu-tianshui",
    };

    impl Firm {
        /// The employer registered on `on`, with `staff` enrolled the same day.
        fn staffed(
            &self,
            category: EmployerCategory,
            wage: &str,
            on: Date,
            staff: &[(&str, PersonKind)],
        ) -> Scenario {
            let registration = register(self.employer, self.region, category, wage, on);
            let enrollments = staff
                .iter()
                .map(|(person, kind)| enroll(person, self.employer, self.region, *kind, on));
            given(std::iter::once(registration).chain(enrollments))
        }

        /// A year's declared wages, with no employer average.
        fn declare(&self, year: i16, wages: &[(&str, Option<&str>)], on: Date) -> Command {
            declare(self.employer, self.region, year, wages, None, on)
        }

        /// The assessment of `persons` for `at`, booked on `on`.
        fn assess(&self, at: Month, persons: &[&str], on: Date) -> Command {
            assess(self.employer, self.region, at, persons, on)
        }
    }

    /// A Beijing enterprise (average wage 12000) with `staff` from 2020-01-02.
    fn beijing_firm(staff: &[(&str, PersonKind)]) -> Scenario {
        BEIJING.staffed(
            EmployerCategory::Enterprise,
            "12000",
            day(2020, 1, 2),
            staff,
        )
    }

    fn kizilsu_agency() -> Scenario {
        let wages = [("ayi", Some("6000")), ("tursun", Some("5000"))];
        KIZILSU
            .staffed(
                EmployerCategory::Agency,
                "6000",
                day(2019, 1, 2),
                &[
                    ("ayi", PersonKind::Employee),
                    ("tursun", PersonKind::EarlyRetiree),
                ],
            )
            .and(KIZILSU.declare(2019, &wages, day(2019, 1, 5)))
            .and(KIZILSU.declare(2020, &wages, day(2020, 1, 5)))
    }

    /// Kizilsu, one employee, 2019-12 (before the merger) against 2020-01 (merged): the
    /// same figures, but the maternity part moves from the maternity fund to the pooled
    /// fund's maternity line.
    #[test]
    fn kizilsu_one_employee_before_and_after_the_merger() {
        let scenario = kizilsu_agency();
        let december = scenario
            .when(KIZILSU.assess(month(2019, 12), &["ayi"], day(2019, 12, 10)))
            .then_events();
        let january = scenario
            .when(KIZILSU.assess(month(2020, 1), &["ayi"], day(2020, 1, 10)))
            .then_events();
        for events in [&december, &january] {
            let line = &chunks(events)[0].lines[0];
            assert_eq!(line.base, yuan("6000.00"));
            assert_eq!(line.amounts.maternity, yuan("30.00")); // 6000 × 0.5% = 30.00
            assert_eq!(line.amounts.employer_total, yuan("510.00")); // 6000 × (8% + 0.5%) = 510.00
            assert_eq!(line.amounts.employer_bmi, yuan("480.00")); // 510.00 − 30.00 = 480.00
            assert_eq!(line.amounts.individual, yuan("120.00")); // 6000 × 2% = 120.00
            assert_eq!(line.amounts.total, yuan("630.00")); // 510.00 + 120.00 = 630.00
        }
        // 2019-12 is before the merge date 2020-01-01: maternity fund.
        assert_eq!(
            credited(&december[0], Account::MaternityFund),
            yuan("30.00")
        );
        assert_eq!(
            credited(&december[0], Account::BmiPooledMaternity),
            yuan("0")
        );
        // 2020-01 is merged: the pooled fund's maternity sub-line.
        assert_eq!(credited(&january[0], Account::MaternityFund), yuan("0"));
        assert_eq!(
            credited(&january[0], Account::BmiPooledMaternity),
            yuan("30.00")
        );
        // Pooled 480.00, personal accounts 120.00, receivable debited 630.00 either way.
        assert_eq!(
            credited(&january[0], Account::BmiPooledFund),
            yuan("480.00")
        );
        assert_eq!(
            credited(&january[0], Account::PersonalAccounts),
            yuan("120.00")
        );
        assert_eq!(
            credited(&january[0], Account::ContributionReceivable),
            yuan("-630.00")
        );
    }

    /// Kizilsu early retiree (retired before the statutory age): no individual part.
    #[test]
    fn kizilsu_early_retiree_pays_no_individual_part() {
        let events = kizilsu_agency()
            .when(KIZILSU.assess(month(2020, 1), &["tursun"], day(2020, 1, 10)))
            .then_events();
        let line = &chunks(&events)[0].lines[0];
        assert_eq!(line.kind, PersonKind::EarlyRetiree);
        assert_eq!(line.amounts.employer_total, yuan("425.00")); // 5000 × 8.5% = 425.00
        assert_eq!(line.amounts.maternity, yuan("25.00")); // 5000 × 0.5% = 25.00
        assert_eq!(line.amounts.individual, yuan("0")); // retiree policy: no individual part
        assert_eq!(line.amounts.total, yuan("425.00")); // 425.00 + 0 = 425.00
        assert_eq!(credited(&events[0], Account::PersonalAccounts), yuan("0"));
    }

    /// Beijing 2021-03: one wage below the floor (5360), one above the cap (25401);
    /// employer 9.8% (9% + 0.8%), mutual-aid 1% + 3 yuan, individual 2%.
    #[test]
    fn beijing_base_clamped_at_floor_and_cap_with_mutual_aid() {
        let events = beijing_firm(&[
            ("wang", PersonKind::Employee),
            ("zhao", PersonKind::Employee),
        ])
        // Beijing's contribution year starts in July: 2021-03 uses the 2020 declaration.
        .and(BEIJING.declare(
            2020,
            &[("wang", Some("4000")), ("zhao", Some("30000"))],
            day(2020, 7, 5),
        ))
        .when(BEIJING.assess(month(2021, 3), &["wang", "zhao"], day(2021, 3, 10)))
        .then_events();
        let chunk = chunks(&events)[0];
        let wang = &chunk.lines[0];
        assert_eq!(
            (wang.base, wang.base_source),
            (yuan("5360"), BaseSource::Floor)
        ); // 4000 < 5360
        assert_eq!(wang.amounts.employer_total, yuan("525.28")); // 5360 × 9.8% = 525.28
        assert_eq!(wang.amounts.maternity, yuan("42.88")); // 5360 × 0.8% = 42.88
        assert_eq!(wang.amounts.employer_bmi, yuan("482.40")); // 525.28 − 42.88 = 482.40
        assert_eq!(wang.amounts.individual, yuan("107.20")); // 5360 × 2% = 107.20
        assert_eq!(wang.amounts.mutual_aid_employer, yuan("53.60")); // 5360 × 1% = 53.60
        assert_eq!(wang.amounts.mutual_aid_individual, yuan("3.00")); // 3 yuan a month
        assert_eq!(wang.amounts.total, yuan("689.08")); // 525.28 + 107.20 + 53.60 + 3.00
        let zhao = &chunk.lines[1];
        assert_eq!(
            (zhao.base, zhao.base_source),
            (yuan("25401"), BaseSource::Cap)
        ); // 30000 > 25401
        assert_eq!(zhao.amounts.employer_total, yuan("2489.30")); // 25401 × 9.8% = 2489.298 → 2489.30
        assert_eq!(zhao.amounts.maternity, yuan("203.21")); // 25401 × 0.8% = 203.208 → 203.21
        assert_eq!(zhao.amounts.employer_bmi, yuan("2286.09")); // 2489.30 − 203.21 = 2286.09
        assert_eq!(zhao.amounts.individual, yuan("508.02")); // 25401 × 2% = 508.02
        assert_eq!(zhao.amounts.mutual_aid_employer, yuan("254.01")); // 25401 × 1% = 254.01
        assert_eq!(zhao.amounts.total, yuan("3254.33")); // 2489.30 + 508.02 + 254.01 + 3.00
        // Mutual-aid fund: 53.60 + 3.00 + 254.01 + 3.00 = 313.61
        assert_eq!(credited(&events[0], Account::MutualAidFund), yuan("313.61"));
        // Maternity line: 42.88 + 203.21 = 246.09
        assert_eq!(
            credited(&events[0], Account::BmiPooledMaternity),
            yuan("246.09")
        );
    }

    /// Beijing's cap switches in July 2021 (25401 → 28221): the month's rule is used.
    #[test]
    fn beijing_cap_in_force_in_the_month() {
        let events = beijing_firm(&[("zhao", PersonKind::Employee)])
            .and(BEIJING.declare(2021, &[("zhao", Some("30000"))], day(2021, 1, 5)))
            .when(BEIJING.assess(month(2021, 7), &["zhao"], day(2021, 7, 10)))
            .then_events();
        let zhao = &chunks(&events)[0].lines[0];
        assert_eq!(zhao.base, yuan("28221")); // cap from 2021-07-01
        assert_eq!(zhao.amounts.employer_total, yuan("2765.66")); // 28221 × 9.8% = 2765.658 → 2765.66
    }

    /// A wage not declared takes the rule's default base (Beijing: the city average).
    #[test]
    fn unknown_wage_takes_the_default_base() {
        let events = beijing_firm(&[("li", PersonKind::Employee)])
            .when(BEIJING.assess(month(2020, 3), &["li"], day(2020, 3, 10)))
            .then_events();
        let li = &chunks(&events)[0].lines[0];
        assert_eq!(
            (li.base, li.base_source),
            (yuan("8467"), BaseSource::Default)
        ); // [A] 25401 ÷ 3
    }

    /// The same person cannot be assessed twice for one month.
    #[test]
    fn second_assessment_of_a_month_is_refused() {
        let scenario =
            kizilsu_agency().and(KIZILSU.assess(month(2020, 1), &["ayi"], day(2020, 1, 10)));
        let rejection = scenario
            .when(KIZILSU.assess(month(2020, 1), &["ayi"], day(2020, 1, 11)))
            .then_rejected();
        assert!(matches!(rejection, Rejection::AlreadyAssessed { .. }));
    }

    /// COVID relief (医保发〔2020〕6号), applied by amendment: the employer BMI part is
    /// halved from 2020-02 to 2020-06; the maternity part is not.
    #[test]
    fn covid_relief_halves_the_employer_bmi_part_only() {
        let wages = [("li", Some("10000"))];
        let relief = |factor, from| {
            amend(
                "beijing",
                "employer_bmi_relief_factor",
                factor,
                from,
                day(2020, 1, 20),
                &[],
            )
        };
        let scenario = beijing_firm(&[("li", PersonKind::Employee)])
            // 2020-03 draws on the 2019 declaration (year from July), 2020-07 on 2020's.
            .and(BEIJING.declare(2019, &wages, day(2019, 7, 5)))
            .and(BEIJING.declare(2020, &wages, day(2020, 7, 5)))
            .and(relief("0.5", day(2020, 2, 1)))
            .and(relief("1", day(2020, 7, 1)));
        let march = scenario
            .when(BEIJING.assess(month(2020, 3), &["li"], day(2020, 3, 10)))
            .then_events();
        let line = &chunks(&march)[0].lines[0];
        assert_eq!(line.amounts.employer_total, yuan("530.00")); // 10000 × (9% × 0.5 + 0.8%) = 530.00
        assert_eq!(line.amounts.maternity, yuan("80.00")); // 10000 × 0.8% = 80.00
        assert_eq!(line.amounts.employer_bmi, yuan("450.00")); // 530.00 − 80.00
        let july = scenario
            .when(BEIJING.assess(month(2020, 7), &["li"], day(2020, 7, 10)))
            .then_events();
        assert_eq!(
            chunks(&july)[0].lines[0].amounts.employer_total,
            yuan("980.00")
        ); // 10000 × 9.8%
    }

    /// Beijing retirees on a roster pay the 3 yuan mutual-aid amount and nothing else.
    #[test]
    fn beijing_retiree_pays_only_the_mutual_aid_amount() {
        let events = beijing_firm(&[("lao", PersonKind::Retiree)])
            .when(BEIJING.assess(month(2020, 3), &["lao"], day(2020, 3, 10)))
            .then_events();
        let line = &chunks(&events)[0].lines[0];
        assert_eq!(line.amounts.employer_total, yuan("0"));
        assert_eq!(line.amounts.individual, yuan("0"));
        assert_eq!(line.amounts.total, yuan("3.00")); // 3 yuan a month, retirees too
        assert_eq!(credited(&events[0], Account::MutualAidFund), yuan("3.00"));
    }

    /// Tianjin merged on 2019-06-01: 2019-05 credits the maternity fund, 2019-06 the
    /// pooled fund's maternity line; rates 10% + 0.5% are tagged [A].
    #[test]
    fn tianjin_merge_on_2019_06_01() {
        let scenario = TIANJIN
            .staffed(
                EmployerCategory::Enterprise,
                "7000",
                day(2019, 1, 2),
                &[("hu", PersonKind::Employee)],
            )
            .and(TIANJIN.declare(2019, &[("hu", Some("7000"))], day(2019, 1, 5)));
        let may = scenario
            .when(TIANJIN.assess(month(2019, 5), &["hu"], day(2019, 5, 10)))
            .then_events();
        let june = scenario
            .when(TIANJIN.assess(month(2019, 6), &["hu"], day(2019, 6, 10)))
            .then_events();
        let line = &chunks(&june)[0].lines[0];
        assert_eq!(line.amounts.employer_total, yuan("735.00")); // 7000 × (10% + 0.5%) = 735.00
        assert_eq!(line.amounts.maternity, yuan("35.00")); // 7000 × 0.5% = 35.00
        assert_eq!(line.amounts.total, yuan("875.00")); // 735.00 + 7000 × 2% = 735.00 + 140.00
        assert_eq!(credited(&may[0], Account::MaternityFund), yuan("35.00"));
        assert_eq!(
            credited(&june[0], Account::BmiPooledMaternity),
            yuan("35.00")
        );
    }

    /// Chongqing (rates [A] 8% + 0.5%, merge 2020-01-01 [A]) and Gansu 天水市 (its own
    /// [A] rates 6.5% + 0.6%, Gansu's merge date 2019-12-01 inherited).
    #[test]
    fn chongqing_and_tianshui_use_their_own_rates() {
        let events = CHONGQING
            .staffed(
                EmployerCategory::Enterprise,
                "8000",
                day(2019, 1, 2),
                &[("tang", PersonKind::Employee)],
            )
            .and(CHONGQING.declare(2019, &[("tang", Some("8000"))], day(2019, 1, 5)))
            .when(CHONGQING.assess(month(2019, 12), &["tang"], day(2019, 12, 10)))
            .then_events();
        let line = &chunks(&events)[0].lines[0];
        assert_eq!(line.amounts.employer_total, yuan("680.00")); // 8000 × 8.5% = 680.00
        assert_eq!(line.amounts.maternity, yuan("40.00")); // 8000 × 0.5% = 40.00
        assert_eq!(credited(&events[0], Account::MaternityFund), yuan("40.00")); // before 2020-01-01

        let events = TIANSHUI
            .staffed(
                EmployerCategory::Institution,
                "4800",
                day(2019, 1, 2),
                &[("bai", PersonKind::Employee)],
            )
            .and(TIANSHUI.declare(2019, &[("bai", Some("4800"))], day(2019, 1, 5)))
            .when(TIANSHUI.assess(month(2019, 12), &["bai"], day(2019, 12, 10)))
            .then_events();
        let line = &chunks(&events)[0].lines[0];
        assert_eq!(line.amounts.employer_total, yuan("340.80")); // 4800 × (6.5% + 0.6%) = 340.80
        assert_eq!(line.amounts.maternity, yuan("28.80")); // 4800 × 0.6% = 28.80
        assert_eq!(
            credited(&events[0], Account::BmiPooledMaternity),
            yuan("28.80")
        ); // merged 2019-12-01
    }

    /// Where a rule gives employer money to personal accounts (before 国办发〔2021〕14号),
    /// it is carved out of the employer BMI part; the pooled fund gets the rest.
    #[test]
    fn personal_account_share_is_carved_from_the_employer_bmi_part() {
        let events = CHONGQING
            .staffed(
                EmployerCategory::Enterprise,
                "8000",
                day(2020, 1, 2),
                &[("tang", PersonKind::Employee)],
            )
            .and(CHONGQING.declare(2020, &[("tang", Some("8000"))], day(2020, 1, 5)))
            .and(amend(
                "chongqing",
                "employer_personal_account_rate",
                "0.015",
                day(2020, 1, 1),
                day(2019, 12, 1),
                &[],
            ))
            .when(CHONGQING.assess(month(2020, 3), &["tang"], day(2020, 3, 10)))
            .then_events();
        let amounts = &chunks(&events)[0].lines[0].amounts;
        assert_eq!(amounts.employer_bmi, yuan("640.00")); // 8000 × 8.5% − 8000 × 0.5% = 680 − 40
        assert_eq!(amounts.employer_personal_account, yuan("120.00")); // 8000 × 1.5% = 120.00
        assert_eq!(amounts.employer_pooled, yuan("520.00")); // 640.00 − 120.00
        // personal accounts: 120.00 employer share + 8000 × 2% = 160.00 individual = 280.00
        assert_eq!(
            credited(&events[0], Account::PersonalAccounts),
            yuan("280.00")
        );
        assert_eq!(credited(&events[0], Account::BmiPooledFund), yuan("520.00"));
    }

    /// Beijing's declaration year runs July to June: 2021-06 uses the 2020 declaration,
    /// 2021-07 the 2021 one.
    #[test]
    fn beijing_declaration_year_starts_in_july() {
        let scenario = beijing_firm(&[("wang", PersonKind::Employee)])
            .and(BEIJING.declare(2020, &[("wang", Some("8000"))], day(2020, 7, 5)))
            .and(BEIJING.declare(2021, &[("wang", Some("9000"))], day(2021, 7, 5)));
        let june = scenario
            .when(BEIJING.assess(month(2021, 6), &["wang"], day(2021, 6, 10)))
            .then_events();
        assert_eq!(chunks(&june)[0].lines[0].base, yuan("8000"));
        let july = scenario
            .when(BEIJING.assess(month(2021, 7), &["wang"], day(2021, 7, 10)))
            .then_events();
        assert_eq!(chunks(&july)[0].lines[0].base, yuan("9000"));
    }
}
