//! Hostile input at the public service (issue 19, points 1 and 4): arbitrary field values
//! — extreme dates, amounts, ids and texts — sent as a bureau system would, over gRPC.
//! No acknowledged command may leave the service unable to answer or to start, no query
//! may fail inside the server, and no refusal may echo a whole hostile value.
//!
//! The proptests run with a fixed seed. `FUNDLEDGER_HOSTILE_CASES=N` sets how many requests
//! each one sends (CI: the defaults below); the README's fuzz command runs them at 100,000:
//! `FUNDLEDGER_HOSTILE_CASES=100000 cargo test --test api_hostile -- --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_server;

use std::sync::atomic::{AtomicU64, Ordering};

use api_server::{Authed, TestServer};
use fundledger::api::ServerConfig;
use fundledger::api::client::{
    AsOf, AssessContributionsRequest, CollectContributionRequest, CommandHeader, CommandReply,
    DeclareBasesRequest, DeclaredWage, EmployerCategory, EmployerRequest, EnrollRequest,
    EnrollmentStatusRequest, MonthLinesRequest, PayAllowanceRequest, PersonKind, PersonRequest,
    ReadEventsRequest, RegionReportRequest, RegisterEmployerRequest, RulebookRequest,
    SettleMedicalClaimRequest,
};
use fundledger::api::client::{CommandServiceClient, EventServiceClient, QueryServiceClient};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestRunner};
use tonic::{Code, Status};

/// The regions of the shipped rulebook.
const REGIONS: [&str; 7] = [
    "china",
    "beijing",
    "tianjin",
    "chongqing",
    "gansu",
    "gansu-lanzhou",
    "kizilsu",
];
const EMPLOYERS: [&str; 3] = ["E1", "E2", "E3"];
const PERSONS: [&str; 4] = ["P1", "P2", "P3", "P4"];
/// The longest error message a refusal may carry: gRPC metadata holds 16 KiB, and a
/// refusal names a field and a rule, not a whole value.
const MESSAGE_BYTES_MAX: usize = 1024;

fn cases(default: u32) -> u32 {
    std::env::var("FUNDLEDGER_HOSTILE_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(19),
        ..Config::default()
    })
}

/// Mostly a value from `valid` (so that commands get through and build up a history),
/// else one from `pool` (the edges and the hostile), any string at all (control, bidi and
/// astral characters included), or — rarely — a megabyte.
fn hostile(valid: &'static [&'static str], pool: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        40 => proptest::sample::select(valid).prop_map(str::to_owned),
        4 => proptest::sample::select(pool).prop_map(str::to_owned),
        2 => any::<String>(),
        1 => "[\\x00-\\x1f\u{202a}-\u{202e}\u{2066}-\u{2069}a-zA-Z0-9/ .:-]{0,24}",
        1 => Just("x".repeat(1 << 20)),
    ]
    .boxed()
}

const VALID_DATES: &[&str] = &["2019-06-01", "2020-01-15", "2020-03-31", "2021-02-01"];
const VALID_MONTHS: &[&str] = &["2020-01", "2020-02", "2021-07"];
const VALID_AMOUNTS: &[&str] = &["6000.00", "9000", "1470.00", "0.01"];
const VALID_REGIONS: &[&str] = &[
    "beijing",
    "tianjin",
    "gansu-lanzhou",
    "kizilsu",
    "chongqing",
];
const VALID_EMPLOYERS: &[&str] = &["E1", "E2"];
const VALID_PERSONS: &[&str] = &["P1", "P2", "P3"];
const VALID_IDS: &[&str] = &["B1", "B2", "C1", "C2", "PR1"];
const VALID_TEXTS: &[&str] = &["Acme", "北京示例科技有限公司", "tax voucher 1"];
const DATES: &[&str] = &[
    "2019-06-01",
    "2020-01-15",
    "2020-03-31",
    "2021-02-01",
    "2024-06-30",
    "1900-01-01",
    "2199-12-31",
    "1899-12-31",
    "2200-01-01",
    "0000-01-01",
    "-000001-06-01",
    "9999-12-31",
    "-009999-01-01",
    "2020-02-30",
    "",
];
const MONTHS: &[&str] = &[
    "2020-01", "2020-02", "2021-07", "1900-01", "2199-12", "1899-12", "2200-01", "0000-01",
    "-001-01", "9999-12", "2020-13", "2020-1", "",
];
const AMOUNTS: &[&str] = &[
    "6000.00",
    "9000",
    "0.01",
    "0",
    "1470.00",
    "99999999999.99",
    "100000000000.00",
    "100000000000.01",
    "600000000000000000000000000.00",
    "79228162514264337593543950335",
    "-1.00",
    "1.001",
    "7e5",
    " 5",
    "",
];
const IDS: &[&str] = &[
    "E1",
    "E2",
    "E3",
    "P1",
    "P2",
    "P3",
    "P4",
    "beijing",
    "tianjin",
    "gansu-lanzhou",
    "kizilsu",
    "chongqing",
    "nowhere",
    "a/b",
    "\u{202e}E1",
    "E1\u{0}",
    "",
];
const TEXTS: &[&str] = &[
    "Acme",
    "北京示例科技有限公司",
    "tax voucher 1",
    "line\nbreak",
    "\u{202e}evil",
    "\u{0}",
    " ",
    "",
];

