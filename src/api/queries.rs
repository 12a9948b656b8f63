//! `QueryService`: the books as of a business date, as known at a log position or time.

use std::sync::Arc;

use jiff::civil::Date;
use tonic::{Request, Response, Status};

use super::access::{Right, authorize};
use super::commands::appended;
use super::convert;
use super::proto::{self, query_service_server::QueryService};
use super::status;
use crate::domain::event::{employer_stream, person_stream};
use crate::domain::{EmployerId, Month, PersonId, RegionId, State, Yuan};
use crate::projections::report::{self, RegionReport};
use crate::projections::{Books, Ledger, MonthLines, SumOverflow};

/// Serves the queries.
#[derive(Debug, Clone)]
pub struct Queries {
    ledger: Arc<Ledger>,
}

impl Queries {
    /// A service over `ledger`.
    pub fn new(ledger: Arc<Ledger>) -> Self {
        Queries { ledger }
    }
}

/// Today's date on the server (UTC): the default business date of a query.
fn today() -> Date {
    jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::now())
        .date()
}

/// The business date and the log position a query reads at.
fn resolve(ledger: &Ledger, when: Option<&proto::AsOf>) -> Result<(Date, u64), Status> {
    let Some(when) = when else {
        return Ok((today(), u64::MAX));
    };
    let as_of = if when.as_of_date.is_empty() {
        today()
    } else {
        convert::date("when.as_of_date", &when.as_of_date)?
    };
    let position = if when.known_at_position > 0 {
        when.known_at_position
    } else if !when.known_at_time.is_empty() {
        let time: jiff::Timestamp = when.known_at_time.parse().map_err(|_| {
            Status::invalid_argument(format!(
                "when.known_at_time: {} is not an RFC 3339 time",
                convert::shown(&when.known_at_time)
            ))
        })?;
        ledger.log().position_at(time).map_err(status::from_log)?
    } else {
        u64::MAX
    };
    Ok((as_of, position))
}

fn books_at(ledger: &Ledger, position: u64) -> Result<Arc<Books>, Status> {
    ledger
        .projector()
        .as_known(position)
        .map_err(status::from_projection)
}

fn known_region(books: &Books, region: &str) -> Result<RegionId, Status> {
    let region = RegionId::new(convert::id("region", region)?);
    if books.rulebook().region(&region).is_none() {
        return Err(Status::not_found(format!(
            "region: {region} is not a pooling region of this ledger"
        )));
    }
    Ok(region)
}

/// What the region queries read first: the business date, the books as known at the
/// asked position, and the region, which must be one of theirs.
fn region_books(
    ledger: &Ledger,
    when: Option<&proto::AsOf>,
    region: &str,
) -> Result<(Date, Arc<Books>, RegionId), Status> {
    let (as_of, position) = resolve(ledger, when)?;
    let books = books_at(ledger, position)?;
    let region = known_region(&books, region)?;
    books.undamaged(&region).map_err(|damaged| {
        Status::data_loss(format!(
            "region: {damaged}; they answer no figures until the log is mended and the books \
             rebuilt (other regions answer)"
        ))
    })?;
    Ok((as_of, books, region))
}

fn month_lines(month: String, lines: &MonthLines) -> proto::MonthLines {
    proto::MonthLines {
        month,
        bmi_income: lines.bmi_income.to_string(),
        bmi_income_maternity: lines.bmi_income_maternity.to_string(),
        maternity_income_item: lines.maternity_income_item.to_string(),
        maternity_fund_income: lines.maternity_fund_income.to_string(),
        personal_account_income: lines.personal_account_income.to_string(),
        mutual_aid_income: lines.mutual_aid_income.to_string(),
        bmi_expenditure: lines.bmi_expenditure.to_string(),
        maternity_expenditure: lines.maternity_expenditure.to_string(),
        maternity_fund_expenditure: lines.maternity_fund_expenditure.to_string(),
        maternity_medical: lines.maternity_medical.to_string(),
        maternity_medical_person_times: lines.maternity_medical_person_times,
        allowance: lines.allowance.to_string(),
        allowance_person_times: lines.allowance_person_times,
        collected: lines.collected.to_string(),
        maternity_balance_transferred: lines.maternity_balance_transferred.to_string(),
    }
}

