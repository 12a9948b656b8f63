//! `CommandService` and `QueryService` over the network with the generated client: every
//! command RPC in one Gansu (兰州市) history, an idempotent retry, refusals that append
//! nothing, and as-of versus as-known queries around a back-payment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_server;
mod support;

use api_server::{Authed, TestServer};
use fundledger::api::ServerConfig;
use fundledger::api::client::*;
use tonic::{Code, Status};

const REGION: &str = "gansu-lanzhou";
const FIRM: &str = "lz-firm";

fn header(id: &str) -> Option<CommandHeader> {
    Some(CommandHeader {
        command_id: id.to_owned(),
        expected: Vec::new(),
    })
}

fn assess_request(id: &str, month: &str, booked_on: &str) -> AssessContributionsRequest {
    AssessContributionsRequest {
        header: header(id),
        employer_id: FIRM.to_owned(),
        region: REGION.to_owned(),
        month: month.to_owned(),
        person_ids: vec!["ma".to_owned()],
        booked_on: booked_on.to_owned(),
    }
}

/// Awaits a command RPC that must succeed, and checks the types of the events it appended.
async fn appended(
    call: impl Future<Output = Result<tonic::Response<CommandReply>, Status>>,
    expected: &[&str],
) -> CommandReply {
    let reply = answered(call).await;
    assert_eq!(event_types(&reply), expected);
    reply
}

/// Awaits an RPC that must succeed, and returns its answer.
async fn answered<T>(call: impl Future<Output = Result<tonic::Response<T>, Status>>) -> T {
    call.await.unwrap().into_inner()
}

/// Awaits an RPC that must be refused with `code`; returns the refusal for more checks.
async fn refused<T: std::fmt::Debug>(
    call: impl Future<Output = Result<tonic::Response<T>, Status>>,
    code: Code,
) -> Status {
    let status = call.await.unwrap_err();
    assert_eq!(status.code(), code, "{status:?}");
    status
}

fn transfer_request(id: &str, on: &str) -> TransferMaternityBalanceRequest {
    TransferMaternityBalanceRequest {
        header: header(id),
        region: REGION.to_owned(),
        transferred_on: on.to_owned(),
    }
}

fn close_request(id: &str, on: &str) -> CloseMaternityFundRequest {
    CloseMaternityFundRequest {
        header: header(id),
        region: REGION.to_owned(),
        closed_on: on.to_owned(),
    }
}

/// The allowance for ma's birth of 2020-05-01 (vaginal, one baby, not difficult).
fn allowance_request(id: &str, granted_on: &str) -> PayAllowanceRequest {
    PayAllowanceRequest {
        header: header(id),
        person_id: "ma".to_owned(),
        employer_id: FIRM.to_owned(),
        region: REGION.to_owned(),
        birth_id: "ma-birth-1".to_owned(),
        birth_date: "2020-05-01".to_owned(),
        delivery: Delivery::Vaginal as i32,
        difficult: false,
        babies: 1,
        granted_on: granted_on.to_owned(),
        miscarriage_months: 0,
        override_reason: String::new(),
    }
}

fn event_types(reply: &CommandReply) -> Vec<&str> {
    reply
        .events
        .iter()
        .map(|event| event.event_type.as_str())
        .collect()
}