/// One command request, its fields drawn from the pools above and from anything at all.
#[derive(Debug, Clone)]
enum Request {
    Register(RegisterEmployerRequest),
    Enroll(EnrollRequest),
    Declare(DeclareBasesRequest),
    Assess(AssessContributionsRequest),
    Collect(CollectContributionRequest),
    Claim(SettleMedicalClaimRequest),
    Allowance(PayAllowanceRequest),
    Suspend(EnrollmentStatusRequest),
}

impl Request {
    fn region(&self) -> &str {
        match self {
            Request::Register(request) => &request.region,
            Request::Enroll(request) => &request.region,
            Request::Declare(request) => &request.region,
            Request::Assess(request) => &request.region,
            Request::Collect(_) => "",
            Request::Claim(request) => &request.region,
            Request::Allowance(request) => &request.region,
            Request::Suspend(request) => &request.region,
        }
    }
}

fn header() -> Option<CommandHeader> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    Some(CommandHeader {
        command_id: format!("hostile-{}", NEXT.fetch_add(1, Ordering::Relaxed)),
        expected: Vec::new(),
    })
}

fn request() -> impl Strategy<Value = Request> {
    let (region, employer) = (hostile(VALID_REGIONS, IDS), hostile(VALID_EMPLOYERS, IDS));
    let (person, id) = (hostile(VALID_PERSONS, IDS), hostile(VALID_IDS, IDS));
    let (date, amount) = (hostile(VALID_DATES, DATES), hostile(VALID_AMOUNTS, AMOUNTS));
    let (text, month) = (hostile(VALID_TEXTS, TEXTS), hostile(VALID_MONTHS, MONTHS));
    let enumerated = |valid: std::ops::Range<i32>| prop_oneof![8 => valid, 1 => -2..10i32];
    prop_oneof![
        (
            (employer.clone(), region.clone(), text.clone()),
            (date.clone(), amount.clone(), enumerated(1..8))
        )
            .prop_map(
                |((employer_id, region, name), (registered_on, average_monthly_wage, category))| {
                    Request::Register(RegisterEmployerRequest {
                        header: header(),
                        employer_id,
                        region,
                        category,
                        name,
                        registered_on,
                        average_monthly_wage,
                    })
                }
            ),
        (
            person.clone(),
            region.clone(),
            employer.clone(),
            date.clone(),
            enumerated(1..2)
        )
            .prop_map(|(person_id, region, employer_id, enrolled_on, kind)| {
                Request::Enroll(EnrollRequest {
                    header: header(),
                    person_id,
                    region,
                    employer_id,
                    kind,
                    enrolled_on,
                })
            }),
        (
            (employer.clone(), region.clone(), person.clone()),
            (amount.clone(), amount.clone(), date.clone(), any::<i32>())
        )
            .prop_map(
                |((employer_id, region, person_id), (wage, average, declared_on, year))| {
                    Request::Declare(DeclareBasesRequest {
                        header: header(),
                        employer_id,
                        region,
                        year: if year % 8 != 0 {
                            2019 + year.rem_euclid(3)
                        } else {
                            year
                        },
                        lines: vec![DeclaredWage { person_id, wage }],
                        employer_average_monthly_wage: average,
                        declared_on,
                    })
                }
            ),
        (
            employer.clone(),
            region.clone(),
            month.clone(),
            person.clone(),
            date.clone()
        )
            .prop_map(|(employer_id, region, month, person_id, booked_on)| {
                Request::Assess(AssessContributionsRequest {
                    header: header(),
                    employer_id,
                    region,
                    month,
                    person_ids: vec![person_id],
                    booked_on,
                })
            }),
        (
            employer.clone(),
            month,
            amount.clone(),
            date.clone(),
            text.clone()
        )
            .prop_map(|(employer_id, month, amount, received_on, reference)| {
                Request::Collect(CollectContributionRequest {
                    header: header(),
                    employer_id,
                    month,
                    amount,
                    received_on,
                    reference,
                })
            }),
        (
            (id.clone(), person.clone(), region.clone(), text.clone()),
            (
                enumerated(1..3),
                id.clone(),
                enumerated(1..3),
                enumerated(1..4)
            ),
            (date.clone(), date.clone(), amount)
        )
            .prop_map(
                |(
                    (claim_id, person_id, region, institution),
                    (kind, pregnancy_id, delivery, level),
                    (service_date, settled_on, actual),
                )| {
                    Request::Claim(SettleMedicalClaimRequest {
                        header: header(),
                        claim_id,
                        person_id,
                        region,
                        institution,
                        kind,
                        pregnancy_id,
                        delivery,
                        level,
                        service_date,
                        settled_on,
                        actual,
                    })
                }
            ),
        (
            (person.clone(), employer, region.clone(), id),
            (
                date.clone(),
                enumerated(1..3),
                any::<bool>(),
                prop_oneof![8 => 1..4u32, 1 => any::<u32>()]
            ),
            (
                date.clone(),
                prop_oneof![8 => Just(0u32), 1 => any::<u32>()]
            )
        )
            .prop_map(
                |(
                    (person_id, employer_id, region, birth_id),
                    (birth_date, delivery, difficult, babies),
                    (granted_on, miscarriage_months),
                )| {
                    Request::Allowance(PayAllowanceRequest {
                        header: header(),
                        person_id,
                        employer_id,
                        region,
                        birth_id,
                        birth_date,
                        delivery,
                        difficult,
                        babies,
                        granted_on,
                        miscarriage_months,
                        override_reason: String::new(),
                    })
                }
            ),
        (person, date, text, region).prop_map(|(person_id, on, reason, region)| {
            Request::Suspend(EnrollmentStatusRequest {
                header: header(),
                person_id,
                on,
                reason,
                region,
            })
        }),
    ]
}