/// The wire form of a region report.
pub fn region_report(report: RegionReport) -> proto::RegionReport {
    proto::RegionReport {
        region: report.region,
        as_of_date: report.as_of.to_string(),
        known_at_position: report.known_at_position,
        balances: report
            .balances
            .into_iter()
            .map(|line| proto::BalanceLine {
                account: line.account.to_owned(),
                debits: line.debits.to_string(),
                credits: line.credits.to_string(),
                balance: line.balance.to_string(),
            })
            .collect(),
        lines: Some(month_lines(
            format!("through {}", Month::of(report.as_of)),
            &report.lines,
        )),
        statistics: Some(proto::Statistics {
            insured_bmi: report.statistics.insured_bmi,
            insured_maternity: report.statistics.insured_maternity,
            benefit_person_times: report.statistics.benefit_person_times,
            maternity_medical_person_times: report.statistics.maternity_medical_person_times,
            allowance_person_times: report.statistics.allowance_person_times,
        }),
        risk: Some(proto::Risk {
            pooled_fund_balance: report.risk.pooled_fund_balance.to_string(),
            average_monthly_expenditure: report.risk.average_monthly_expenditure.to_string(),
            months_of_cover: report
                .risk
                .months_of_cover
                .map(|months| months.to_string())
                .unwrap_or_default(),
            band: report.risk.band,
        }),
    }
}

/// Folds a stream's events up to `position` into a fresh state; returns them too.
fn load_stream(
    ledger: &Ledger,
    stream: &str,
    position: u64,
) -> Result<(State, Vec<proto::AppendedEvent>, u64), Status> {
    let mut state = State::new();
    let mut events = Vec::new();
    let last = ledger
        .load_stream_until(&mut state, stream, position, &mut |envelope, event| {
            events.push(appended(envelope, event));
        })
        .map_err(status::from_execute)?;
    Ok((state, events, last))
}

impl Queries {
    /// Answers `message` on a blocking thread (reads touch sled and fold streams), with the
    /// ledger at hand.
    async fn answer<M: Send + 'static, T: Send + 'static>(
        &self,
        message: M,
        work: impl FnOnce(&Ledger, M) -> Result<T, Status> + Send + 'static,
    ) -> Result<Response<T>, Status> {
        let ledger = Arc::clone(&self.ledger);
        tokio::task::spawn_blocking(move || work(&ledger, message))
            .await
            .map_err(|error| Status::internal(format!("query task failed: {error}")))?
            .map(Response::new)
    }
}