/// The Gansu history up to the clearance: registration, migration, declarations,
/// assessments, a collection and a prenatal claim.
async fn before_clearance(commands: &mut CommandServiceClient<Authed>) {
    appended(
        commands.register_employer(RegisterEmployerRequest {
            header: header("register"),
            employer_id: FIRM.to_owned(),
            region: REGION.to_owned(),
            category: EmployerCategory::Enterprise as i32,
            name: "兰州示例有限公司".to_owned(),
            registered_on: "2018-01-02".to_owned(),
            average_monthly_wage: "5000.00".to_owned(),
        }),
        &["EmployerRegistered"],
    )
    .await;
    let record = |id: &str, bmi: bool, maternity: bool| MigrationRecord {
        person_id: id.to_owned(),
        employer_id: FIRM.to_owned(),
        held_bmi: bmi,
        held_maternity: maternity,
        insured_since: "2018-01-02".to_owned(),
    };
    appended(
        commands.migrate_enrollments(MigrateEnrollmentsRequest {
            header: header("migrate"),
            region: REGION.to_owned(),
            agency: "兰州市医疗保障局".to_owned(),
            migrated_on: "2019-09-01".to_owned(),
            records: vec![record("ma", true, true), record("zhang", true, false)],
        }),
        &["PersonMigrated", "PersonMigrated"],
    )
    .await;
    for (id, year, ma, zhang, firm, on) in [
        ("declare-2019", 2019, "5000", "4000", "5000", "2019-01-05"),
        ("declare-2020", 2020, "6000", "4500", "5500", "2020-01-05"),
    ] {
        appended(
            commands.declare_bases(DeclareBasesRequest {
                header: header(id),
                employer_id: FIRM.to_owned(),
                region: REGION.to_owned(),
                year,
                lines: vec![
                    DeclaredWage {
                        person_id: "ma".to_owned(),
                        wage: ma.to_owned(),
                    },
                    DeclaredWage {
                        person_id: "zhang".to_owned(),
                        wage: zhang.to_owned(),
                    },
                ],
                employer_average_monthly_wage: firm.to_owned(),
                declared_on: on.to_owned(),
            }),
            &["BasesDeclared"],
        )
        .await;
    }
    for (id, month, booked) in [
        ("assess-2019-10", "2019-10", "2019-10-10"),
        ("assess-2019-11", "2019-11", "2019-11-10"),
    ] {
        appended(
            commands.assess_contributions(assess_request(id, month, booked)),
            &["ContributionAssessed"],
        )
        .await;
    }
    appended(
        commands.collect_contribution(CollectContributionRequest {
            header: header("collect-2019-10"),
            employer_id: FIRM.to_owned(),
            month: "2019-10".to_owned(),
            // 5000 × (7% + 0.7%) = 385.00 employer + 5000 × 2% = 100.00 individual
            amount: "485.00".to_owned(),
            received_on: "2019-10-25".to_owned(),
            reference: "税票-2019-10-0001".to_owned(),
        }),
        &["ContributionCollected"],
    )
    .await;
    appended(
        commands.settle_medical_claim(SettleMedicalClaimRequest {
            header: header("claim-1"),
            claim_id: "lz-claim-1".to_owned(),
            person_id: "ma".to_owned(),
            region: REGION.to_owned(),
            institution: "兰州市第一人民医院".to_owned(),
            kind: ClaimKind::Prenatal as i32,
            pregnancy_id: "ma-1".to_owned(),
            service_date: "2019-11-05".to_owned(),
            settled_on: "2019-11-06".to_owned(),
            actual: "20.00".to_owned(),
            ..Default::default()
        }),
        &["MedicalClaimSettled"],
    )
    .await;
    appended(
        commands.assess_contributions(assess_request("assess-2019-12", "2019-12", "2019-12-10")),
        &["ContributionAssessed"],
    )
    .await;
}