async fn send(
    commands: &mut CommandServiceClient<Authed>,
    request: Request,
) -> Result<CommandReply, Status> {
    let reply = match request {
        Request::Register(request) => commands.register_employer(request).await,
        Request::Enroll(request) => commands.enroll(request).await,
        Request::Declare(request) => commands.declare_bases(request).await,
        Request::Assess(request) => commands.assess_contributions(request).await,
        Request::Collect(request) => commands.collect_contribution(request).await,
        Request::Claim(request) => commands.settle_medical_claim(request).await,
        Request::Allowance(request) => commands.pay_allowance(request).await,
        Request::Suspend(request) => commands.suspend_enrollment(request).await,
    };
    reply.map(tonic::Response::into_inner)
}

/// A refusal that says what was wrong with the request, briefly: never a failure inside
/// the server, never damaged books.
fn check_refusal(status: &Status, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !matches!(
            status.code(),
            Code::Internal | Code::Unknown | Code::DataLoss | Code::Unavailable
        ),
        "{what}: {status:?}"
    );
    prop_assert!(
        status.message().len() <= MESSAGE_BYTES_MAX,
        "{what}: a {}-byte message",
        status.message().len()
    );
    Ok(())
}

/// A region query that must answer: OK, or NOT_FOUND for a region the ledger lacks.
async fn check_region(
    queries: &mut QueryServiceClient<Authed>,
    region: &str,
) -> Result<(), TestCaseError> {
    let report = queries
        .get_region_report(RegionReportRequest {
            region: region.to_owned(),
            when: None,
        })
        .await;
    let lines = queries
        .get_month_lines(MonthLinesRequest {
            region: region.to_owned(),
            from_month: "1900-01".to_owned(),
            to_month: "2199-12".to_owned(),
            when: None,
        })
        .await;
    for (name, outcome) in [("report", report.err()), ("lines", lines.err())] {
        if let Some(status) = outcome {
            prop_assert!(
                matches!(status.code(), Code::NotFound | Code::InvalidArgument),
                "{name} of {region:?}: {status:?}"
            );
        }
    }
    Ok(())
}

