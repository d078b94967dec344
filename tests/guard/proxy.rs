//! The proxy's own behaviour: key refusal, content safety, body limits, upstream failures,
//! hop-by-hop headers, health, and event streams passed through as they arrive.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::{GuardHandle, Stub, TestApp, call, help_body};
use heysummon_guard::SafetyMode;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const KEY: &str = "hs_cli_guardtest0001";

async fn guard_before_stub(delay: Duration) -> (Stub, GuardHandle, tempfile::TempDir) {
    let stub = Stub::start(delay).await;
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&stub.base, KEY, &dir.path().join("device.key")).await;
    (stub, guard, dir)
}

#[tokio::test]
async fn a_different_api_key_is_refused_locally() {
    let (stub, guard, _dir) = guard_before_stub(Duration::ZERO).await;
    let http = reqwest::Client::new();
    let (status, body) = call(
        &http,
        Method::GET,
        &guard.url("/api/v1/whoami"),
        &[("x-api-key", "hs_cli_someoneelse")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "API_KEY_MISMATCH");
    let mut help = help_body("q");
    help["apiKey"] = json!("hs_cli_someoneelse");
    let (status, _) = call(
        &http,
        Method::POST,
        &guard.url("/api/v1/help"),
        &[],
        Some(help),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(stub.count(), 0, "nothing was forwarded");
    // Without a key, the guard's own is injected.
    let (status, _) = call(&http, Method::GET, &guard.url("/api/v1/whoami"), &[], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stub.last().headers["x-api-key"], KEY);
}

#[tokio::test]
async fn blocked_content_never_leaves_the_machine() {
    let (stub, guard, _dir) = guard_before_stub(Duration::ZERO).await;
    let http = reqwest::Client::new();
    let cases = [
        help_body("My card is 4111 1111 1111 1111"),
        json!({"signPublicKey": "a", "encryptPublicKey": "b", "question": "fine",
               "messages": [{"role": "user", "content": [{"text": "SSN 123-45-6789"}]}]}),
    ];
    for body in cases {
        let (status, answer) = call(
            &http,
            Method::POST,
            &guard.url("/api/v1/help"),
            &[],
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(answer["error"], "Content blocked by safety filter");
        assert!(
            answer["flags"].as_array().is_some_and(|f| !f.is_empty()),
            "{answer}"
        );
    }
    let (status, _) = call(
        &http,
        Method::POST,
        &guard.url("/api/v1/message/req1"),
        &[],
        Some(json!({"from": "consumer", "plaintext": "card 4111-1111-1111-1111"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stub.count(), 0);
    // Flags that do not block are forwarded.
    let (status, _) = call(
        &http,
        Method::POST,
        &guard.url("/api/v1/help"),
        &[],
        Some(help_body("see https://example.com")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stub.count(), 1);
    // Not JSON, or not an object: refused locally too (nothing unscanned leaves).
    let response = http
        .post(guard.url("/api/v1/help"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = http
        .post(guard.url("/api/v1/help"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = http
        .post(guard.url("/api/v1/%68elp"))
        .json(&help_body("4111 1111 1111 1111"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn blocked_content_never_reaches_a_real_server_and_flag_mode_forwards() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("k")).await;
    guard.guard.enroll().await.unwrap();
    let http = reqwest::Client::new();
    let (status, _) = call(
        &http,
        Method::POST,
        &guard.url("/api/v1/help"),
        &[],
        Some(help_body("BSN 111222333")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(server.request_count().await, 0);
    // In flag mode the guard forwards; the server applies the same rule and refuses.
    let flagging = GuardHandle::start_with(
        &server.base,
        &server.client_key,
        &dir.path().join("k"),
        |c| c.safety = SafetyMode::Flag,
    )
    .await;
    let (status, body) = call(
        &http,
        Method::POST,
        &flagging.url("/api/v1/help"),
        &[],
        Some(help_body("BSN 111222333")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "Content blocked by safety filter");
    assert_eq!(server.request_count().await, 0);
    let (status, _) = call(
        &http,
        Method::POST,
        &flagging.url("/api/v1/help"),
        &[],
        Some(help_body("clean")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.request_count().await, 1);
}

#[tokio::test]
async fn oversized_bodies_get_413_and_are_not_forwarded() {
    let (stub, guard, _dir) = guard_before_stub(Duration::ZERO).await;
    let http = reqwest::Client::new();
    let big = vec![b'a'; 1024 * 1024 + 1];
    let response = http
        .post(guard.url("/api/v1/anything"))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"error": "Request body too large (max 1MB)"}));
    // Chunked: no declared length, counted while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let stream = reqwest::Body::wrap_stream(futures_stream(chunks));
    let response = http
        .post(guard.url("/api/v1/help"))
        .header("content-type", "application/json")
        .body(stream)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(stub.count(), 0);
    // Exactly the limit passes.
    let response = http
        .post(guard.url("/api/v1/anything"))
        .body(vec![b'a'; 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(stub.last().body.len(), 1024 * 1024);
}

fn futures_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    struct Chunks(std::vec::IntoIter<Result<Vec<u8>, std::io::Error>>);
    impl futures_core::Stream for Chunks {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Chunks(chunks.into_iter())
}

#[tokio::test]
async fn upstream_down_is_502_and_slow_is_504() {
    // A port that was just free: nothing listens.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&format!("http://{free}"), KEY, &dir.path().join("k")).await;
    let http = reqwest::Client::new();
    let (status, body) = call(&http, Method::GET, &guard.url("/api/v1/whoami"), &[], None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body["error"].is_string(), "{body}");

    let stub = Stub::start(Duration::from_secs(3)).await;
    let slow = GuardHandle::start_with(&stub.base, KEY, &dir.path().join("k"), |c| {
        c.limits.upstream_timeout = Duration::from_secs(1);
    })
    .await;
    let started = std::time::Instant::now();
    let (status, body) = call(&http, Method::GET, &slow.url("/api/v1/whoami"), &[], None).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(body["error"].is_string(), "{body}");
    assert!(started.elapsed() < Duration::from_millis(2500));
    // A long-poll gets its wait on top of the timeout: 1 s + 3 s covers the stub's 3 s.
    let (status, _) = call(
        &http,
        Method::GET,
        &slow.url("/api/v1/help/x?wait=3"),
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn hop_by_hop_headers_are_stripped_both_ways() {
    let (stub, guard, _dir) = guard_before_stub(Duration::ZERO).await;
    // Raw HTTP/1.1, so the test controls every header.
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = guard.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = "GET /api/v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive, X-Drop-Me\r\n\
                   X-Drop-Me: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic eA==\r\n\
                   Proxy-Foo: 1\r\nTE: trailers\r\nUpgrade: websocket\r\nX-Keep: yes\r\n\r\n";
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = vec![0u8; 4096];
    let mut response = String::new();
    while !response.contains("{\"ok\":true}") {
        let n = socket.read(&mut buffer).await.unwrap();
        assert!(n > 0, "connection closed: {response}");
        response.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    let seen = stub.last().headers;
    for dropped in [
        "x-drop-me",
        "keep-alive",
        "proxy-authorization",
        "proxy-foo",
        "te",
        "upgrade",
    ] {
        assert!(
            !seen.contains_key(dropped),
            "{dropped} was forwarded: {seen:?}"
        );
    }
    // The upstream's Connection header carries only the client connection's own semantics.
    assert!(seen.get("connection").is_none_or(|v| v != "close"));
    assert_eq!(seen["x-keep"], "yes");
    let lower = response.to_ascii_lowercase();
    assert!(lower.contains("x-stub: 1"), "{response}");
    for dropped in ["x-hop-secret", "keep-alive:", "proxy-authenticate"] {
        assert!(!lower.contains(dropped), "{dropped} came back: {response}");
    }
    assert!(!lower.contains("connection: close"));
}

#[tokio::test]
async fn health_answers_locally() {
    let (stub, guard, _dir) = guard_before_stub(Duration::ZERO).await;
    let (status, body) = call(
        &reqwest::Client::new(),
        Method::GET,
        &guard.url("/health"),
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["upstream"], format!("{}/", stub.base));
    assert!(body["version"].is_string());
    assert_eq!(stub.count(), 0);
}

#[tokio::test]
async fn event_stream_passes_through_incrementally() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("k")).await;
    guard.guard.enroll().await.unwrap();
    let http = reqwest::Client::new();
    let (status, body) = call(
        &http,
        Method::POST,
        &guard.url("/api/v1/help"),
        &[],
        Some(help_body("Ship it?")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["requestId"].as_str().unwrap().to_owned();
    let mut stream = http
        .get(guard.url(&format!("/api/v1/events/stream?requestId={id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // The stream is open and has delivered its first bytes before the expert answers.
    let first = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!first.is_empty());
    let mut seen = String::from_utf8_lossy(&first).into_owned();
    assert!(!seen.contains("new_message"));
    let (status, body) = call(
        &http,
        Method::POST,
        &format!("{}/api/v1/message/{id}", server.base),
        &[("x-api-key", &server.expert_key)],
        Some(json!({"from": "expert", "plaintext": "Yes."})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains("event: new_message") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("the event arrives")
            .unwrap()
            .expect("stream still open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}