/// Every command RPC, in order, through a real server; then retries and refusals.
#[tokio::test]
async fn every_command_rpc_over_the_network() {
    let server = TestServer::start_ledger(ServerConfig::default()).await;
    let mut commands = server.commands(None).await;
    before_clearance(&mut commands).await;

    let reply = appended(
        commands.settle_clearance(SettleClearanceRequest {
            header: header("clearance"),
            region: REGION.to_owned(),
            cutoff: "2019-11-30".to_owned(),
            settled_on: "2019-12-05".to_owned(),
            verified_by: "甘肃省医保局".to_owned(),
        }),
        &["MaternityFundCleared"],
    )
    .await;
    // Income 2019-10 35.00 + 2019-11 35.00 (5000 × 0.7%) − the 20.00 claim = 50.00
    assert!(
        reply.events[0].json.contains("\"balance\":\"50.00\""),
        "{}",
        reply.events[0].json
    );
    appended(
        commands.transfer_maternity_balance(transfer_request("transfer", "2019-12-10")),
        &["MaternityFundBalanceTransferred"],
    )
    .await;
    appended(
        commands.close_maternity_fund(close_request("close", "2019-12-20")),
        &["MaternityFundClosed"],
    )
    .await;

    appended(
        commands.amend_rule(AmendRuleRequest {
            header: header("amend-rate-2020"),
            region: REGION.to_owned(),
            parameter: "employer_bmi_rate".to_owned(),
            value: "0.075".to_owned(),
            effective_from: "2020-01-01".to_owned(),
            authority: "兰州市人民政府".to_owned(),
            document: "兰政办发〔2019〕（示例）".to_owned(),
            tag: "A".to_owned(),
            recorded_on: "2019-12-28".to_owned(),
            reassess: Vec::new(),
        }),
        &["RuleAmended"],
    )
    .await;

    let back_pay = assess_request("back-pay-2019-08", "2019-08", "2020-03-15");
    let reply = appended(
        commands.back_pay_contributions(back_pay.clone()),
        &["ContributionBackPaid"],
    )
    .await;
    // 2019's base and rate: 5000 × (7% + 0.7%) = 385.00, not 6000 × (7.5% + 0.7%) = 492.00
    assert!(
        reply.events[0]
            .json
            .contains("\"employer_total\":\"385.00\""),
        "{}",
        reply.events[0].json
    );
    let retry = answered(commands.back_pay_contributions(back_pay.clone())).await;
    assert!(
        retry.replayed,
        "a retry with the same id and request appends nothing"
    );
    assert_eq!(
        retry.events.iter().map(|e| e.position).collect::<Vec<_>>(),
        reply.events.iter().map(|e| e.position).collect::<Vec<_>>()
    );
    // Regression: the same id and the same message sent to another RPC of the same request
    // type is another command, refused, not a replay of the assessment.
    refused(
        commands.back_pay_contributions(assess_request("assess-2019-10", "2019-10", "2019-10-10")),
        Code::AlreadyExists,
    )
    .await;
    let mut other = back_pay.clone();
    other.month = "2019-07".to_owned();
    refused(commands.back_pay_contributions(other), Code::AlreadyExists).await;

    appended(
        commands.enroll(EnrollRequest {
            header: header("enroll-wang"),
            person_id: "wang".to_owned(),
            region: REGION.to_owned(),
            employer_id: FIRM.to_owned(),
            kind: PersonKind::Employee as i32,
            enrolled_on: "2020-02-01".to_owned(),
        }),
        &["PersonEnrolled"],
    )
    .await;
    appended(
        commands.pay_allowance(allowance_request("allowance-ma", "2020-05-10")),
        &["AllowanceGranted"],
    )
    .await;
    let status = |id: &str, person: &str, on: &str| EnrollmentStatusRequest {
        header: header(id),
        person_id: person.to_owned(),
        on: on.to_owned(),
        reason: "单位申报".to_owned(),
        region: REGION.to_owned(),
    };
    appended(
        commands.suspend_enrollment(status("suspend", "zhang", "2020-06-01")),
        &["EnrollmentSuspended"],
    )
    .await;
    appended(
        commands.resume_enrollment(status("resume", "zhang", "2020-07-01")),
        &["EnrollmentResumed"],
    )
    .await;
    appended(
        commands.terminate_enrollment(status("terminate", "wang", "2020-08-01")),
        &["EnrollmentTerminated"],
    )
    .await;

    // Refusals name the field or the rule and append nothing.
    let head = server.log.head();
    let malformed = refused(
        commands.collect_contribution(CollectContributionRequest {
            header: header("bad-amount"),
            employer_id: FIRM.to_owned(),
            month: "2019-11".to_owned(),
            amount: "12.345".to_owned(),
            received_on: "2019-11-20".to_owned(),
            reference: "x".to_owned(),
        }),
        Code::InvalidArgument,
    )
    .await;
    assert!(
        malformed.message().contains("amount"),
        "{}",
        malformed.message()
    );
    let bad_date = refused(
        commands.close_maternity_fund(close_request("bad-date", "2019-13-01")),
        Code::InvalidArgument,
    )
    .await;
    assert!(
        bad_date.message().starts_with("closed_on:"),
        "{}",
        bad_date.message()
    );
    refused(
        commands.transfer_maternity_balance(transfer_request("transfer-again", "2020-04-01")),
        Code::FailedPrecondition,
    )
    .await;
    let second_allowance = refused(
        commands.pay_allowance(allowance_request("allowance-ma-again", "2020-05-11")),
        Code::FailedPrecondition,
    )
    .await;
    assert!(
        second_allowance
            .message()
            .starts_with("AllowanceAlreadyGranted"),
        "{}",
        second_allowance.message()
    );
    refused(
        commands.close_maternity_fund(CloseMaternityFundRequest::default()),
        Code::InvalidArgument,
    )
    .await;
    assert_eq!(
        server.log.head(),
        head,
        "no refused command appended anything"
    );
}

