//! Access control over the network: tokens, roles, local trust, TLS and mutual TLS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_server;

use api_server::{Bearer, TestServer, token_hash};
use fundledger::api::access::AccessConfig;
use fundledger::api::client::{
    EventServiceClient, ReadEventsRequest, StatsRequest, SubscribeRequest, VerifyLogRequest,
};
use fundledger::api::{ServeError, ServerConfig, TlsConfig};
use tonic::Code;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// A command header with id `id` and no expectations.
fn header(id: &str) -> Option<fundledger::api::client::CommandHeader> {
    Some(fundledger::api::client::CommandHeader {
        command_id: id.to_owned(),
        expected: Vec::new(),
    })
}

/// Registers `employer` in Beijing as command `id`, under `name`.
fn register_in_beijing(
    id: &str,
    employer: &str,
    name: &str,
) -> fundledger::api::client::RegisterEmployerRequest {
    fundledger::api::client::RegisterEmployerRequest {
        header: header(id),
        employer_id: employer.to_owned(),
        region: "beijing".to_owned(),
        category: fundledger::api::client::EmployerCategory::Enterprise as i32,
        name: name.to_owned(),
        registered_on: "2020-01-01".to_owned(),
        average_monthly_wage: "9000.00".to_owned(),
    }
}

/// One token per role; each token's text is its role's name + "-token".
fn access_config() -> AccessConfig {
    let entry = |name: &str, role: &str, extra: &str| {
        format!(
            "[[token]]\nname = \"{name}\"\nrole = \"{role}\"\n{extra}argon2 = \"{}\"\n\n",
            token_hash(&format!("{role}-token"))
        )
    };
    let text = [
        entry("bureau", "tax_bureau", ""),
        entry("acme-hr", "employer", "employer_id = \"E1\"\n"),
        entry("city-hospital", "hospital", "institution_id = \"H1\"\n"),
        entry("desk", "benefits_desk", ""),
        entry("ops", "operator", ""),
        entry("audit", "auditor", ""),
    ]
    .concat();
    AccessConfig::parse(&text).unwrap()
}

async fn start_with_tokens() -> TestServer {
    TestServer::start_with(ServerConfig {
        access: Some(access_config()),
        ..ServerConfig::default()
    })
    .await
}

/// The status codes of the four ledger reads for `token`: ReadEvents, Subscribe, VerifyLog,
/// Stats (`Code::Ok` when allowed).
async fn read_codes(server: &TestServer, token: Option<&str>) -> [Code; 4] {
    let code = |result: Result<(), tonic::Status>| result.map_or_else(|s| s.code(), |()| Code::Ok);
    let mut events = server.events(token).await;
    let mut admin = server.admin(token).await;
    [
        code(
            events
                .read_events(ReadEventsRequest::default())
                .await
                .map(drop),
        ),
        code(
            events
                .subscribe(SubscribeRequest::default())
                .await
                .map(drop),
        ),
        code(
            admin
                .verify_log(VerifyLogRequest::default())
                .await
                .map(drop),
        ),
        code(admin.stats(StatsRequest {}).await.map(drop)),
    ]
}

