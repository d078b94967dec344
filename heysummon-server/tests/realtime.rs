//! Real-time delivery (PROTOCOL B1): the SSE stream `GET /api/v1/events/stream`, the Mercure
//! subscribe endpoint `GET /.well-known/mercure`, replay with `Last-Event-ID` (also across a
//! restart and past retention), keep-alives, graceful shutdown, tenancy, and the long-poll
//! `GET /api/v1/help/:id?wait=N`. Every read is bounded by a timeout so no test can hang.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::TestApp;
use common::sse::{Read, Stream, WAIT, assert_events};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "0123456789abcdef0123456789abcdef";
/// `exp` far beyond the manual clock (2096).
const FAR_FUTURE: i64 = 4_000_000_000;
const STREAM: &str = "/api/v1/events/stream";

type Headers<'a> = &'a [(&'a str, &'a str)];

async fn send(server: &TestApp, path: &str, headers: Headers<'_>) -> reqwest::Response {
    let mut request = server.http.get(server.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    tokio::time::timeout(WAIT, request.send())
        .await
        .expect("response headers in time")
        .unwrap()
}

/// The status of a (refused) subscription attempt.
async fn status_of(server: &TestApp, path: &str, headers: Headers<'_>) -> StatusCode {
    send(server, path, headers).await.status()
}

/// Opens a stream and consumes the greeting (`retry:` + `: connected`).
async fn connect(server: &TestApp, path: &str, headers: Headers<'_>) -> Stream {
    let response = send(server, path, headers).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let (stream, greeting) = Stream::greeted(response, path).await;
    assert_eq!(greeting.retry, Some(3000), "{greeting:?}");
    stream
}

async fn connect_with_key(server: &TestApp, path: &str, key: &str) -> Stream {
    connect(server, path, &[("x-api-key", key)]).await
}

fn jwt(header: &Value, claims: &Value, secret: &str) -> String {
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{head}.{body}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{head}.{body}.{signature}")
}

fn subscriber_jwt(selectors: &[&str], exp: i64, secret: &str) -> String {
    jwt(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &json!({"mercure": {"subscribe": selectors}, "exp": exp}),
        secret,
    )
}

fn mercure(topic: &str) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("topic", topic)
        .finish();
    format!("/.well-known/mercure?{query}")
}

