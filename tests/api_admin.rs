//! `AdminService` over the network: `VerifyLog` (from the start and from a trusted head),
//! `Stats`, and the standard health and reflection services.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_server;
mod support;

use api_server::{Authed, PATIENCE, TestServer};
use fundledger::api::client::{
    AdminServiceClient, StatsRequest, SubscribeRequest, VerifyLogRequest, VerifyLogResponse,
};
use support::{command, event};
use tonic::Code;

async fn append(server: &TestServer, id: &str, count: usize) {
    let events = (0..count)
        .map(|n| event("s", &format!("{id}{n}")))
        .collect();
    server.log.append(command(id, events)).await.unwrap();
}

/// VerifyLog from `trusted_head` (empty: from the start), which must succeed.
async fn verify(admin: &mut AdminServiceClient<Authed>, trusted_head: &str) -> VerifyLogResponse {
    admin
        .verify_log(VerifyLogRequest {
            trusted_head: trusted_head.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// VerifyLog recomputes the whole chain and returns the head digest the log holds.
#[tokio::test]
async fn verify_log_returns_head_digest() {
    let server = TestServer::start().await;
    append(&server, "a", 3).await;
    let mut admin = server.admin(None).await;
    let report = verify(&mut admin, "").await;
    let head = server.log.head();
    assert_eq!(report.head_position, 3);
    assert_eq!(report.head_hash, hex::encode(head.hash));
    assert_eq!(report.head, head.to_string());
    assert_eq!(report.events_verified, 3);
    assert_eq!(report.from_position, 1);
}

/// Appends `count` one-event commands, awaiting each: each lands in its own block.
async fn append_singly(server: &TestServer, id: &str, count: usize) {
    for n in 0..count {
        let id = format!("{id}-{n}");
        server
            .log
            .append(command(&id, vec![event("s", &id)]))
            .await
            .unwrap();
    }
}

/// Given a head digest kept from an earlier check, VerifyLog recomputes only what came after.
#[tokio::test]
async fn verify_log_from_trusted_head() {
    let server = TestServer::start().await;
    append_singly(&server, "a", 3).await;
    let mut admin = server.admin(None).await;
    let first = verify(&mut admin, "").await;
    append_singly(&server, "b", 2).await;
    let second = verify(&mut admin, &first.head).await;
    // positions 4 and 5 are new since the trusted head at 3
    assert_eq!(second.from_position, 4);
    assert_eq!(second.events_verified, 2);
    assert_eq!(second.head, server.log.head().to_string());
}

/// Regression for a log-layer bug: `Log::verify` from a trusted head fails with "block keyed
/// at 3 holds 1..=3 where position 3 was due" when the trusted position is not the first of
/// its block (a command of several events, or a group commit of several commands).
#[tokio::test]
async fn verify_log_from_trusted_head_inside_a_block() {
    let server = TestServer::start().await;
    append(&server, "a", 3).await;
    let mut admin = server.admin(None).await;
    let first = verify(&mut admin, "").await;
    append(&server, "b", 2).await;
    let second = verify(&mut admin, &first.head).await;
    assert_eq!(second.from_position, 4);
    assert_eq!(second.events_verified, 2);
}

/// A trusted head that does not match the log is DATA_LOSS; a malformed one is
/// INVALID_ARGUMENT; one beyond the head is FAILED_PRECONDITION.
#[tokio::test]
async fn verify_log_refuses_bad_trusted_heads() {
    let server = TestServer::start().await;
    append_singly(&server, "a", 3).await;
    let mut admin = server.admin(None).await;
    let wrong = format!("2:{}", "ab".repeat(32));
    let beyond = format!("9:{}", "ab".repeat(32));
    let cases = [
        (wrong, Code::DataLoss),
        ("2:nothex".to_owned(), Code::InvalidArgument),
        ("two".to_owned(), Code::InvalidArgument),
        (beyond, Code::FailedPrecondition),
    ];
    for (trusted_head, code) in cases {
        let status = admin
            .verify_log(VerifyLogRequest {
                trusted_head: trusted_head.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{trusted_head}: {}", status.message());
        if code == Code::DataLoss {
            assert!(
                status.message().contains("differs from the trusted head"),
                "refused for the mismatch, not another reason: {}",
                status.message()
            );
        }
    }
}

/// Stats reports the head, its time, the size on disk and the open subscriptions.
#[tokio::test]
async fn stats_reports_head_size_and_subscriptions() {
    let server = TestServer::start().await;
    let mut admin = server.admin(None).await;
    let empty = admin.stats(StatsRequest {}).await.unwrap().into_inner();
    assert_eq!(empty.head_position, 0);
    assert_eq!(empty.head_recorded_at, "");
    append(&server, "a", 2).await;
    let mut events = server.events(None).await;
    let mut stream = events
        .subscribe(SubscribeRequest {
            from_position: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // The subscription is counted once its first event arrives.
    tokio::time::timeout(PATIENCE, stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let stats = admin.stats(StatsRequest {}).await.unwrap().into_inner();
    let head = server.log.head();
    assert_eq!(stats.head_position, 2);
    assert_eq!(stats.head, head.to_string());
    assert_eq!(stats.head_hash, hex::encode(head.hash));
    let recorded = server.log.get(2).unwrap().unwrap().recorded_at;
    assert_eq!(stats.head_recorded_at, recorded.to_string());
    assert!(stats.size_on_disk_bytes > 0);
    assert_eq!(stats.subscriptions_active, 1);
    assert_eq!(
        stats.subscriptions_max as usize,
        fundledger::api::SUBSCRIPTIONS_MAX
    );
}

/// The standard health service answers SERVING for the server and each of our services.
#[tokio::test]
async fn health_answers_serving() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.channel().await);
    for service in [
        "",
        "fundledger.v1.EventService",
        "fundledger.v1.AdminService",
    ] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service:?}");
    }
}

/// The service names a reflection service of `version` (a module of
/// `tonic_reflection::pb`: v1 and v1alpha have the same messages in separate types) lists.
macro_rules! list_services {
    ($version:ident, $server:expr) => {{
        use tonic_reflection::pb::$version as reflection;
        let mut client = reflection::server_reflection_client::ServerReflectionClient::new(
            $server.channel().await,
        );
        let request = reflection::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                reflection::server_reflection_request::MessageRequest::ListServices(String::new()),
            ),
        };
        let mut answers = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let answer = answers.message().await.unwrap().unwrap();
        let Some(reflection::server_reflection_response::MessageResponse::ListServicesResponse(
            list,
        )) = answer.message_response
        else {
            panic!("not a service list: {answer:?}");
        };
        list.service
            .into_iter()
            .map(|service| service.name)
            .collect::<Vec<String>>()
    }};
}

/// Reflection, both v1 and v1alpha (grpcurl 1.8.6 speaks only v1alpha), lists our services.
#[tokio::test]
async fn reflection_lists_services_v1_and_v1alpha() {
    let server = TestServer::start().await;
    let expected = [
        "fundledger.v1.AdminService",
        "fundledger.v1.EventService",
        "grpc.health.v1.Health",
    ];

    for (version, names) in [
        ("v1", list_services!(v1, server)),
        ("v1alpha", list_services!(v1alpha, server)),
    ] {
        for name in expected {
            assert!(
                names.iter().any(|listed| listed == name),
                "{version} lists {name}: {names:?}"
            );
        }
    }
}

/// Shutdown turns health NOT_SERVING, and a stream that never ends on its own (a health
/// `Watch`) does not hold `serve_with_shutdown` past the shutdown grace.
#[tokio::test]
async fn shutdown_closes_streams_that_never_end() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let mut server = TestServer::start_with(fundledger::api::ServerConfig {
        shutdown_grace: std::time::Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let mut health = HealthClient::new(server.channel().await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);
    // Without the grace, `stop` would wait for the watch forever (and fail after PATIENCE).
    server.stop().await.unwrap();
    let next = tokio::time::timeout(PATIENCE, watch.message())
        .await
        .expect("the NOT_SERVING update arrives in time")
        .unwrap()
        .expect("an update before the end");
    assert_eq!(next.status(), ServingStatus::NotServing);
}

/// Appends, through the raw log (behind the command path's back), a Chongqing collection
/// of `amount` with balanced postings.
async fn append_collection(server: &TestServer, id: &str, amount: &str) -> u64 {
    use fundledger::domain::event::ContributionCollected;
    use fundledger::domain::posting::{credit, debit};
    use fundledger::domain::{Account, EmployerId, Event, Month, RegionId, Transaction, Yuan};
    let amount = Yuan::parse("amount", amount).unwrap();
    let region = RegionId::new("chongqing");
    let event = Event::ContributionCollected(ContributionCollected {
        employer: EmployerId::new("E1"),
        region: region.clone(),
        month: Month::new(2020, 1).unwrap(),
        amount,
        received_on: jiff::civil::date(2020, 1, 20),
        reference: "huge".to_owned(),
        transaction: Transaction::new(
            region,
            vec![
                debit(Account::FundBank, amount),
                credit(Account::ContributionReceivable, amount),
            ],
        )
        .unwrap(),
    });
    let new_event = fundledger::projections::stored::to_new_event(&event).unwrap();
    let mut request = command(id, Vec::new());
    request.events.push(new_event);
    server.log.append(request).await.unwrap().positions().start
}

/// Books damaged in one region (two collections of 7 × 10^28 yuan appended behind the
/// command path's back overflow Chongqing's sums) are named by health
/// (`fundledger.books.chongqing` NOT_SERVING) and by `Stats` (region and position); that
/// region's report is DATA_LOSS naming the position, and Beijing's still answers.
#[tokio::test]
async fn damaged_books_are_named_by_health_and_stats_and_confined_to_their_region() {
    use fundledger::api::ServerConfig;
    use fundledger::api::client::RegionReportRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let server = TestServer::start_ledger(ServerConfig::default()).await;
    let huge = "70000000000000000000000000000";
    append_collection(&server, "huge-1", huge).await;
    let second = append_collection(&server, "huge-2", huge).await;

    let health = HealthClient::new(server.channel().await);
    let status_of = |service: &'static str| {
        let mut health = health.clone();
        async move {
            health
                .check(HealthCheckRequest {
                    service: service.to_owned(),
                })
                .await
                .map(|answer| answer.into_inner().status())
        }
    };
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while status_of("fundledger.books.chongqing").await.ok() != Some(ServingStatus::NotServing) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "health names the damaged region"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        status_of("fundledger.books.beijing").await.unwrap(),
        ServingStatus::Serving
    );
    assert_eq!(status_of("").await.unwrap(), ServingStatus::Serving);

    let stats = server
        .admin(None)
        .await
        .stats(StatsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.damaged_books.len(), 1);
    assert_eq!(stats.damaged_books[0].region, "chongqing");
    assert_eq!(stats.damaged_books[0].position, second);
    assert!(stats.damaged_books[0].reason.contains("overflow"));

    let mut queries = server.queries(None).await;
    let report = |region: &str| RegionReportRequest {
        region: region.to_owned(),
        when: None,
    };
    let refused = queries
        .get_region_report(report("chongqing"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::DataLoss);
    assert!(
        refused.message().contains(&format!("position {second}")),
        "{}",
        refused.message()
    );
    queries.get_region_report(report("beijing")).await.unwrap();
}
