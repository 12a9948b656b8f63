//! `fundledger demo`: the five canonical scenarios sent over gRPC to a temporary server,
//! then each region's report as of its key dates.
//!
//! The demo is a real client: it converts every domain command of
//! [`canonical`](crate::domain::scenarios::canonical) into its wire request and calls the
//! generated `CommandServiceClient` over a loopback channel, so what it prints is what any
//! caller in any language would see. It owns no figures: every number comes back from
//! `QueryService.GetRegionReport`.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use jiff::civil::Date;
use tonic::transport::Channel;

use crate::api::client as wire;
use crate::api::client::{CommandServiceClient, QueryServiceClient};
use crate::api::{ServerConfig, serve_with_shutdown};
use crate::domain::command::{
    AmendRule, CollectContribution, DeclareBases, Enroll, MigrateEnrollments, PayAllowance,
    RegisterEmployer, SettleClearance, SettleMedicalClaim, SuspendEnrollment,
};
use crate::domain::scenarios::{Scenario, canonical};
use crate::domain::{
    ClaimKind, Command, Confidence, Delivery, EmployerCategory, EmployerId, HospitalLevel, Month,
    PersonId, PersonKind, RegionId, Yuan,
};
use crate::log::{Log, LogConfig};
use crate::projections::Ledger;

/// Arguments of `fundledger demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the store in this directory instead of a temporary one (removed afterwards).
    /// A store that already holds the scenarios answers every command as a replay.
    #[arg(long)]
    data: Option<PathBuf>,
}

/// Runs the demo on its own runtime.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(demo(args))
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let (path, temporary) = match args.data {
        Some(path) => (path, None),
        None => {
            let directory = tempfile::tempdir().context("creating a temporary data directory")?;
            (directory.path().to_path_buf(), Some(directory))
        }
    };
    let server = DemoServer::start(&path).await?;
    let kept = if temporary.is_some() {
        "removed afterwards"
    } else {
        "kept"
    };
    println!(
        "demo: server on {} with local trust; store in {} ({kept})",
        server.address,
        path.display()
    );
    let outcome = walk(server.endpoint()).await;
    server.stop().await?;
    if let Some(directory) = temporary {
        directory
            .close()
            .context("removing the temporary data directory")?;
    }
    outcome
}

/// A server on loopback with local trust, stopped by [`DemoServer::stop`].
struct DemoServer {
    log: Arc<Log>,
    address: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), crate::api::ServeError>>,
}

impl DemoServer {
    async fn start(path: &Path) -> anyhow::Result<DemoServer> {
        let log = Log::open(&LogConfig::new(path))
            .with_context(|| format!("opening the log in {}", path.display()))?;
        let log = Arc::new(log);
        let opened = Arc::clone(&log);
        let projections = path.join(super::serve::PROJECTIONS_DIRECTORY);
        let ledger = tokio::task::spawn_blocking(move || Ledger::open(opened, &projections))
            .await?
            .context("opening the books")?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = ServerConfig {
            ledger: Some(Arc::new(ledger)),
            ..ServerConfig::default()
        };
        let task = tokio::spawn(serve_with_shutdown(
            Arc::clone(&log),
            listener,
            config,
            async {
                let _ = stopped.await;
            },
        ));
        Ok(DemoServer {
            log,
            address,
            stop,
            task,
        })
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops serving, waits for the server, then drains and fsyncs the log.
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await??;
        self.log.shutdown()?;
        Ok(())
    }
}

/// Sends every scenario's steps, then prints the reports; fails if any step was refused.
async fn walk(endpoint: String) -> anyhow::Result<()> {
    let channel = Channel::from_shared(endpoint)?.connect().await?;
    let mut commands = CommandServiceClient::new(channel.clone());
    let mut queries = QueryServiceClient::new(channel);
    let scenarios = canonical();
    let mut refused = 0_usize;
    let mut positions = Vec::with_capacity(scenarios.len());
    for scenario in &scenarios {
        println!();
        println!("== {}: {}", scenario.region, scenario.title);
        let sent = send_steps(&mut commands, scenario).await;
        refused += sent.iter().filter(|range| range.is_none()).count();
        positions.push(sent);
    }
    println!();
    println!("== reports: each region as of its key dates, as the books stand now");
    for (scenario, sent) in scenarios.iter().zip(&positions) {
        for as_of in &scenario.report_dates {
            let report =
                region_report(&mut queries, &scenario.region, &as_of.to_string(), 0).await?;
            println!();
            print!("{}", render(&report));
        }
        known_at_contrast(&mut queries, scenario, sent).await?;
    }
    if refused > 0 {
        anyhow::bail!("{refused} canonical steps were refused");
    }
    Ok(())
}