/// Every query the service has, for every shipped region and every id of the pools.
async fn ask_everything(server: &TestServer) -> Result<(), TestCaseError> {
    let mut queries = server.queries(None).await;
    for region in REGIONS {
        check_region(&mut queries, region).await?;
        queries
            .get_rulebook(RulebookRequest {
                region: region.to_owned(),
                when: None,
            })
            .await
            .map_err(|status| TestCaseError::fail(format!("rulebook of {region}: {status:?}")))?;
    }
    for person_id in PERSONS {
        if let Err(status) = queries
            .get_person(PersonRequest {
                person_id: person_id.to_owned(),
                when: None,
            })
            .await
        {
            prop_assert_eq!(status.code(), Code::NotFound, "{:?}", status);
        }
    }
    for employer_id in EMPLOYERS {
        if let Err(status) = queries
            .get_employer_arrears(EmployerRequest {
                employer_id: employer_id.to_owned(),
                when: None,
            })
            .await
        {
            prop_assert_eq!(status.code(), Code::NotFound, "{:?}", status);
        }
    }
    let mut admin = server.admin(None).await;
    let verified = admin
        .verify_log(fundledger::api::client::VerifyLogRequest::default())
        .await
        .map_err(|status| TestCaseError::fail(format!("verify: {status:?}")))?;
    prop_assert_eq!(
        verified.into_inner().head_position,
        server.log.head().position
    );
    let stats = admin.stats(fundledger::api::client::StatsRequest {}).await;
    let stats = stats.map_err(|status| TestCaseError::fail(format!("stats: {status:?}")))?;
    prop_assert!(stats.into_inner().damaged_books.is_empty());
    Ok(())
}

/// Reads back the events a command appended, as an auditor streams them.
async fn check_read_back(
    events: &mut EventServiceClient<Authed>,
    reply: &CommandReply,
) -> Result<(), TestCaseError> {
    let Some(first) = reply.events.first() else {
        return Ok(());
    };
    let page = events
        .read_events(ReadEventsRequest {
            from_position: first.position,
            limit: u32::try_from(reply.events.len()).unwrap(),
            ..ReadEventsRequest::default()
        })
        .await
        .map_err(|status| TestCaseError::fail(format!("read back: {status:?}")))?
        .into_inner();
    prop_assert_eq!(page.events.len(), reply.events.len());
    Ok(())
}

/// A valid start, so that hostile commands reach the decisions and not only the edge: two
/// employers in Chongqing, one at the ceiling wage, and three employees.
async fn prelude(commands: &mut CommandServiceClient<Authed>) {
    for (employer_id, wage) in [("E1", "6000.00"), ("E2", "100000000000.00")] {
        commands
            .register_employer(RegisterEmployerRequest {
                header: header(),
                employer_id: employer_id.to_owned(),
                region: "chongqing".to_owned(),
                category: EmployerCategory::Enterprise as i32,
                name: "Acme".to_owned(),
                registered_on: "2019-01-02".to_owned(),
                average_monthly_wage: wage.to_owned(),
            })
            .await
            .unwrap();
    }
    for (person_id, employer_id) in [("P1", "E1"), ("P2", "E1"), ("P3", "E2")] {
        commands
            .enroll(EnrollRequest {
                header: header(),
                person_id: person_id.to_owned(),
                region: "chongqing".to_owned(),
                employer_id: employer_id.to_owned(),
                kind: PersonKind::Employee as i32,
                enrolled_on: "2019-01-02".to_owned(),
            })
            .await
            .unwrap();
    }
}

/// Commands with arbitrary field values, one after another against one service: each is
/// refused briefly (no INTERNAL, no DATA_LOSS, a short message) or acknowledged, and an
/// acknowledged one reads back and leaves its region's books answering. Then the service
/// is restarted on the same data and every query answers: no acknowledged request can
/// leave the service unable to answer or to start.
#[test]
fn no_acknowledged_request_leaves_the_service_unable_to_answer_or_to_start() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start_ledger(ServerConfig::default()));
    let (commands, queries, events) = runtime.block_on(async {
        (
            server.commands(None).await,
            server.queries(None).await,
            server.events(None).await,
        )
    });
    runtime.block_on(prelude(&mut commands.clone()));
    let acknowledged = AtomicU64::new(0);
    runner(cases(3000))
        .run(&request(), |request| {
            let (mut commands, mut queries, mut events) =
                (commands.clone(), queries.clone(), events.clone());
            runtime.block_on(async {
                let region = request.region().to_owned();
                let what = format!("{request:?}").chars().take(300).collect::<String>();
                match send(&mut commands, request).await {
                    Ok(reply) => {
                        acknowledged.fetch_add(1, Ordering::Relaxed);
                        check_read_back(&mut events, &reply).await?;
                        if !region.is_empty() && region.len() < 200 {
                            check_region(&mut queries, &region).await?;
                        }
                    }
                    Err(status) => check_refusal(&status, &what)?,
                }
                Ok(())
            })
        })
        .unwrap();
    let acknowledged = acknowledged.load(Ordering::Relaxed);
    println!("hostile commands: {acknowledged} acknowledged");
    assert!(
        acknowledged > 0,
        "some requests were valid and acknowledged"
    );
    let server = runtime.block_on(server.restart_ledger(ServerConfig::default()));
    runtime.block_on(ask_everything(&server)).unwrap();
}

