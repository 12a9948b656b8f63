//! `EventService` over the network: `ReadEvents` with its filters, and `Subscribe`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_server;
mod support;

use std::time::Duration;

use api_server::{Authed, PATIENCE, TestServer};
use fundledger::api::client::{
    Event, EventServiceClient, ReadEventsRequest, ReadEventsResponse, SubscribeRequest,
};
use fundledger::log::NewEvent;
use support::{command, event};
use tonic::Code;

/// An event of `event_type` on `stream`.
fn typed(stream: &str, event_type: &str, text: &str) -> NewEvent {
    NewEvent {
        event_type: event_type.to_owned(),
        ..event(stream, text)
    }
}

/// Appends one command per event, so each lands at the next position.
async fn append_each(server: &TestServer, prefix: &str, events: Vec<NewEvent>) {
    for (index, event) in events.into_iter().enumerate() {
        server
            .log
            .append(command(&format!("{prefix}-{index}"), vec![event]))
            .await
            .unwrap();
    }
}

/// Reads events, which must succeed.
async fn read(
    client: &mut EventServiceClient<Authed>,
    request: ReadEventsRequest,
) -> ReadEventsResponse {
    client.read_events(request).await.unwrap().into_inner()
}

/// Opens a subscription, which must be accepted.
async fn subscribe(
    client: &mut EventServiceClient<Authed>,
    request: SubscribeRequest,
) -> tonic::Streaming<Event> {
    client.subscribe(request).await.unwrap().into_inner()
}

/// A subscription to every event from `position` on.
fn from(position: u64) -> SubscribeRequest {
    SubscribeRequest {
        from_position: position,
        ..Default::default()
    }
}

fn positions(events: &[Event]) -> Vec<u64> {
    events.iter().map(|event| event.position).collect()
}