#[tonic::async_trait]
impl QueryService for Queries {
    #[tracing::instrument(skip_all, fields(region = %request.get_ref().region))]
    async fn get_region_report(
        &self,
        request: Request<proto::RegionReportRequest>,
    ) -> Result<Response<proto::RegionReport>, Status> {
        authorize(&request, Right::ReadBooks)?;
        self.answer(request.into_inner(), |ledger, message| {
            let (as_of, books, region) =
                region_books(ledger, message.when.as_ref(), &message.region)?;
            let report = report::region_report(&books, &books.rulebook(), &region, as_of)
                .map_err(status::from_sum_overflow)?;
            Ok(region_report(report))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(region = %request.get_ref().region))]
    async fn get_month_lines(
        &self,
        request: Request<proto::MonthLinesRequest>,
    ) -> Result<Response<proto::MonthLinesReply>, Status> {
        authorize(&request, Right::ReadBooks)?;
        self.answer(request.into_inner(), |ledger, message| {
            let from = convert::month("from_month", &message.from_month)?;
            let to = convert::month("to_month", &message.to_month)?;
            if to < from {
                return Err(Status::invalid_argument(format!(
                    "to_month: {to} is before from_month {from}"
                )));
            }
            let (_, books, region) = region_books(ledger, message.when.as_ref(), &message.region)?;
            let rules = books.rulebook();
            let months = books
                .region(&region)
                .map(|region_books| {
                    region_books
                        .classified_months(&region, &rules, from, to)
                        .iter()
                        .map(|(month, lines)| month_lines(month.to_string(), lines))
                        .collect()
                })
                .unwrap_or_default();
            Ok(proto::MonthLinesReply {
                months,
                known_at_position: books.position(),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(person = %request.get_ref().person_id))]
    async fn get_person(
        &self,
        request: Request<proto::PersonRequest>,
    ) -> Result<Response<proto::PersonReply>, Status> {
        authorize(&request, Right::ReadPerson)?;
        self.answer(request.into_inner(), |ledger, message| {
            let person = PersonId::new(convert::id("person_id", &message.person_id)?);
            let (as_of, position) = resolve(ledger, message.when.as_ref())?;
            let (state, events, last) = load_stream(ledger, &person_stream(&person), position)?;
            let found = state
                .persons
                .get(&person)
                .ok_or_else(|| Status::not_found(format!("person_id: {person} is not enrolled")))?;
            let (status, since) = found
                .status_on(as_of)
                .map(|(status, since)| (format!("{status:?}").to_lowercase(), since.to_string()))
                .unwrap_or_else(|| ("not yet enrolled".to_owned(), String::new()));
            Ok(proto::PersonReply {
                person_id: person.to_string(),
                region: found.region.to_string(),
                employer_id: found
                    .employer
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                kind: format!("{:?}", found.kind),
                enrolled_on: found.enrolled_on.to_string(),
                insurance: found
                    .insurance
                    .iter()
                    .map(|kind| format!("{kind:?}"))
                    .collect(),
                status,
                status_since: since,
                events,
                known_at_position: last,
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(employer = %request.get_ref().employer_id))]
    async fn get_employer_arrears(
        &self,
        request: Request<proto::EmployerRequest>,
    ) -> Result<Response<proto::EmployerArrearsReply>, Status> {
        let caller = authorize(&request, Right::ReadEmployer)?;
        caller.require_employer(&request.get_ref().employer_id)?;
        self.answer(request.into_inner(), |ledger, message| {
            let employer = EmployerId::new(convert::id("employer_id", &message.employer_id)?);
            let (as_of, position) = resolve(ledger, message.when.as_ref())?;
            let (state, _, last) = load_stream(ledger, &employer_stream(&employer), position)?;
            let found = state.employers.get(&employer).ok_or_else(|| {
                Status::not_found(format!("employer_id: {employer} is not registered"))
            })?;
            let mut total = Yuan::ZERO;
            let mut months = Vec::new();
            for (month, account) in found.months.range(..=Month::of(as_of)) {
                total = total
                    .checked_add(account.arrears())
                    .map_err(|_| status::from_sum_overflow(SumOverflow::of("total_arrears")))?;
                months.push(proto::EmployerMonth {
                    month: month.to_string(),
                    assessed: account.assessed.to_string(),
                    collected: account.collected.to_string(),
                    back_paid: account.back_paid.to_string(),
                    arrears: account.arrears().to_string(),
                });
            }
            Ok(proto::EmployerArrearsReply {
                employer_id: employer.to_string(),
                region: found.region.to_string(),
                name: found.name.clone(),
                months,
                total_arrears: total.to_string(),
                known_at_position: last,
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(region = %request.get_ref().region))]
    async fn get_rulebook(
        &self,
        request: Request<proto::RulebookRequest>,
    ) -> Result<Response<proto::RulebookReply>, Status> {
        authorize(&request, Right::ReadRules)?;
        self.answer(request.into_inner(), |ledger, message| {
            let (as_of, books, region) =
                region_books(ledger, message.when.as_ref(), &message.region)?;
            let rules = books.rulebook();
            let in_force = books
                .rule_parameters()
                .into_iter()
                .filter_map(|parameter| rules.find(&region, parameter, as_of))
                .map(|applied| proto::RuleInForce {
                    parameter: applied.parameter,
                    value: applied.value,
                    found_in: applied.found_in.to_string(),
                    effective_from: applied.effective_from.to_string(),
                    document: applied.document,
                })
                .collect();
            Ok(proto::RulebookReply {
                region: region.to_string(),
                as_of_date: as_of.to_string(),
                rules: in_force,
            })
        })
        .await
    }
}