/// Sends a scenario's steps in order, printing one line each; returns the positions each
/// step's events occupy (`None` for a refusal).
async fn send_steps(
    commands: &mut CommandServiceClient<Channel>,
    scenario: &Scenario,
) -> Vec<Option<RangeInclusive<u64>>> {
    let mut positions = Vec::with_capacity(scenario.steps.len());
    for step in &scenario.steps {
        let header = Some(wire::CommandHeader {
            command_id: step.command_id.clone(),
            expected: Vec::new(),
        });
        let prefix = format!("{}  {}", scenario.region, step.command_id);
        match send(commands, request(header, &step.command)).await {
            Ok(reply) => {
                let reply = reply.into_inner();
                let range = match (reply.events.first(), reply.events.last()) {
                    (Some(first), Some(last)) => first.position..=last.position,
                    _ => RangeInclusive::new(1, 0),
                };
                let replayed = if reply.replayed { " (replayed)" } else { "" };
                let events = match reply.events.len() {
                    0 => "no events".to_owned(),
                    1 => format!("1 event at position {}", range.start()),
                    count => format!(
                        "{count} events at positions {}..{}",
                        range.start(),
                        range.end()
                    ),
                };
                println!("{prefix}  -> {events}{replayed}");
                positions.push(Some(range));
            }
            Err(status) => {
                println!(
                    "{prefix}  -> refused: {:?}: {}",
                    status.code(),
                    status.message()
                );
                positions.push(None);
            }
        }
    }
    positions
}

/// A command in its wire form: the request, tagged with the RPC that carries it.
enum Request {
    RegisterEmployer(wire::RegisterEmployerRequest),
    Enroll(wire::EnrollRequest),
    MigrateEnrollments(wire::MigrateEnrollmentsRequest),
    SuspendEnrollment(wire::EnrollmentStatusRequest),
    ResumeEnrollment(wire::EnrollmentStatusRequest),
    TerminateEnrollment(wire::EnrollmentStatusRequest),
    DeclareBases(wire::DeclareBasesRequest),
    AssessContributions(wire::AssessContributionsRequest),
    CollectContribution(wire::CollectContributionRequest),
    BackPayContributions(wire::AssessContributionsRequest),
    AmendRule(wire::AmendRuleRequest),
    SettleClearance(wire::SettleClearanceRequest),
    TransferMaternityBalance(wire::TransferMaternityBalanceRequest),
    CloseMaternityFund(wire::CloseMaternityFundRequest),
    SettleMedicalClaim(wire::SettleMedicalClaimRequest),
    PayAllowance(wire::PayAllowanceRequest),
}

/// Calls the RPC that carries the request.
async fn send(
    commands: &mut CommandServiceClient<Channel>,
    request: Request,
) -> Result<tonic::Response<wire::CommandReply>, tonic::Status> {
    match request {
        Request::RegisterEmployer(request) => commands.register_employer(request).await,
        Request::Enroll(request) => commands.enroll(request).await,
        Request::MigrateEnrollments(request) => commands.migrate_enrollments(request).await,
        Request::SuspendEnrollment(request) => commands.suspend_enrollment(request).await,
        Request::ResumeEnrollment(request) => commands.resume_enrollment(request).await,
        Request::TerminateEnrollment(request) => commands.terminate_enrollment(request).await,
        Request::DeclareBases(request) => commands.declare_bases(request).await,
        Request::AssessContributions(request) => commands.assess_contributions(request).await,
        Request::CollectContribution(request) => commands.collect_contribution(request).await,
        Request::BackPayContributions(request) => commands.back_pay_contributions(request).await,
        Request::AmendRule(request) => commands.amend_rule(request).await,
        Request::SettleClearance(request) => commands.settle_clearance(request).await,
        Request::TransferMaternityBalance(request) => {
            commands.transfer_maternity_balance(request).await
        }
        Request::CloseMaternityFund(request) => commands.close_maternity_fund(request).await,
        Request::SettleMedicalClaim(request) => commands.settle_medical_claim(request).await,
        Request::PayAllowance(request) => commands.pay_allowance(request).await,
    }
}