/// A back-payment recorded later for 2019-08 changes the 2019-08 figures as known now,
/// not as known before it was recorded.
#[tokio::test]
async fn as_of_and_as_known_queries_over_the_network() {
    let server = TestServer::start_ledger(ServerConfig::default()).await;
    let mut commands = server.commands(None).await;
    let mut queries = server.queries(None).await;
    before_clearance(&mut commands).await;
    let before_back_pay = server.log.head().position;
    appended(
        commands.back_pay_contributions(assess_request(
            "back-pay-2019-08",
            "2019-08",
            "2019-10-15",
        )),
        &["ContributionBackPaid"],
    )
    .await;

    let report = |position: u64| RegionReportRequest {
        region: REGION.to_owned(),
        when: Some(AsOf {
            as_of_date: "2019-08-31".to_owned(),
            known_at_position: position,
            known_at_time: String::new(),
        }),
    };
    let now = answered(queries.get_region_report(report(0))).await;
    let then = answered(queries.get_region_report(report(before_back_pay))).await;
    let maternity =
        |report: &RegionReport| report.lines.as_ref().unwrap().maternity_fund_income.clone();
    // Before the merger (Gansu merges 2019-12-01) the maternity part goes to the maternity
    // fund: the 2019-08 back-payment adds 5000 × 0.7% = 35.00 as of 2019-08-31 ...
    assert_eq!(maternity(&now), "35.00");
    // ... but the books as known before it was recorded show nothing for 2019-08.
    assert_eq!(maternity(&then), "0.00");
    assert_eq!(then.known_at_position, before_back_pay);
    // As of 2019-11-30 as known now: 2019-08 35.00 + 2019-10 35.00 + 2019-11 35.00 = 105.00
    let mut request = report(0);
    request.when.as_mut().unwrap().as_of_date = "2019-11-30".to_owned();
    let november = answered(queries.get_region_report(request)).await;
    assert_eq!(maternity(&november), "105.00");

    let arrears = answered(queries.get_employer_arrears(EmployerRequest {
        employer_id: FIRM.to_owned(),
        when: None,
    }))
    .await;
    // 2019-11 and 2019-12 assessed 485.00 each and not collected; 2019-10 collected.
    assert_eq!(arrears.total_arrears, "970.00");
    let person = answered(queries.get_person(PersonRequest {
        person_id: "ma".to_owned(),
        when: None,
    }))
    .await;
    assert_eq!(person.status, "active");
    refused(
        queries.get_region_report(RegionReportRequest {
            region: "atlantis".to_owned(),
            when: None,
        }),
        Code::NotFound,
    )
    .await;
    let rules = answered(queries.get_rulebook(RulebookRequest {
        region: REGION.to_owned(),
        when: Some(AsOf {
            as_of_date: "2019-11-30".to_owned(),
            ..Default::default()
        }),
    }))
    .await;
    let cutoff = rules
        .rules
        .iter()
        .find(|rule| rule.parameter == "clearance_cutoff")
        .unwrap();
    assert_eq!(
        (cutoff.value.as_str(), cutoff.found_in.as_str()),
        ("2019-11-30", "gansu")
    );
}

/// An operator rebuilds the books over gRPC while they keep answering: the stream reports
/// progress and ends with the new generation in place and the same figures; a checkpoint
/// lands at the head.
#[tokio::test]
async fn rebuild_and_checkpoint_over_the_network() {
    let server = TestServer::start_ledger(ServerConfig::default()).await;
    let mut commands = server.commands(None).await;
    let mut queries = server.queries(None).await;
    before_clearance(&mut commands).await;
    let report = || RegionReportRequest {
        region: REGION.to_owned(),
        when: Some(AsOf {
            as_of_date: "2019-12-31".to_owned(),
            ..Default::default()
        }),
    };
    let before = answered(queries.get_region_report(report())).await;
    let mut admin = AdminServiceClient::new(server.channel().await);
    let mut progress = answered(admin.rebuild_projection(RebuildProjectionRequest {})).await;
    let mut last = None;
    while let Some(message) = progress.message().await.unwrap() {
        last = Some(message);
    }
    let last = last.unwrap();
    assert!(last.done, "the last message reports the swap");
    assert_eq!(last.position, server.log.head().position);
    assert_eq!(
        last.generation, 2,
        "generation 1 was the books built at open"
    );
    let after = answered(queries.get_region_report(report())).await;
    assert_eq!(after, before, "a rebuild folds the same figures");
    let checkpoint = answered(admin.checkpoint(CheckpointRequest {})).await;
    assert_eq!(
        (checkpoint.position, checkpoint.generation),
        (server.log.head().position, 2)
    );
}