/// A query with arbitrary arguments.
#[derive(Debug, Clone)]
enum Query {
    Report(RegionReportRequest),
    Lines(MonthLinesRequest),
    Person(PersonRequest),
    Employer(EmployerRequest),
    Rules(RulebookRequest),
    Events(ReadEventsRequest),
}

fn as_of() -> impl Strategy<Value = Option<AsOf>> {
    let time = hostile(
        &["2020-01-01T00:00:00Z"],
        &[
            "2020-01-01T00:00:00Z",
            "1900-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "-009999-01-01T00:00:00Z",
            "2020-01-01",
            "",
        ],
    );
    proptest::option::of(
        (
            hostile(VALID_DATES, DATES),
            prop_oneof![Just(0u64), 0..200u64, any::<u64>()],
            time,
        )
            .prop_map(|(as_of_date, known_at_position, known_at_time)| AsOf {
                as_of_date,
                known_at_position,
                known_at_time,
            }),
    )
}

fn query() -> impl Strategy<Value = Query> {
    let (id, month) = (hostile(VALID_IDS, IDS), hostile(VALID_MONTHS, MONTHS));
    prop_oneof![
        (id.clone(), as_of())
            .prop_map(|(region, when)| Query::Report(RegionReportRequest { region, when })),
        (id.clone(), month.clone(), month, as_of()).prop_map(
            |(region, from_month, to_month, when)| Query::Lines(MonthLinesRequest {
                region,
                from_month,
                to_month,
                when,
            })
        ),
        (id.clone(), as_of())
            .prop_map(|(person_id, when)| Query::Person(PersonRequest { person_id, when })),
        (id.clone(), as_of())
            .prop_map(|(employer_id, when)| Query::Employer(EmployerRequest { employer_id, when })),
        (id.clone(), as_of())
            .prop_map(|(region, when)| Query::Rules(RulebookRequest { region, when })),
        (
            any::<u64>(),
            any::<u32>(),
            proptest::option::of(hostile(&["region/beijing"], &["employer/E1", "x", ""])),
            proptest::option::of(hostile(&["EmployerRegistered"], &["RuleAmended", ""])),
            any::<u64>()
        )
            .prop_map(|(from_position, limit, stream_id, event_type, version)| {
                Query::Events(ReadEventsRequest {
                    from_position,
                    limit,
                    stream_id,
                    event_type,
                    from_stream_version: version,
                })
            }),
    ]
}

/// Every query with arbitrary arguments (reversed and far-future month ranges, dates of
/// year 0 and negative years, huge positions, megabyte ids, control and bidi characters)
/// answers or refuses briefly: never INTERNAL or UNKNOWN (a panic in the server), never a
/// refusal that echoes a whole value.
#[test]
fn no_query_fails_inside_the_server_whatever_its_arguments() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start_ledger(ServerConfig::default()));
    let (queries, events) =
        runtime.block_on(async { (server.queries(None).await, server.events(None).await) });
    runner(cases(3000))
        .run(&query(), |query| {
            let (mut queries, mut events) = (queries.clone(), events.clone());
            runtime.block_on(async {
                let what = format!("{query:?}").chars().take(300).collect::<String>();
                let outcome = match query {
                    Query::Report(request) => queries.get_region_report(request).await.map(drop),
                    Query::Lines(request) => queries.get_month_lines(request).await.map(drop),
                    Query::Person(request) => queries.get_person(request).await.map(drop),
                    Query::Employer(request) => {
                        queries.get_employer_arrears(request).await.map(drop)
                    }
                    Query::Rules(request) => queries.get_rulebook(request).await.map(drop),
                    Query::Events(request) => events.read_events(request).await.map(drop),
                };
                if let Err(status) = outcome {
                    check_refusal(&status, &what)?;
                }
                Ok(())
            })
        })
        .unwrap();
}