/// With an access config, a call without a token, with an unknown token or with a
/// malformed header is UNAUTHENTICATED.
#[tokio::test]
async fn unauthenticated_without_a_known_token() {
    let server = start_with_tokens().await;
    assert_eq!(read_codes(&server, None).await, [Code::Unauthenticated; 4]);
    assert_eq!(
        read_codes(&server, Some("guessed")).await,
        [Code::Unauthenticated; 4]
    );
    // The stored hash is not the token.
    let stored = token_hash("auditor-token");
    assert_eq!(
        read_codes(&server, Some(&stored)).await,
        [Code::Unauthenticated; 4]
    );
    let mut raw = EventServiceClient::new(server.channel().await);
    let mut request = tonic::Request::new(ReadEventsRequest::default());
    request
        .metadata_mut()
        .insert("authorization", "Basic auditor-token".parse().unwrap());
    let status = raw.read_events(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

/// Operators and auditors may read, stream and verify; every other role is PERMISSION_DENIED
/// on each of those calls.
#[tokio::test]
async fn each_role_refused_outside_its_rights() {
    let server = start_with_tokens().await;
    for role in ["operator", "auditor"] {
        let token = format!("{role}-token");
        assert_eq!(
            read_codes(&server, Some(&token)).await,
            [Code::Ok; 4],
            "{role}"
        );
    }
    for role in ["tax_bureau", "employer", "hospital", "benefits_desk"] {
        let token = format!("{role}-token");
        assert_eq!(
            read_codes(&server, Some(&token)).await,
            [Code::PermissionDenied; 4],
            "{role}"
        );
    }
}

/// Under local trust (no access config) every caller is an operator and needs no token.
#[tokio::test]
async fn local_trust_admits_callers_without_a_token() {
    let server = TestServer::start().await;
    assert_eq!(read_codes(&server, None).await, [Code::Ok; 4]);
}

/// Health and reflection answer without a token even when an access config is set, so
/// probes and tools can discover the API.
#[tokio::test]
async fn health_needs_no_token() {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let server = start_with_tokens().await;
    let mut health = HealthClient::new(server.channel().await);
    let answer = health
        .check(HealthCheckRequest {
            service: "fundledger.v1.EventService".to_owned(),
        })
        .await;
    assert!(answer.is_ok(), "{answer:?}");
}

/// The server refuses to start with local trust on an address other hosts can reach.
#[tokio::test]
async fn local_trust_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::sync::Arc::new(
        fundledger::log::Log::open(&fundledger::log::LogConfig::new(dir.path())).unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let result = fundledger::api::serve_with_shutdown(
        std::sync::Arc::clone(&log),
        listener,
        ServerConfig::default(),
        std::future::ready(()),
    )
    .await;
    assert!(
        matches!(result, Err(ServeError::LocalTrustNotLoopback { .. })),
        "{result:?}"
    );
    // With an access config the same address is served (and stops at once here).
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let result = fundledger::api::serve_with_shutdown(
        log,
        listener,
        ServerConfig {
            access: Some(access_config()),
            ..ServerConfig::default()
        },
        std::future::ready(()),
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

fn tls_config(mutual: bool) -> TlsConfig {
    TlsConfig::from_pem(
        fixture("server.pem"),
        fixture("server.key"),
        mutual.then(|| fixture("ca.pem")),
    )
}

/// A TLS client for `server`, presenting the test client certificate if `identity`.
async fn tls_client(
    server: &TestServer,
    identity: bool,
) -> Result<EventServiceClient<api_server::Authed>, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(fixture("ca.pem")))
        .domain_name("localhost");
    if identity {
        tls = tls.identity(Identity::from_pem(
            fixture("client.pem"),
            fixture("client.key"),
        ));
    }
    let channel = Endpoint::from_shared(format!("https://{}", server.address))
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await?;
    Ok(EventServiceClient::with_interceptor(
        channel,
        Bearer::new(Some("auditor-token")),
    ))
}

/// With TLS a client that trusts the CA is served, and a plaintext client is not.
#[tokio::test]
async fn tls_serves_clients_that_trust_the_ca() {
    let server = TestServer::start_with(ServerConfig {
        access: Some(access_config()),
        tls: Some(tls_config(false)),
        ..ServerConfig::default()
    })
    .await;
    let mut client = tls_client(&server, false).await.unwrap();
    let page = client.read_events(ReadEventsRequest::default()).await;
    assert!(page.is_ok(), "{page:?}");
    let mut plaintext = server.events(Some("auditor-token")).await;
    let refused = plaintext.read_events(ReadEventsRequest::default()).await;
    assert!(refused.is_err(), "plaintext over a TLS port: {refused:?}");
}

/// With mutual TLS a client must present a certificate signed by the client CA.
#[tokio::test]
async fn mutual_tls_requires_a_client_certificate() {
    let server = TestServer::start_with(ServerConfig {
        access: Some(access_config()),
        tls: Some(tls_config(true)),
        ..ServerConfig::default()
    })
    .await;
    let mut client = tls_client(&server, true).await.unwrap();
    let page = client.read_events(ReadEventsRequest::default()).await;
    assert!(page.is_ok(), "{page:?}");
    let anonymous = match tls_client(&server, false).await {
        Ok(mut client) => client
            .read_events(ReadEventsRequest::default())
            .await
            .map(drop)
            .map_err(|status| status.code()),
        Err(_) => Err(Code::Unavailable),
    };
    assert!(anonymous.is_err(), "served without a client certificate");
}

/// The command RPCs follow the roles and scopes: each role is refused outside its rights
/// (PERMISSION_DENIED, nothing appended), scoped roles only act for their own employer or
/// institution, and a call inside its rights reaches the ledger (which may then refuse it
/// for a domain reason, never for access).
#[tokio::test]
async fn command_rights_follow_roles_and_scopes() {
    use fundledger::api::client::{
        CollectContributionRequest, EnrollmentStatusRequest, PayAllowanceRequest,
        RegionReportRequest, SettleMedicalClaimRequest,
    };
    let server = TestServer::start_ledger(ServerConfig {
        access: Some(access_config()),
        ..ServerConfig::default()
    })
    .await;
    let register = |id: &str, employer: &str| register_in_beijing(id, employer, "Acme");
    let code = |result: Result<(), tonic::Status>| result.map_or_else(|s| s.code(), |()| Code::Ok);
    let head = server.log.head();

    let mut auditor = server.commands(Some("auditor-token")).await;
    assert_eq!(
        code(
            auditor
                .register_employer(register("a1", "E1"))
                .await
                .map(drop)
        ),
        Code::PermissionDenied
    );
    let mut anonymous = server.commands(None).await;
    assert_eq!(
        code(
            anonymous
                .register_employer(register("a2", "E1"))
                .await
                .map(drop)
        ),
        Code::Unauthenticated
    );
    let mut bureau = server.commands(Some("tax_bureau-token")).await;
    assert_eq!(
        code(
            bureau
                .register_employer(register("a3", "E1"))
                .await
                .map(drop)
        ),
        Code::PermissionDenied
    );
    let mut hr = server.commands(Some("employer-token")).await;
    assert_eq!(
        code(hr.register_employer(register("a4", "E2")).await.map(drop)),
        Code::PermissionDenied
    );
    let status = EnrollmentStatusRequest {
        header: header("a5"),
        person_id: "P1".to_owned(),
        on: "2020-02-01".to_owned(),
        reason: "离职".to_owned(),
        region: "beijing".to_owned(),
    };
    assert_eq!(
        code(hr.terminate_enrollment(status.clone()).await.map(drop)),
        Code::PermissionDenied
    );
    let claim = |institution: &str| SettleMedicalClaimRequest {
        header: header("a6"),
        claim_id: "C1".to_owned(),
        person_id: "P1".to_owned(),
        region: "beijing".to_owned(),
        institution: institution.to_owned(),
        kind: fundledger::api::client::ClaimKind::Prenatal as i32,
        pregnancy_id: "G1".to_owned(),
        service_date: "2020-03-01".to_owned(),
        settled_on: "2020-03-02".to_owned(),
        actual: "100.00".to_owned(),
        ..Default::default()
    };
    let mut hospital = server.commands(Some("hospital-token")).await;
    assert_eq!(
        code(hospital.settle_medical_claim(claim("H2")).await.map(drop)),
        Code::PermissionDenied
    );
    let mut desk = server.commands(Some("benefits_desk-token")).await;
    let collect = CollectContributionRequest {
        header: header("a7"),
        employer_id: "E1".to_owned(),
        month: "2020-01".to_owned(),
        amount: "10.00".to_owned(),
        received_on: "2020-02-01".to_owned(),
        reference: "r".to_owned(),
    };
    assert_eq!(
        code(desk.collect_contribution(collect.clone()).await.map(drop)),
        Code::PermissionDenied
    );
    assert_eq!(server.log.head(), head, "no refused call appended anything");

    // Inside their rights, the calls reach the ledger.
    assert_eq!(
        code(hr.register_employer(register("b1", "E1")).await.map(drop)),
        Code::Ok
    );
    assert_eq!(
        code(hospital.settle_medical_claim(claim("H1")).await.map(drop)),
        Code::NotFound
    );
    assert_eq!(
        code(bureau.collect_contribution(collect).await.map(drop)),
        Code::FailedPrecondition
    );
    let allowance = PayAllowanceRequest {
        header: header("b4"),
        ..Default::default()
    };
    assert_eq!(
        code(desk.pay_allowance(allowance).await.map(drop)),
        Code::InvalidArgument
    );
    let mut operator = server.commands(Some("operator-token")).await;
    assert_eq!(
        code(operator.terminate_enrollment(status).await.map(drop)),
        Code::NotFound
    );
    let mut queries = server.queries(Some("auditor-token")).await;
    let report = RegionReportRequest {
        region: "beijing".to_owned(),
        when: None,
    };
    assert_eq!(
        code(queries.get_region_report(report).await.map(drop)),
        Code::Ok
    );
}

/// Regression (issue 19): an employer's token could `DeclareBases` for a person employed by
/// another employer (accepted, OK). An employer acts only on its own employees: a line for
/// another employer's employee, or for a person enrolled nowhere, is PERMISSION_DENIED and
/// appends nothing, while the same token declares its own employee's base. Enrolling, the
/// employer's other write, is confined to its own employer id already (an employer cannot
/// enroll a person with another employer).
#[tokio::test]
async fn an_employer_token_declares_bases_only_for_its_own_employees() {
    use fundledger::api::client::{DeclareBasesRequest, DeclaredWage, EnrollRequest, PersonKind};
    let server = TestServer::start_ledger(ServerConfig {
        access: Some(access_config()),
        ..ServerConfig::default()
    })
    .await;
    let register = |id: &str, employer: &str| register_in_beijing(id, employer, employer);
    let enroll = |id: &str, person: &str, employer: &str| EnrollRequest {
        header: header(id),
        person_id: person.to_owned(),
        region: "beijing".to_owned(),
        employer_id: employer.to_owned(),
        kind: PersonKind::Employee as i32,
        enrolled_on: "2020-01-02".to_owned(),
    };
    let declare = |id: &str, person: &str| DeclareBasesRequest {
        header: header(id),
        employer_id: "E1".to_owned(),
        region: "beijing".to_owned(),
        year: 2020,
        lines: vec![DeclaredWage {
            person_id: person.to_owned(),
            wage: "8000.00".to_owned(),
        }],
        employer_average_monthly_wage: String::new(),
        declared_on: "2020-01-05".to_owned(),
    };
    let mut operator = server.commands(Some("operator-token")).await;
    operator
        .register_employer(register("s1", "E2"))
        .await
        .unwrap();
    operator.enroll(enroll("s2", "P2", "E2")).await.unwrap();
    let mut hr = server.commands(Some("employer-token")).await;
    hr.register_employer(register("s3", "E1")).await.unwrap();
    hr.enroll(enroll("s4", "P1", "E1")).await.unwrap();
    let head = server.log.head();

    for (id, stranger) in [("d1", "P2"), ("d2", "nobody")] {
        let refused = hr.declare_bases(declare(id, stranger)).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        assert!(
            refused
                .message()
                .contains(&format!("person {stranger} is not an employee of E1")),
            "{refused:?}"
        );
        assert!(
            !refused.message().contains("E2"),
            "the refusal does not tell an employer who employs the person: {refused:?}"
        );
    }
    let refused = hr.enroll(enroll("d3", "P3", "E2")).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert_eq!(server.log.head(), head, "no refused call appended anything");

    hr.declare_bases(declare("d4", "P1")).await.unwrap();
    assert!(server.log.head().position > head.position);
}