/// The wire request of a domain command: the reverse of the server's strict conversion.
fn request(header: Option<wire::CommandHeader>, command: &Command) -> Request {
    match command {
        Command::RegisterEmployer(inner) => Request::RegisterEmployer(register(header, inner)),
        Command::Enroll(inner) => Request::Enroll(enroll(header, inner)),
        Command::MigrateEnrollments(inner) => Request::MigrateEnrollments(migrate(header, inner)),
        Command::SuspendEnrollment(inner) => Request::SuspendEnrollment(suspend(header, inner)),
        Command::ResumeEnrollment(inner) => Request::ResumeEnrollment(enrollment_status(
            header,
            &inner.person,
            inner.on,
            &inner.reason,
        )),
        Command::TerminateEnrollment(inner) => Request::TerminateEnrollment(enrollment_status(
            header,
            &inner.person,
            inner.on,
            &inner.reason,
        )),
        Command::DeclareBases(inner) => Request::DeclareBases(declare(header, inner)),
        Command::AssessContributions(inner) => Request::AssessContributions(roster(
            header,
            &inner.employer,
            &inner.region,
            inner.month,
            &inner.persons,
            inner.booked_on,
        )),
        Command::CollectContribution(inner) => Request::CollectContribution(collect(header, inner)),
        Command::BackPayContributions(inner) => Request::BackPayContributions(roster(
            header,
            &inner.employer,
            &inner.region,
            inner.month,
            &inner.persons,
            inner.booked_on,
        )),
        Command::AmendRule(inner) => Request::AmendRule(amend_rule(header, inner)),
        Command::SettleClearance(inner) => Request::SettleClearance(clearance(header, inner)),
        Command::TransferMaternityBalance(inner) => {
            Request::TransferMaternityBalance(wire::TransferMaternityBalanceRequest {
                header,
                region: inner.region.to_string(),
                transferred_on: inner.transferred_on.to_string(),
            })
        }
        Command::CloseMaternityFund(inner) => {
            Request::CloseMaternityFund(wire::CloseMaternityFundRequest {
                header,
                region: inner.region.to_string(),
                closed_on: inner.closed_on.to_string(),
            })
        }
        Command::SettleMedicalClaim(inner) => Request::SettleMedicalClaim(claim(header, inner)),
        Command::PayAllowance(inner) => Request::PayAllowance(allowance(header, inner)),
    }
}

fn register(
    header: Option<wire::CommandHeader>,
    inner: &RegisterEmployer,
) -> wire::RegisterEmployerRequest {
    wire::RegisterEmployerRequest {
        header,
        employer_id: inner.employer.to_string(),
        region: inner.region.to_string(),
        category: category(inner.category) as i32,
        name: inner.name.clone(),
        registered_on: inner.registered_on.to_string(),
        average_monthly_wage: inner.average_monthly_wage.to_string(),
    }
}

fn enroll(header: Option<wire::CommandHeader>, inner: &Enroll) -> wire::EnrollRequest {
    wire::EnrollRequest {
        header,
        person_id: inner.person.to_string(),
        region: inner.region.to_string(),
        // Empty for a flexible worker, as the proto documents.
        employer_id: inner
            .employer
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        kind: person_kind(inner.kind) as i32,
        enrolled_on: inner.enrolled_on.to_string(),
    }
}

fn migrate(
    header: Option<wire::CommandHeader>,
    inner: &MigrateEnrollments,
) -> wire::MigrateEnrollmentsRequest {
    wire::MigrateEnrollmentsRequest {
        header,
        region: inner.region.to_string(),
        agency: inner.agency.clone(),
        migrated_on: inner.migrated_on.to_string(),
        records: inner
            .records
            .iter()
            .map(|record| wire::MigrationRecord {
                person_id: record.person.to_string(),
                employer_id: record.employer.to_string(),
                held_bmi: record.held_bmi,
                held_maternity: record.held_maternity,
                insured_since: record.insured_since.to_string(),
            })
            .collect(),
    }
}