/// Regression (issue 19): `PayAllowance` for the same mother and the same delivery date
/// under a new birth id was paid again. Over the network, with tokens: the benefits desk's
/// second grant is FAILED_PRECONDITION naming the first grant's birth id and log position;
/// only an operator may override (the desk sending a reason is PERMISSION_DENIED), the
/// override needs a non-blank reason and something to override, and the grant records the
/// reason and the grant it overrode. Nothing refused appends anything.
#[tokio::test]
async fn a_second_allowance_for_the_same_birth_names_the_first_and_only_an_operator_overrides() {
    let entry = |role: &str| {
        format!(
            "[[token]]\nname = \"{role}\"\nrole = \"{role}\"\nargon2 = \"{}\"\n\n",
            api_server::token_hash(&format!("{role}-token"))
        )
    };
    let access = fundledger::api::access::AccessConfig::parse(
        &[entry("benefits_desk"), entry("operator")].concat(),
    )
    .unwrap();
    let server = TestServer::start_ledger(ServerConfig {
        access: Some(access),
        ..ServerConfig::default()
    })
    .await;
    let mut operator = server.commands(Some("operator-token")).await;
    let mut desk = server.commands(Some("benefits_desk-token")).await;
    answered(operator.register_employer(RegisterEmployerRequest {
        header: header("register-bj"),
        employer_id: "bj-firm".to_owned(),
        region: "beijing".to_owned(),
        category: EmployerCategory::Enterprise as i32,
        name: "北京示例有限公司".to_owned(),
        registered_on: "2021-01-02".to_owned(),
        average_monthly_wage: "10000.00".to_owned(),
    }))
    .await;
    answered(operator.enroll(EnrollRequest {
        header: header("enroll-chen"),
        person_id: "chen".to_owned(),
        region: "beijing".to_owned(),
        employer_id: "bj-firm".to_owned(),
        kind: PersonKind::Employee as i32,
        enrolled_on: "2021-01-02".to_owned(),
    }))
    .await;
    let allowance =
        |id: &str, birth_id: &str, birth_date: &str, reason: &str| PayAllowanceRequest {
            header: header(id),
            person_id: "chen".to_owned(),
            employer_id: "bj-firm".to_owned(),
            region: "beijing".to_owned(),
            birth_id: birth_id.to_owned(),
            birth_date: birth_date.to_owned(),
            delivery: Delivery::Vaginal as i32,
            difficult: false,
            babies: 1,
            granted_on: "2022-03-10".to_owned(),
            miscarriage_months: 0,
            override_reason: reason.to_owned(),
        };
    let first = appended(
        desk.pay_allowance(allowance("b1", "chen-b1", "2022-03-01", "")),
        &["AllowanceGranted"],
    )
    .await;
    // Beijing 2022: 98 + 60 = 158 days; 10000 × 158 / 30 = 52666.67
    assert!(first.events[0].json.contains("\"amount\":\"52666.67\""));
    let first_position = first.events[0].position;
    let head = server.log.head();

    let again = refused(
        desk.pay_allowance(allowance("b2", "chen-b2", "2022-03-01", "")),
        Code::FailedPrecondition,
    )
    .await;
    assert!(
        again.message().starts_with("SameBirthAlreadyGranted")
            && again.message().contains("granted as chen-b1")
            && again
                .message()
                .contains(&format!("granted at position {first_position}")),
        "{}",
        again.message()
    );
    refused(
        desk.pay_allowance(allowance(
            "b3",
            "chen-b2",
            "2022-03-01",
            "twins' records split",
        )),
        Code::PermissionDenied,
    )
    .await;
    refused(
        operator.pay_allowance(allowance("b4", "chen-b2", "2022-03-01", "   ")),
        Code::InvalidArgument,
    )
    .await;
    // 2022-03-01 + 181 days = 2022-08-29: another birth, nothing to override.
    let nothing = refused(
        operator.pay_allowance(allowance("b5", "chen-b3", "2022-08-29", "just in case")),
        Code::FailedPrecondition,
    )
    .await;
    assert!(
        nothing.message().starts_with("NothingToOverride"),
        "{}",
        nothing.message()
    );
    assert_eq!(server.log.head(), head, "no refused call appended anything");

    let overridden = appended(
        operator.pay_allowance(allowance(
            "b6",
            "chen-b2",
            "2022-03-01",
            "the first grant was paid to a closed account",
        )),
        &["AllowanceGranted"],
    )
    .await;
    let json = &overridden.events[0].json;
    assert!(
        json.contains("\"reason\":\"the first grant was paid to a closed account\"")
            && json.contains("\"first_birth_id\":\"chen-b1\"")
            && json.contains(&format!("\"first_position\":{first_position}")),
        "{json}"
    );
}