/// A position read returns the asked window and says where the next page starts.
#[tokio::test]
async fn read_events_pages_by_position() {
    let server = TestServer::start().await;
    let events = (1..=5)
        .map(|n| event("person/1", &format!("e{n}")))
        .collect();
    append_each(&server, "page", events).await;
    let mut client = server.events(None).await;
    let page = read(
        &mut client,
        ReadEventsRequest {
            from_position: 2,
            limit: 2,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(positions(&page.events), [2, 3]);
    assert_eq!(page.events[0].payload, b"e2");
    assert_eq!(page.head_position, 5);
    assert_eq!(page.next_position, 4);
    assert_eq!(page.events[1].previous_hash, page.events[0].hash);
    let rest = read(
        &mut client,
        ReadEventsRequest {
            from_position: page.next_position,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(positions(&rest.events), [4, 5]);
    assert_eq!(rest.next_position, 6, "past the head: everything was read");
}

/// A stream filter reads only that stream, in version order, and pages by stream version.
#[tokio::test]
async fn read_events_filters_by_stream() {
    let server = TestServer::start().await;
    let events = vec![
        event("person/a", "a1"),
        event("person/b", "b1"),
        event("person/a", "a2"),
        event("person/b", "b2"),
        event("person/a", "a3"),
    ];
    append_each(&server, "stream", events).await;
    let mut client = server.events(None).await;
    let page = read(
        &mut client,
        ReadEventsRequest {
            stream_id: Some("person/a".to_owned()),
            limit: 2,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(positions(&page.events), [1, 3]);
    assert_eq!(page.next_stream_version, 3);
    let rest = read(
        &mut client,
        ReadEventsRequest {
            stream_id: Some("person/a".to_owned()),
            from_stream_version: page.next_stream_version,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(positions(&rest.events), [5]);
    assert_eq!(rest.events[0].stream_version, 3);
    assert_eq!(rest.events[0].payload, b"a3");
    let none = read(
        &mut client,
        ReadEventsRequest {
            stream_id: Some("person/nobody".to_owned()),
            ..Default::default()
        },
    )
    .await;
    assert!(none.events.is_empty());
}

/// A type filter keeps only that type; it combines with the stream filter and the position.
#[tokio::test]
async fn read_events_filters_by_type() {
    let server = TestServer::start().await;
    let events = vec![
        typed("person/a", "Enrolled", "1"),
        typed("person/b", "Enrolled", "2"),
        typed("person/a", "BaseDeclared", "3"),
        typed("person/a", "Enrolled", "4"),
    ];
    append_each(&server, "type", events).await;
    let mut client = server.events(None).await;
    let enrolled = read(
        &mut client,
        ReadEventsRequest {
            event_type: Some("Enrolled".to_owned()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(positions(&enrolled.events), [1, 2, 4]);
    assert_eq!(enrolled.next_position, 5);
    let both = read(
        &mut client,
        ReadEventsRequest {
            from_position: 2,
            stream_id: Some("person/a".to_owned()),
            event_type: Some("Enrolled".to_owned()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(positions(&both.events), [4]);
}

/// Bad arguments are INVALID_ARGUMENT naming the field.
#[tokio::test]
async fn read_events_refuses_bad_arguments() {
    let server = TestServer::start().await;
    let mut client = server.events(None).await;
    let cases = [
        (
            ReadEventsRequest {
                limit: fundledger::api::READ_EVENTS_LIMIT_MAX + 1,
                ..Default::default()
            },
            "limit",
        ),
        (
            ReadEventsRequest {
                stream_id: Some(String::new()),
                ..Default::default()
            },
            "stream_id",
        ),
        (
            ReadEventsRequest {
                event_type: Some("x".repeat(fundledger::log::EVENT_TYPE_BYTES_MAX + 1)),
                ..Default::default()
            },
            "event_type",
        ),
        (
            ReadEventsRequest {
                from_stream_version: 2,
                ..Default::default()
            },
            "from_stream_version",
        ),
    ];
    for (request, field) in cases {
        let status = client.read_events(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert!(status.message().starts_with(field), "{}", status.message());
    }
}

/// The next message of a subscription, failing the test if none comes in time.
async fn next(stream: &mut tonic::Streaming<Event>) -> Event {
    tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("an event arrives in time")
        .unwrap()
        .expect("the stream is still open")
}

/// Asserts that nothing more arrives for a short while: no duplicate, no stray event.
async fn assert_quiet(stream: &mut tonic::Streaming<Event>) {
    let more = tokio::time::timeout(Duration::from_millis(300), stream.message()).await;
    assert!(more.is_err(), "unexpected message: {more:?}");
}

/// Subscribe sends the stored events, then new ones live, and a resumed subscription
/// continues from the position the client asks for without gaps or duplicates.
#[tokio::test]
async fn subscribe_catches_up_then_goes_live_then_resumes() {
    let server = TestServer::start().await;
    append_each(
        &server,
        "old",
        (1..=3).map(|n| event("s", &n.to_string())).collect(),
    )
    .await;
    let mut client = server.events(None).await;
    let mut stream = subscribe(&mut client, from(1)).await;
    let mut received = Vec::new();
    for _ in 0..3 {
        received.push(next(&mut stream).await.position);
    }
    assert_eq!(received, [1, 2, 3], "catch-up");
    assert_quiet(&mut stream).await;
    // Live: one command of two events, then one of one.
    server
        .log
        .append(command("live-1", vec![event("s", "4"), event("t", "5")]))
        .await
        .unwrap();
    append_each(&server, "live-2", vec![event("s", "6")]).await;
    let live = [
        next(&mut stream).await,
        next(&mut stream).await,
        next(&mut stream).await,
    ];
    let streams: Vec<&str> = live.iter().map(|event| event.stream_id.as_str()).collect();
    assert_eq!(
        streams,
        ["s", "t", "s"],
        "the live events are the appended ones"
    );
    received.extend(live.iter().map(|event| event.position));
    assert_eq!(received, [1, 2, 3, 4, 5, 6], "live");
    assert_quiet(&mut stream).await;
    // Disconnect; events keep coming; resume from the last received position + 1.
    drop(stream);
    drop(client);
    append_each(
        &server,
        "gap",
        (7..=9).map(|n| event("s", &n.to_string())).collect(),
    )
    .await;
    let last = *received.last().unwrap();
    let mut client = server.events(None).await;
    let mut stream = subscribe(&mut client, from(last + 1)).await;
    for _ in 0..3 {
        received.push(next(&mut stream).await.position);
    }
    append_each(&server, "after", vec![event("s", "10")]).await;
    received.push(next(&mut stream).await.position);
    assert_eq!(
        received,
        (1..=10).collect::<Vec<_>>(),
        "no gap, no duplicate"
    );
    assert_quiet(&mut stream).await;
}

/// A filtered subscription sends only the matching events, catch-up and live, and resumes
/// from the last received position + 1 without gaps or duplicates among them.
#[tokio::test]
async fn subscribe_filters_by_stream_and_type() {
    let server = TestServer::start().await;
    let events = vec![
        typed("person/a", "Enrolled", "1"),
        typed("person/b", "Enrolled", "2"),
        typed("person/a", "BaseDeclared", "3"),
    ];
    append_each(&server, "old", events).await;
    let mut client = server.events(None).await;
    let mut by_type = subscribe(
        &mut client,
        SubscribeRequest {
            event_type: Some("Enrolled".to_owned()),
            ..Default::default()
        },
    )
    .await;
    let mut by_stream = subscribe(
        &mut client,
        SubscribeRequest {
            stream_id: Some("person/a".to_owned()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(next(&mut by_type).await.position, 1);
    assert_eq!(next(&mut by_type).await.position, 2);
    assert_eq!(next(&mut by_stream).await.position, 1);
    assert_eq!(next(&mut by_stream).await.position, 3);
    let live = vec![
        typed("person/b", "BaseDeclared", "4"),
        typed("person/a", "Enrolled", "5"),
    ];
    append_each(&server, "live", live).await;
    assert_eq!(
        next(&mut by_type).await.position,
        5,
        "skips 4, another type"
    );
    assert_eq!(
        next(&mut by_stream).await.position,
        5,
        "skips 4, another stream"
    );
    assert_quiet(&mut by_type).await;
    assert_quiet(&mut by_stream).await;
    drop(by_type);
    append_each(&server, "gap", vec![typed("person/c", "Enrolled", "6")]).await;
    let mut resumed = subscribe(
        &mut client,
        SubscribeRequest {
            from_position: 6,
            event_type: Some("Enrolled".to_owned()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(next(&mut resumed).await.position, 6);
    assert_quiet(&mut resumed).await;
    let status = client
        .subscribe(SubscribeRequest {
            stream_id: Some(String::new()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

/// A subscription that has to catch up on more than one read batch still arrives whole and
/// in order.
#[tokio::test]
async fn subscribe_catches_up_across_batches() {
    let server = TestServer::start().await;
    let total = fundledger::api::SUBSCRIBE_READ_BATCH_EVENTS_MAX * 2 + 5;
    let events = (0..total).map(|n| event("bulk", &n.to_string())).collect();
    server.log.append(command("bulk", events)).await.unwrap();
    let mut client = server.events(None).await;
    let mut stream = subscribe(&mut client, from(0)).await;
    for expected in 1..=total {
        assert_eq!(next(&mut stream).await.position, expected);
    }
    assert_quiet(&mut stream).await;
}

/// Shutting the server down ends an open subscription with OK, and the server stops.
#[tokio::test]
async fn subscribe_ends_cleanly_on_shutdown() {
    let mut server = TestServer::start().await;
    append_each(&server, "one", vec![event("s", "1")]).await;
    let mut client = server.events(None).await;
    let mut stream = subscribe(&mut client, from(1)).await;
    assert_eq!(next(&mut stream).await.position, 1);
    server.stop().await.unwrap();
    let end = tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("the stream ends in time");
    assert!(matches!(end, Ok(None)), "ended with {end:?}");
}

/// Beyond SUBSCRIPTIONS_MAX a subscription is RESOURCE_EXHAUSTED, and a closed one frees
/// its place.
#[tokio::test]
async fn subscriptions_are_bounded() {
    let server = TestServer::start().await;
    let mut open = Vec::new();
    // Spread over a few connections: each connection serves at most 256 calls at once.
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(server.events(None).await);
    }
    for index in 0..fundledger::api::SUBSCRIPTIONS_MAX {
        let client = &mut clients[index % 4];
        let stream = subscribe(client, from(1)).await;
        open.push(stream);
    }
    let refused = clients[0].subscribe(from(1)).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    drop(open.pop());
    // The server notices the closed stream asynchronously.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match clients[0].subscribe(from(1)).await {
            Ok(_) => break,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted);
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the place is freed in time"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}