fn suspend(
    header: Option<wire::CommandHeader>,
    inner: &SuspendEnrollment,
) -> wire::EnrollmentStatusRequest {
    wire::EnrollmentStatusRequest {
        region: inner.region.to_string(),
        ..enrollment_status(header, &inner.person, inner.on, &inner.reason)
    }
}

/// A resume or terminate request; they carry no region.
fn enrollment_status(
    header: Option<wire::CommandHeader>,
    person: &PersonId,
    on: Date,
    reason: &str,
) -> wire::EnrollmentStatusRequest {
    wire::EnrollmentStatusRequest {
        header,
        person_id: person.to_string(),
        on: on.to_string(),
        reason: reason.to_owned(),
        region: String::new(),
    }
}

fn declare(header: Option<wire::CommandHeader>, inner: &DeclareBases) -> wire::DeclareBasesRequest {
    wire::DeclareBasesRequest {
        header,
        employer_id: inner.employer.to_string(),
        region: inner.region.to_string(),
        year: i32::from(inner.year),
        lines: inner
            .lines
            .iter()
            .map(|line| wire::DeclaredWage {
                person_id: line.person.to_string(),
                wage: optional_yuan(line.wage),
            })
            .collect(),
        employer_average_monthly_wage: optional_yuan(inner.employer_average_monthly_wage),
        declared_on: inner.declared_on.to_string(),
    }
}

/// An assessment or a back-payment: one employer-month for a roster.
fn roster(
    header: Option<wire::CommandHeader>,
    employer: &EmployerId,
    region: &RegionId,
    month: Month,
    persons: &[PersonId],
    booked_on: Date,
) -> wire::AssessContributionsRequest {
    wire::AssessContributionsRequest {
        header,
        employer_id: employer.to_string(),
        region: region.to_string(),
        month: month.to_string(),
        person_ids: persons.iter().map(ToString::to_string).collect(),
        booked_on: booked_on.to_string(),
    }
}

fn collect(
    header: Option<wire::CommandHeader>,
    inner: &CollectContribution,
) -> wire::CollectContributionRequest {
    wire::CollectContributionRequest {
        header,
        employer_id: inner.employer.to_string(),
        month: inner.month.to_string(),
        amount: inner.amount.to_string(),
        received_on: inner.received_on.to_string(),
        reference: inner.reference.clone(),
    }
}

fn amend_rule(header: Option<wire::CommandHeader>, inner: &AmendRule) -> wire::AmendRuleRequest {
    let tag = match inner.tag {
        Confidence::Confirmed => "C",
        Confidence::Secondary => "S",
        Confidence::Assumption => "A",
    };
    wire::AmendRuleRequest {
        header,
        region: inner.region.to_string(),
        parameter: inner.parameter.clone(),
        value: inner.value.clone(),
        effective_from: inner.effective_from.to_string(),
        authority: inner.authority.clone(),
        document: inner.document.clone(),
        tag: tag.to_owned(),
        recorded_on: inner.recorded_on.to_string(),
        reassess: inner
            .reassess
            .iter()
            .map(|target| wire::EmployerRef {
                employer_id: target.employer.to_string(),
                region: target.region.to_string(),
            })
            .collect(),
    }
}

fn clearance(
    header: Option<wire::CommandHeader>,
    inner: &SettleClearance,
) -> wire::SettleClearanceRequest {
    wire::SettleClearanceRequest {
        header,
        region: inner.region.to_string(),
        cutoff: inner.cutoff.to_string(),
        settled_on: inner.settled_on.to_string(),
        verified_by: inner.verified_by.clone(),
    }
}

