//! PROTOCOL B4 end to end: a real guard signing for a real server. Enrollment, accepted signed
//! requests, and the server's refusals of unsigned, altered, replayed (also across a server
//! restart) and stale requests; the guard keeps its device key across restarts.

#![allow(clippy::unwrap_used)]

use crate::common::{GuardHandle, Stub, TestApp, call, help_body, now_ms};
use heysummon_guard::Enrollment;
use heysummon_server::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Sends a request a stub recorded to the real server, byte for byte, with its signature.
async fn replay(
    server: &TestApp,
    recorded: &crate::common::Recorded,
    body: &[u8],
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(
        Method::from_bytes(recorded.method.as_bytes()).unwrap(),
        format!("{}{}", server.base, recorded.path_and_query),
    );
    for name in [
        "x-api-key",
        "content-type",
        "x-heysummon-timestamp",
        "x-heysummon-nonce",
        "x-heysummon-signature",
        "x-heysummon-device",
    ] {
        if let Some(value) = recorded.headers.get(name) {
            request = request.header(name, value.to_str().unwrap());
        }
    }
    let response = request.body(body.to_vec()).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn enrolled_guard_signs_and_the_server_accepts() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("device.key");
    let guard = GuardHandle::start(&server.base, &server.client_key, &key_file).await;
    let http = reqwest::Client::new();

    // Enrollment: first unsigned, then recognised as already enrolled.
    let enrolled = guard.guard.enroll().await.unwrap();
    assert!(
        matches!(enrolled, Enrollment::Enrolled { .. }),
        "{enrolled:?}"
    );
    assert_eq!(enrolled.device_id(), guard.guard.signer().device_id());
    let again = guard.guard.enroll().await.unwrap();
    assert!(
        matches!(again, Enrollment::AlreadyEnrolled { .. }),
        "{again:?}"
    );

    // POST /help through the guard: no apiKey from the agent, injected and signed.
    let (status, body) = call(
        &http,
        Method::POST,
        &guard.url("/api/v1/help"),
        &[],
        Some(help_body("May I deploy?")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["requestId"].as_str().unwrap().to_owned();
    // Other signed requests: status, whoami.
    let (status, body) = call(
        &http,
        Method::GET,
        &guard.url(&format!("/api/v1/help/{id}")),
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "pending");
    let (status, _) = call(
        &http,
        Method::GET,
        &guard.url("/api/v1/whoami?x=1"),
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The agent may send the same key the guard holds.
    let key = server.client_key.clone();
    let (status, _) = call(
        &http,
        Method::GET,
        &guard.url("/api/v1/whoami"),
        &[("x-api-key", &key)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Directly, unsigned, the enrolled key is now refused.
    let (status, body) = call(
        &http,
        Method::GET,
        &format!("{}/api/v1/whoami", server.base),
        &[("x-api-key", &key)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "SIGNATURE_REQUIRED");
    let mut direct = help_body("unsigned");
    direct["apiKey"] = json!(key);
    let (status, body) = call(
        &http,
        Method::POST,
        &format!("{}/api/v1/help", server.base),
        &[],
        Some(direct),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "SIGNATURE_REQUIRED");

    // The guard restarted on the same key file keeps its device id and is still accepted.
    let device_id = guard.guard.signer().device_id().to_owned();
    guard.stop().await;
    let guard = GuardHandle::start(&server.base, &server.client_key, &key_file).await;
    assert_eq!(guard.guard.signer().device_id(), device_id);
    let (status, body) = call(
        &http,
        Method::GET,
        &guard.url(&format!("/api/v1/help/{id}")),
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let again = guard.guard.enroll().await.unwrap();
    assert_eq!(again, Enrollment::AlreadyEnrolled { device_id });
}

#[tokio::test]
async fn altered_replayed_and_stale_requests_are_refused() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("device.key");
    let guard = GuardHandle::start(&server.base, &server.client_key, &key_file).await;
    guard.guard.enroll().await.unwrap();
    // A second guard with the same keys in front of a recording stub captures exactly what a
    // guard sends upstream.
    let stub = Stub::start(std::time::Duration::ZERO).await;
    let capture = GuardHandle::start(&stub.base, &server.client_key, &key_file).await;
    let http = reqwest::Client::new();
    let capture_help = async |question: &str| {
        let (status, _) = call(
            &http,
            Method::POST,
            &capture.url("/api/v1/help"),
            &[],
            Some(help_body(question)),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        stub.last()
    };

    // The captured request is valid once …
    let first = capture_help("Is the backup done?").await;
    let parsed: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(
        parsed["apiKey"],
        server.client_key.as_str(),
        "the key is injected into the body"
    );
    assert_eq!(first.headers["x-api-key"], server.client_key.as_str());
    let (status, body) = replay(&server, &first, &first.body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // … and its nonce cannot be used again,
    let (status, body) = replay(&server, &first, &first.body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "SIGNATURE_REPLAYED");
    // not even after the server restarts on the same database.
    let server = server.restart().await;
    let (status, body) = replay(&server, &first, &first.body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "SIGNATURE_REPLAYED");

    // A body altered after signing.
    let second = capture_help("Original question").await;
    let altered = String::from_utf8(second.body.to_vec())
        .unwrap()
        .replace("Original question", "Altered question!");
    let (status, body) = replay(&server, &second, altered.as_bytes()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "SIGNATURE_INVALID");
    // A request signed for another path.
    let mut moved = capture_help("moved").await;
    moved.path_and_query = "/api/v1/help?x=1".into();
    let (status, body) = replay(&server, &moved, &moved.body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "SIGNATURE_INVALID");
    assert_eq!(
        server.request_count().await,
        1,
        "only the first capture was accepted"
    );
}

#[tokio::test]
async fn stale_timestamp_is_refused() {
    // A server whose clock runs 301 s ahead sees every fresh signature as too old.
    let server = TestApp::builder()
        .clock(Clock::manual(now_ms() + 301_000))
        .spawn()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("k")).await;
    guard.guard.enroll().await.unwrap();
    let http = reqwest::Client::new();
    let (status, body) = call(
        &http,
        Method::POST,
        &guard.url("/api/v1/help"),
        &[],
        Some(help_body("late")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "SIGNATURE_EXPIRED");
}

#[tokio::test]
async fn enroll_with_another_device_enrolled_is_a_clear_error() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let first = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("a")).await;
    first.guard.enroll().await.unwrap();
    let second = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("b")).await;
    let error = second.guard.enroll().await.unwrap_err().to_string();
    assert!(error.contains("another device"), "{error}");
    assert!(!error.contains(&server.client_key));
}