async fn close(server: &TestApp, key: &str, id: &str) {
    let (status, body) = server
        .post(&format!("/api/v1/close/{id}"), key, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn sse_delivers_answer_events_without_content() {
    let server = common::spawn().await;
    let question = "QUESTION-TEXT-7781 may I deploy?";
    let answer = "ANSWER-TEXT-5512 yes";
    let id = server.ask_ok(&server.client_key, question).await;
    let (_, created) = server
        .get(&format!("/api/v1/help/{id}"), &server.client_key)
        .await;
    let key = [("x-api-key", server.client_key.as_str())];
    let mut stream = connect(&server, STREAM, &key).await;
    assert_eq!(stream.header("cache-control"), Some("no-store"));

    server.answer(&server.expert_key, &id, answer).await;
    let events = stream.events(2).await;
    assert_events(&events, 0, &[("new_message", &id), ("responded", &id)]);
    for frame in &events {
        let payload = frame.payload();
        assert_eq!(payload.request_id.as_str(), id);
        assert_eq!(frame.json()["refCode"], created["refCode"]);
        assert!(payload.ref_code.is_some());
        assert_eq!(frame.json()["status"], "responded");
        assert!(!frame.data().contains("QUESTION-TEXT"), "{frame:?}");
        assert!(!frame.data().contains("ANSWER-TEXT"), "{frame:?}");
    }
    assert_eq!(events[0].json()["from"], "expert");
    // The first event repeats the `retry:` hint (clients that ignore it on the greeting).
    assert_eq!(events[0].retry, Some(3000), "{:?}", events[0]);
    assert_eq!(events[1].retry, None, "{:?}", events[1]);
    stream.assert_quiet().await;

    // `?requestId=` narrows the stream to one request of the key.
    let wanted = server.ask_ok(&server.client_key, "first").await;
    let other = server.ask_ok(&server.client_key, "second").await;
    let path = format!("{STREAM}?requestId={wanted}");
    let mut narrowed = connect(&server, &path, &key).await;
    server
        .answer(&server.expert_key, &other, "to the other")
        .await;
    server
        .answer(&server.expert_key, &wanted, "to the wanted")
        .await;
    let events = narrowed.events(2).await;
    assert_events(
        &events,
        0,
        &[("new_message", &wanted), ("responded", &wanted)],
    );
    narrowed.assert_quiet().await;
}

#[tokio::test]
async fn expert_stream_gets_new_requests_and_notifications() {
    let server = common::spawn().await;
    let mut stream = connect_with_key(&server, STREAM, &server.expert_key).await;
    let id = server.ask_ok(&server.client_key, "help me").await;
    let frame = stream.next_event().await;
    assert_eq!((frame.kind(), frame.request_id()), ("new_request", id));
    assert_eq!(frame.json()["status"], "pending");
    assert!(!frame.data().contains("help me"));

    let (status, body) = server
        .call(
            Method::POST,
            "/api/v1/help",
            None,
            Some(json!({
                "apiKey": server.client_key,
                "signPublicKey": "test-sign-key",
                "encryptPublicKey": "test-encrypt-key",
                "question": "FYI: backup done",
                "responseRequired": false,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let frame = stream.next_event().await;
    assert_eq!(frame.kind(), "new_notification");
    assert_eq!(frame.request_id(), body["requestId"].as_str().unwrap());
    stream.assert_quiet().await;
}

#[tokio::test]
async fn reconnect_replays_exactly_the_missed_events() {
    let server = common::spawn().await;
    let key = [("x-api-key", server.client_key.as_str())];
    let mut stream = connect(&server, STREAM, &key).await;
    let first = server.ask_ok(&server.client_key, "one").await;
    server.answer(&server.expert_key, &first, "a").await;
    let seen = stream.events(3).await;
    let seen_kinds = [
        ("new_request", first.as_str()),
        ("new_message", &first),
        ("responded", &first),
    ];
    assert_events(&seen, 0, &seen_kinds);
    let last = seen[2].id();
    drop(stream);

    // While disconnected.
    let second = server.ask_ok(&server.client_key, "two").await;
    server.answer(&server.expert_key, &second, "b").await;
    close(&server, &server.client_key, &first).await;
    let missed = [
        ("new_request", second.as_str()),
        ("new_message", &second),
        ("responded", &second),
        ("closed", &first),
    ];

    let last_header = last.to_string();
    let headers = [key[0], ("last-event-id", last_header.as_str())];
    let mut resumed = connect(&server, STREAM, &headers).await;
    let replayed = resumed.events(4).await;
    assert_events(&replayed, last, &missed);
    assert_eq!(resumed.header("last-event-id"), None);
    resumed.assert_quiet().await;

    // The same with the query parameter, from the middle.
    let path = format!("{STREAM}?lastEventId={}", replayed[1].id());
    let mut resumed = connect(&server, &path, &key).await;
    let replayed_again = resumed.events(2).await;
    assert_events(&replayed_again, replayed[1].id(), &missed[2..]);
    assert_eq!(replayed_again[0].id(), replayed[2].id());
    resumed.assert_quiet().await;
    // Live events still follow the replay.
    server.answer(&server.expert_key, &second, "c").await;
    let live = resumed.next_event().await;
    assert_eq!((live.kind(), live.request_id()), ("new_message", second));
    assert!(live.id() > replayed[3].id());
}

#[tokio::test]
async fn replay_survives_a_restart() {
    let server = common::spawn().await;
    let key = server.client_key.clone();
    let mut stream = connect_with_key(&server, STREAM, &key).await;
    let first = server.ask_ok(&key, "before restart").await;
    let seen = stream.next_event().await;
    assert_eq!(
        (seen.kind(), seen.request_id()),
        ("new_request", first.clone())
    );
    let second = server.ask_ok(&key, "also before restart").await;
    assert_eq!(stream.next_event().await.request_id(), second);

    let server = server.restart().await;
    // The restart's graceful shutdown ended the open stream.
    assert!(stream.ends().await, "the stream outlived the server");

    server
        .answer(&server.expert_key, &first, "after restart")
        .await;
    let last = seen.id().to_string();
    let headers = [
        ("x-api-key", key.as_str()),
        ("last-event-id", last.as_str()),
    ];
    let mut resumed = connect(&server, STREAM, &headers).await;
    let replayed = resumed.events(3).await;
    let expected = [
        ("new_request", second.as_str()),
        ("new_message", &first),
        ("responded", &first),
    ];
    assert_events(&replayed, seen.id(), &expected);
    resumed.assert_quiet().await;
}

#[tokio::test]
async fn idle_streams_get_keep_alive_comments() {
    let server = common::spawn_with(|c| c.events.keep_alive_secs = 1).await;
    let mut stream = connect_with_key(&server, STREAM, &server.client_key).await;
    let started = Instant::now();
    let Read::Frame(frame) = stream.read(Duration::from_millis(2500)).await else {
        panic!("no keep-alive within 2.5 s");
    };
    assert!(!frame.is_event(), "{frame:?}");
    assert_eq!(frame.comments, vec!["keep-alive"], "{frame:?}");
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn graceful_shutdown_ends_open_streams() {
    let mut server = common::spawn().await;
    let mut client = connect_with_key(&server, STREAM, &server.client_key).await;
    let topic = format!("/heysummon/experts/{}", server.expert_id);
    let mut hub = connect_with_key(&server, &mercure(&topic), &server.expert_key).await;
    tokio::time::timeout(WAIT, server.stop())
        .await
        .expect("shutdown completes while streams are open");
    for stream in [&mut client, &mut hub] {
        assert!(stream.ends().await, "stream still open after shutdown");
    }
}

#[tokio::test]
async fn other_tenants_never_see_events() {
    let server = common::spawn_with(|c| c.events.keep_alive_secs = 1).await;
    let bob = server.tenant("Bob").await;
    let alice_request = server.ask_ok(&server.client_key, "alice's question").await;
    let client = [("x-api-key", bob.client_key.as_str())];
    let expert = [("x-api-key", bob.expert_key.as_str())];
    let from_start = [client[0], ("last-event-id", "0")];
    let topic = format!("/heysummon/requests/{alice_request}");
    let mut streams = [
        connect(&server, STREAM, &client).await,
        connect(&server, STREAM, &expert).await,
        connect(&server, STREAM, &from_start).await,
        connect(&server, &mercure(&topic), &client).await,
        connect(&server, &mercure("*"), &client).await,
        connect(&server, &mercure("*"), &expert).await,
        connect(&server, &mercure("*"), &from_start).await,
    ];
    let mut alice = connect_with_key(&server, STREAM, &server.client_key).await;

    server
        .answer(&server.expert_key, &alice_request, "yes")
        .await;
    close(&server, &server.client_key, &alice_request).await;
    server.ask_ok(&server.client_key, "another").await;
    assert_eq!(alice.events(4).await.len(), 4, "Alice sees her own events");

    let results = futures_util::future::join_all(
        streams
            .iter_mut()
            .map(|s| s.collect(Duration::from_millis(1500))),
    )
    .await;
    for (index, (events, comments)) in results.into_iter().enumerate() {
        assert!(events.is_empty(), "stream {index} leaked: {events:?}");
        assert!(!comments.is_empty(), "stream {index} got no keep-alive");
        for frame in comments {
            assert_eq!(frame.comments, vec!["keep-alive"], "stream {index}");
        }
    }
    // Bob's streams are alive: his own request reaches his client stream.
    let own = server.ask_ok(&bob.client_key, "bob's question").await;
    assert_eq!(streams[0].next_event().await.request_id(), own);
}

#[tokio::test]
async fn mercure_subscriptions_by_jwt_and_api_key() {
    let server = common::spawn_with(|c| {
        c.events.mercure_jwt_secret = Some(SECRET.into());
    })
    .await;
    let bob = server.tenant("Bob").await;
    let r1 = server.ask_ok(&server.client_key, "one").await;
    let r2 = server.ask_ok(&server.client_key, "two").await;
    let r3 = server.ask_ok(&bob.client_key, "three").await;

    let request_token = subscriber_jwt(&[&format!("/heysummon/requests/{r1}")], FAR_FUTURE, SECRET);
    let request_auth = format!("Bearer {request_token}");
    let any_auth = format!("Bearer {}", subscriber_jwt(&["*"], FAR_FUTURE, SECRET));
    let expert_topic = mercure(&format!("/heysummon/experts/{}", server.expert_id));
    let (any, r1_topic) = (mercure("*"), mercure(&format!("/heysummon/requests/{r1}")));
    let by_token = [("authorization", request_auth.as_str())];
    let any_token = [("authorization", any_auth.as_str())];
    let key = [("x-api-key", server.client_key.as_str())];
    let mut by_request = connect(&server, &any, &by_token).await;
    let mut by_expert = connect(&server, &expert_topic, &any_token).await;
    let mut by_key = connect(&server, &r1_topic, &key).await;

    server.answer(&bob.expert_key, &r3, "b").await;
    server.answer(&server.expert_key, &r2, "a").await;
    server.answer(&server.expert_key, &r1, "a").await;
    let only_r1 = [("new_message", r1.as_str()), ("responded", &r1)];
    assert_events(&by_request.events(2).await, 0, &only_r1);
    assert_events(&by_key.events(2).await, 0, &only_r1);
    let r2_then_r1 = [
        ("new_message", r2.as_str()),
        ("responded", &r2),
        only_r1[0],
        only_r1[1],
    ];
    assert_events(&by_expert.events(4).await, 0, &r2_then_r1);
    for stream in [&mut by_request, &mut by_key, &mut by_expert] {
        stream.assert_quiet().await;
    }

    // Refusals.
    let claims = json!({"mercure": {"subscribe": ["*"]}, "exp": FAR_FUTURE});
    let expired = subscriber_jwt(&["*"], 1_700_000_000, SECRET);
    let wrong = jwt(
        &json!({"alg": "HS256"}),
        &claims,
        "another secret of 32 bytes or more",
    );
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let bad: Vec<String> = [expired, wrong, none]
        .iter()
        .map(|t| format!("Bearer {t}"))
        .collect();
    let no_topic = "/.well-known/mercure";
    let cases: [(&str, Headers<'_>, StatusCode); 7] = [
        (
            &any,
            &[("authorization", &bad[0])],
            StatusCode::UNAUTHORIZED,
        ),
        (
            &any,
            &[("authorization", &bad[1])],
            StatusCode::UNAUTHORIZED,
        ),
        (
            &any,
            &[("authorization", &bad[2])],
            StatusCode::UNAUTHORIZED,
        ),
        (&any, &[], StatusCode::UNAUTHORIZED),
        (
            &any,
            &[("x-api-key", "hs_cli_not_a_key")],
            StatusCode::UNAUTHORIZED,
        ),
        (no_topic, &any_token, StatusCode::BAD_REQUEST),
        (no_topic, &key, StatusCode::BAD_REQUEST),
    ];
    for (path, headers, expected) in cases {
        let status = status_of(&server, path, headers).await;
        assert_eq!(status, expected, "{path} {headers:?}");
    }
}

#[tokio::test]
async fn mercure_bearer_refused_without_a_secret() {
    let server = common::spawn().await;
    let auth = format!("Bearer {}", subscriber_jwt(&["*"], FAR_FUTURE, SECRET));
    let status = status_of(&server, &mercure("*"), &[("authorization", auth.as_str())]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pruned_cursor_is_answered_with_earliest() {
    let server = common::spawn_with(|c| c.events.retention_secs = 60).await;
    let key = [("x-api-key", server.client_key.as_str())];
    let mut stream = connect(&server, STREAM, &key).await;
    let old = server.ask_ok(&server.client_key, "old").await;
    server.answer(&server.expert_key, &old, "old answer").await;
    let old_events = stream.events(3).await;
    drop(stream);

    server.clock.advance(120 * 1000);
    heysummon_server::sweeper::sweep_once(&server.state)
        .await
        .unwrap();
    let fresh = server.ask_ok(&server.client_key, "fresh").await;

    let first = old_events[0].id().to_string();
    let from_first = [key[0], ("last-event-id", first.as_str())];
    let paths = [STREAM.to_owned(), mercure("*")];
    for path in &paths {
        let mut stream = connect(&server, path, &from_first).await;
        assert_eq!(stream.header("last-event-id"), Some("earliest"), "{path}");
        // What is retained is still replayed; the pruned events are gone.
        let frame = stream.next_event().await;
        assert_eq!(
            (frame.kind(), frame.request_id()),
            ("new_request", fresh.clone())
        );
        stream.assert_quiet().await;
    }
    // A cursor that missed nothing is not told "earliest".
    let last = old_events[2].id().to_string();
    let from_last = [key[0], ("last-event-id", last.as_str())];
    for path in &paths {
        let stream = connect(&server, path, &from_last).await;
        assert_eq!(stream.header("last-event-id"), None, "{path}");
    }
}

#[tokio::test]
async fn long_poll_answers_as_soon_as_the_status_changes() {
    let server = common::spawn().await;
    let key = server.client_key.clone();
    let id = server.ask_ok(&key, "wait for me").await;
    let poll = |query: &str| format!("/api/v1/help/{id}{query}");

    // Unanswered: the wait runs out, status unchanged.
    let started = Instant::now();
    let (status, body) = server.get(&poll("?wait=1"), &key).await;
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "pending");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );

    for query in ["?wait=0", "", "?wait="] {
        let started = Instant::now();
        let (status, body) = server.get(&poll(query), &key).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "pending");
        assert!(started.elapsed() < Duration::from_millis(500), "{query}");
    }
    for query in ["?wait=abc", "?wait=-1", "?wait=1.5"] {
        let (status, body) = server.get(&poll(query), &key).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
    }

    // An answer ~300 ms into the wait ends it at once.
    let http = server.http.clone();
    let url = server.url(&format!("/api/v1/message/{id}"));
    let expert_key = server.expert_key.clone();
    let answering = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let response = http
            .post(url)
            .header("x-api-key", expert_key)
            .json(&json!({"from": "expert", "plaintext": "go ahead"}))
            .send()
            .await
            .unwrap();
        response.status()
    });
    let started = Instant::now();
    let (status, body) = tokio::time::timeout(WAIT, server.get(&poll("?wait=5"), &key))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(answering.await.unwrap(), StatusCode::OK);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "responded");
    assert_eq!(body["response"], "go ahead");
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");

    // Not waiting any more: a responded request answers at once, also after a further expert
    // message, and a wait over the cap is accepted (capped, not refused).
    server.answer(&server.expert_key, &id, "and one more").await;
    for query in ["?wait=5", "?wait=999"] {
        let started = Instant::now();
        let (status, body) = server.get(&poll(query), &key).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "responded");
        assert!(started.elapsed() < Duration::from_millis(500), "{query}");
    }
}

// Regressions found in review: a replay that a topic filter (or another request's events)
// empties must still move on; events another process commits are published in their place;
// shutdown ends a stream even while it replays.

#[tokio::test]
async fn replay_moves_past_events_the_topic_filter_drops() {
    let server = common::spawn_with(|c| {
        c.events.mercure_jwt_secret = Some(SECRET.into());
    })
    .await;
    let r1 = server.ask_ok(&server.client_key, "one").await;
    let r2 = server.ask_ok(&server.client_key, "two").await;
    let tok = subscriber_jwt(&[&format!("/heysummon/requests/{r1}")], FAR_FUTURE, SECRET);
    let auth = format!("Bearer {tok}");
    let r1_topic = mercure(&format!("/heysummon/requests/{r1}"));
    let headers = [("authorization", auth.as_str()), ("last-event-id", "0")];
    let mut s = connect(&server, &r1_topic, &headers).await;
    let _first = s.next_event().await;
    let (_idle, _) = s.collect(Duration::from_secs(3)).await;
    // now a live r1 event: does it arrive?
    server.answer(&server.expert_key, &r1, "a").await;
    let (events, _) = s.collect(Duration::from_secs(2)).await;
    let _ = r2;
    assert!(
        !events.is_empty(),
        "live events never arrive: replay loop stuck"
    );
}

#[tokio::test]
async fn request_replay_is_not_cut_short_by_other_requests_events() {
    let server = common::spawn_with(|c| c.rate_limits.per_key = 1_000_000).await;
    let target = server.ask_ok(&server.client_key, "target").await;
    let mark = {
        let key = [("x-api-key", server.client_key.as_str())];
        let mut s = connect(&server, STREAM, &key).await;
        let id = server.ask_ok(&server.client_key, "noise0").await;
        let _ = id;
        s.next_event().await.id()
    };
    // 600 events of other requests of the same key
    for i in 0..600 {
        server
            .ask_ok(&server.client_key, &format!("noise {i}"))
            .await;
    }
    server.answer(&server.expert_key, &target, "a").await;
    let path = format!("{STREAM}?requestId={target}");
    let m = mark.to_string();
    let headers = [
        ("x-api-key", server.client_key.as_str()),
        ("last-event-id", m.as_str()),
    ];
    let mut s = connect(&server, &path, &headers).await;
    let (events, _) = s.collect(Duration::from_secs(2)).await;
    assert!(
        !events.is_empty(),
        "target's events after 600 noise events were not replayed"
    );
}

#[tokio::test]
async fn events_of_other_processes_are_published_in_place() {
    let server = common::spawn().await;
    let key = [("x-api-key", server.client_key.as_str())];
    let mut s = connect(&server, STREAM, &key).await;
    let r1 = server.ask_ok(&server.client_key, "one").await;
    let _first = s.next_event().await;
    // A "CLI" on the same database file.
    let mut other = heysummon_server::store::Store::open(&server.state.config.database_url)
        .await
        .unwrap();
    // It records in the audit log with the server's key, as the CLI does.
    if let Some(path) = &server.state.config.audit_key_file {
        other = other.with_audit_key_file(path.clone());
    }
    let rec = other.request(&r1).await.unwrap().unwrap();
    let now = server.clock.now();
    let _ = heysummon_server::lifecycle::perform(
        &other,
        rec,
        heysummon_server::lifecycle::Action::ExpireNow,
        now,
    )
    .await
    .unwrap();
    // An in-process write before the 500 ms external-publication tick.
    let _r2 = server.ask_ok(&server.client_key, "two").await;
    let (events, _) = s.collect(Duration::from_secs(2)).await;
    let got: Vec<_> = events
        .iter()
        .map(|f| (f.id(), f.kind().to_owned(), f.request_id()))
        .collect();
    assert!(
        got.iter().any(|(_, k, r)| k == "expired" && *r == r1),
        "CLI's expired event never published live"
    );
}

#[tokio::test]
async fn shutdown_ends_streams_that_are_replaying() {
    let mut server = common::spawn().await;
    let r1 = server.ask_ok(&server.client_key, "one").await;
    let _r2 = server.ask_ok(&server.client_key, "two").await;
    let topic = mercure(&format!("/heysummon/requests/{r1}"));
    let headers = [
        ("x-api-key", server.client_key.as_str()),
        ("last-event-id", "0"),
    ];
    let mut s = connect(&server, &topic, &headers).await;
    let _ = s.next_event().await;
    let done = tokio::time::timeout(Duration::from_secs(5), server.stop()).await;
    assert!(
        done.is_ok(),
        "graceful shutdown did not finish within 5 s while a stream replays"
    );
}