fn claim(
    header: Option<wire::CommandHeader>,
    inner: &SettleMedicalClaim,
) -> wire::SettleMedicalClaimRequest {
    let (kind, delivery, level) = match &inner.kind {
        ClaimKind::Delivery {
            delivery, level, ..
        } => (
            wire::ClaimKind::Delivery,
            delivery_kind(*delivery),
            hospital_level(*level),
        ),
        ClaimKind::Prenatal { .. } => (
            wire::ClaimKind::Prenatal,
            wire::Delivery::Unspecified,
            wire::HospitalLevel::Unspecified,
        ),
    };
    wire::SettleMedicalClaimRequest {
        header,
        claim_id: inner.claim.to_string(),
        person_id: inner.person.to_string(),
        region: inner.region.to_string(),
        institution: inner.institution.clone(),
        kind: kind as i32,
        pregnancy_id: inner.kind.pregnancy().to_string(),
        delivery: delivery as i32,
        level: level as i32,
        service_date: inner.service_date.to_string(),
        settled_on: inner.settled_on.to_string(),
        actual: inner.actual.to_string(),
    }
}

fn allowance(
    header: Option<wire::CommandHeader>,
    inner: &PayAllowance,
) -> wire::PayAllowanceRequest {
    let birth = &inner.birth;
    wire::PayAllowanceRequest {
        header,
        person_id: inner.person.to_string(),
        employer_id: inner.employer.to_string(),
        region: inner.region.to_string(),
        birth_id: birth.id.to_string(),
        birth_date: birth.date.to_string(),
        delivery: delivery_kind(birth.delivery) as i32,
        difficult: birth.difficult,
        babies: u32::from(birth.babies),
        granted_on: inner.granted_on.to_string(),
        // 0 on the wire means "not a miscarriage".
        miscarriage_months: birth.miscarriage_months.map(u32::from).unwrap_or(0),
        // Empty on the wire means "no override".
        override_reason: inner.override_reason.clone().unwrap_or_default(),
    }
}

/// Empty on the wire when absent, as the proto documents.
fn optional_yuan(amount: Option<Yuan>) -> String {
    amount.map(|amount| amount.to_string()).unwrap_or_default()
}

fn category(category: EmployerCategory) -> wire::EmployerCategory {
    match category {
        EmployerCategory::Agency => wire::EmployerCategory::Agency,
        EmployerCategory::Institution => wire::EmployerCategory::Institution,
        EmployerCategory::SelfFundedInstitution => wire::EmployerCategory::SelfFundedInstitution,
        EmployerCategory::Enterprise => wire::EmployerCategory::Enterprise,
        EmployerCategory::IndividualBusiness => wire::EmployerCategory::IndividualBusiness,
        EmployerCategory::PrivateNonEnterprise => wire::EmployerCategory::PrivateNonEnterprise,
        EmployerCategory::SocialOrganisation => wire::EmployerCategory::SocialOrganisation,
    }
}

fn person_kind(kind: PersonKind) -> wire::PersonKind {
    match kind {
        PersonKind::Employee => wire::PersonKind::Employee,
        PersonKind::FlexibleWorker => wire::PersonKind::FlexibleWorker,
        PersonKind::Retiree => wire::PersonKind::Retiree,
        PersonKind::EarlyRetiree => wire::PersonKind::EarlyRetiree,
    }
}

fn delivery_kind(delivery: Delivery) -> wire::Delivery {
    match delivery {
        Delivery::Vaginal => wire::Delivery::Vaginal,
        Delivery::Caesarean => wire::Delivery::Caesarean,
    }
}

fn hospital_level(level: HospitalLevel) -> wire::HospitalLevel {
    match level {
        HospitalLevel::Primary => wire::HospitalLevel::Primary,
        HospitalLevel::Secondary => wire::HospitalLevel::Secondary,
        HospitalLevel::Tertiary => wire::HospitalLevel::Tertiary,
    }
}

/// `QueryService.GetRegionReport` as of a date, as known at a position (0: now).
async fn region_report(
    queries: &mut QueryServiceClient<Channel>,
    region: &RegionId,
    as_of: &str,
    known_at_position: u64,
) -> anyhow::Result<wire::RegionReport> {
    let request = wire::RegionReportRequest {
        region: region.to_string(),
        when: Some(wire::AsOf {
            as_of_date: as_of.to_owned(),
            known_at_position,
            known_at_time: String::new(),
        }),
    };
    let reply = queries
        .get_region_report(request)
        .await
        .with_context(|| format!("the report of {region} as of {as_of}"))?;
    Ok(reply.into_inner())
}

/// A region report as text: balances, the income and expenditure lines, statistics, risk.
fn render(report: &wire::RegionReport) -> String {
    let mut text = vec![format!(
        "-- {} as of {} (books as known at position {})",
        report.region, report.as_of_date, report.known_at_position
    )];
    text.push(format!(
        "   {:<26} {:>14} {:>14} {:>14}",
        "account", "debits", "credits", "balance"
    ));
    for line in &report.balances {
        text.push(format!(
            "   {:<26} {:>14} {:>14} {:>14}",
            line.account, line.debits, line.credits, line.balance
        ));
    }
    let lines = report.lines.clone().unwrap_or_default();
    text.push(format!("   income and expenditure, {}", lines.month));
    let figure = |label: &str, amount: &str| format!("     {label:<34} {amount:>14}");
    let times = |label: &str, amount: &str, count: u64| {
        format!("     {label:<34} {amount:>14}  {count} person-times")
    };
    text.extend([
        figure("BMI income (incl. maternity)", &lines.bmi_income),
        figure("  of which maternity", &lines.bmi_income_maternity),
        figure("maternity income item", &lines.maternity_income_item),
        figure("maternity fund income", &lines.maternity_fund_income),
        figure("personal accounts income", &lines.personal_account_income),
        figure("mutual-aid fund income", &lines.mutual_aid_income),
        figure("BMI expenditure", &lines.bmi_expenditure),
        figure("  of which maternity", &lines.maternity_expenditure),
        figure(
            "maternity fund expenditure",
            &lines.maternity_fund_expenditure,
        ),
        times(
            "  maternity medical",
            &lines.maternity_medical,
            lines.maternity_medical_person_times,
        ),
        times(
            "  allowance",
            &lines.allowance,
            lines.allowance_person_times,
        ),
        figure("collected", &lines.collected),
        figure(
            "maternity balance transferred",
            &lines.maternity_balance_transferred,
        ),
    ]);
    text.push(statistics(&report.statistics.unwrap_or_default()));
    text.push(risk(&report.risk.clone().unwrap_or_default()));
    text.push(String::new());
    text.join("\n")
}

fn statistics(statistics: &wire::Statistics) -> String {
    format!(
        "   statistics: insured BMI {}, maternity {}; benefits {} person-times \
         (maternity medical {}, allowance {})",
        statistics.insured_bmi,
        statistics.insured_maternity,
        statistics.benefit_person_times,
        statistics.maternity_medical_person_times,
        statistics.allowance_person_times,
    )
}

fn risk(risk: &wire::Risk) -> String {
    let cover = if risk.months_of_cover.is_empty() {
        "no expenditure in the last 12 months".to_owned()
    } else {
        format!("{} months of cover", risk.months_of_cover)
    };
    format!(
        "   risk: pooled fund {}, average monthly expenditure {}, {cover}: band {}",
        risk.pooled_fund_balance, risk.average_monthly_expenditure, risk.band
    )
}

/// For the scenario's first back-payment: the arrears month's report as known just before
/// the back-payment was recorded, against the report as known now (the log's head).
async fn known_at_contrast(
    queries: &mut QueryServiceClient<Channel>,
    scenario: &Scenario,
    sent: &[Option<RangeInclusive<u64>>],
) -> anyhow::Result<()> {
    let found =
        scenario
            .steps
            .iter()
            .zip(sent)
            .find_map(|(step, range)| match (&step.command, range) {
                (Command::BackPayContributions(back_pay), Some(range)) => {
                    Some((step, back_pay.month, *range.start()))
                }
                _ => None,
            });
    // Position 0 asks for "now"; the genesis events make a back-payment's position > 1.
    let Some((step, month, first)) = found.filter(|(_, _, first)| *first > 1) else {
        return Ok(());
    };
    let as_of = month.last_day().to_string();
    let before = region_report(queries, &scenario.region, &as_of, first - 1).await?;
    let now = region_report(queries, &scenario.region, &as_of, 0).await?;
    println!();
    println!();
    print!("{}", render_contrast(&step.command_id, &before, &now));
    Ok(())
}

/// Two reports of one date side by side: as known at an earlier position, and later.
fn render_contrast(
    command_id: &str,
    before: &wire::RegionReport,
    now: &wire::RegionReport,
) -> String {
    let mut text = vec![format!(
        "-- {} as of {}: as known at position {} (before {command_id}) -> as known now \
         (position {})",
        before.region, before.as_of_date, before.known_at_position, now.known_at_position
    )];
    for ((label, earlier), (_, later)) in contrast_figures(before)
        .into_iter()
        .zip(contrast_figures(now))
    {
        text.push(format!("     {label:<34} {earlier:>14} -> {later}"));
    }
    text.push(String::new());
    text.join("\n")
}

/// The figures a late fact can move, labelled.
fn contrast_figures(report: &wire::RegionReport) -> [(&'static str, String); 6] {
    let lines = report.lines.clone().unwrap_or_default();
    let risk = report.risk.clone().unwrap_or_default();
    [
        ("BMI income (incl. maternity)", lines.bmi_income),
        ("  of which maternity", lines.bmi_income_maternity),
        ("personal accounts income", lines.personal_account_income),
        ("fund bank balance", balance(report, "fund_bank")),
        ("pooled fund balance", risk.pooled_fund_balance),
        ("risk band", risk.band),
    ]
}

/// An account's balance in a report.
fn balance(report: &wire::RegionReport, account: &str) -> String {
    report
        .balances
        .iter()
        .find(|line| line.account == account)
        .map(|line| line.balance.clone())
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test
mod tests {
    use super::*;
    use crate::domain::command::{ResumeEnrollment, TerminateEnrollment};

    fn event_types(reply: &wire::CommandReply) -> Vec<&str> {
        reply
            .events
            .iter()
            .map(|event| event.event_type.as_str())
            .collect()
    }

    /// The commands no canonical scenario sends (resume, terminate, amend a rule) convert
    /// to requests the server's strict conversion accepts, each appending its event.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commands_outside_the_scenarios_convert_to_requests_the_server_accepts() {
        let directory = tempfile::tempdir().unwrap();
        let server = DemoServer::start(directory.path()).await.unwrap();
        let channel = Channel::from_shared(server.endpoint())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut commands = CommandServiceClient::new(channel);
        let kizilsu = canonical()
            .into_iter()
            .find(|scenario| scenario.region.as_str() == "kizilsu")
            .unwrap();
        let sent = send_steps(&mut commands, &kizilsu).await;
        assert!(
            sent.iter().all(Option::is_some),
            "Kizilsu's steps are accepted"
        );
        let region = RegionId::new("kizilsu");
        let extra: [(Command, &str); 3] = [
            // kz-gulnar was suspended on 2020-04-10 by the scenario's last step.
            (
                ResumeEnrollment {
                    person: PersonId::new("kz-gulnar"),
                    on: jiff::civil::date(2020, 7, 1),
                    reason: "复工".to_owned(),
                }
                .into(),
                "EnrollmentResumed",
            ),
            (
                TerminateEnrollment {
                    person: PersonId::new("kz-ayi"),
                    on: jiff::civil::date(2020, 8, 1),
                    reason: "调离".to_owned(),
                }
                .into(),
                "EnrollmentTerminated",
            ),
            (
                AmendRule {
                    region: region.clone(),
                    parameter: "employer_bmi_rate".to_owned(),
                    value: "0.075".to_owned(),
                    effective_from: jiff::civil::date(2021, 1, 1),
                    authority: "克孜勒苏柯尔克孜自治州人民政府".to_owned(),
                    document: "示例文件".to_owned(),
                    tag: Confidence::Assumption,
                    recorded_on: jiff::civil::date(2020, 12, 28),
                    reassess: Vec::new(),
                }
                .into(),
                "RuleAmended",
            ),
        ];
        for (index, (command, event_type)) in extra.iter().enumerate() {
            let header = Some(wire::CommandHeader {
                command_id: format!("kizilsu-extra-{index}"),
                expected: Vec::new(),
            });
            let reply = send(&mut commands, request(header, command)).await.unwrap();
            assert_eq!(event_types(reply.get_ref()), [*event_type]);
        }
        server.stop().await.unwrap();
    }
}
