//! The guard's upstream over HTTPS, against a real TLS front (tokio-rustls, a test CA made in
//! the test) before the real server or a recording stub: the proxy and the ask core through it
//! with the CA file, a wrong server name and an unknown CA refused before anything is forwarded,
//! and keep-alive reuse of one TLS connection.

use std::time::Duration;

use heysummon_guard::ask::{AskInput, AskOutcome};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{GuardHandle, Stub, TestApp, expert, get, post};
use crate::tls_front::{TestCa, TlsFront};

const KEY: &str = "hs_cli_guardtest0001";

/// A guard in front of `upstream`, trusting the CA file `ca_file` when given.
async fn guard_with(
    upstream: &str,
    api_key: &str,
    dir: &std::path::Path,
    ca_file: Option<std::path::PathBuf>,
) -> GuardHandle {
    GuardHandle::start_with(upstream, api_key, &dir.join("device.key"), |config| {
        config.ca_file = ca_file;
    })
    .await
}

#[tokio::test]
async fn an_https_upstream_with_the_ca_file_proxies_and_asks_end_to_end() {
    let server = TestApp::spawn().await;
    let ca = TestCa::new();
    let front = TlsFront::start(ca.server_config(&["localhost", "127.0.0.1"]), server.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write_pem(dir.path());
    let guard = guard_with(
        &front.base("localhost"),
        &server.client_key,
        dir.path(),
        Some(ca_file.clone()),
    )
    .await;
    // Enrollment goes through the proxy's upstream client, over TLS.
    guard.guard.enroll().await.unwrap();
    let http = reqwest::Client::new();

    // The proxy: a question created by the guard for an agent without keys, read back.
    let (status, created) = post(
        &http,
        &guard.url("/api/v1/help"),
        json!({"question": "Q-tls: which region is primary?"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["requestId"].as_str().unwrap().to_owned();
    let (status, read) = get(&http, &guard.url(&format!("/api/v1/help/{id}"))).await;
    assert_eq!(status, StatusCode::OK, "{read}");

    // The ask core: the guard's SDK client, over TLS with the same trust.
    let asker = guard.guard.e2e().asker().clone();
    let expert = expert(&server);
    expert.publish_keys().await.unwrap();
    let pending = asker
        .ask(&AskInput::question("Q-tls: may I rotate the key?").with_wait(Duration::ZERO))
        .await
        .unwrap();
    let AskOutcome::Pending { ticket, .. } = pending else {
        panic!("not pending: {pending:?}");
    };
    expert.reply(&ticket.request_id, "yes").await.unwrap();
    let answered = asker
        .resume(&ticket.request_id, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        matches!(&answered, AskOutcome::Answered { text, end_to_end: true, .. } if text == "yes"),
        "{answered:?}"
    );
    assert!(
        front.handshakes() >= 2,
        "proxy and SDK client both used TLS"
    );
    assert_eq!(front.failed_handshakes(), 0);
    guard.stop().await;

    // The certificate's IP address works as the name too (the same device key).
    let guard = guard_with(
        &front.base("127.0.0.1"),
        &server.client_key,
        dir.path(),
        Some(ca_file),
    )
    .await;
    guard.guard.enroll().await.unwrap();
    let (status, read) = get(&http, &guard.url(&format!("/api/v1/help/{id}"))).await;
    assert_eq!(status, StatusCode::OK, "{read}");
}

#[tokio::test]
async fn a_wrong_server_name_is_refused_and_nothing_is_forwarded() {
    let stub = Stub::start(Duration::ZERO).await;
    let ca = TestCa::new();
    // Trusted CA, but the certificate names another server.
    let front = TlsFront::start(ca.server_config(&["heysummon.example.com"]), stub.addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write_pem(dir.path());
    let guard = guard_with(&front.base("localhost"), KEY, dir.path(), Some(ca_file)).await;
    let http = reqwest::Client::new();
    let (status, body) = get(&http, &guard.url("/api/v1/whoami")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("TLS"), "{body}");
    assert_eq!(stub.count(), 0, "nothing was forwarded");
    assert_eq!(front.handshakes(), 0);
    assert!(front.failed_handshakes() >= 1);
    let enrolled = guard.guard.enroll().await.unwrap_err().to_string();
    assert!(enrolled.contains("TLS"), "{enrolled}");
}

#[tokio::test]
async fn an_unknown_ca_is_refused_without_the_ca_file() {
    let stub = Stub::start(Duration::ZERO).await;
    let ca = TestCa::new();
    let front = TlsFront::start(ca.server_config(&["localhost"]), stub.addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let guard = guard_with(&front.base("localhost"), KEY, dir.path(), None).await;
    let http = reqwest::Client::new();
    let (status, body) = get(&http, &guard.url("/api/v1/whoami")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body["error"].as_str().unwrap().contains("TLS"), "{body}");
    // The ask core's SDK client refuses the server too.
    let asked = guard
        .guard
        .e2e()
        .asker()
        .ask(&AskInput::question("Q-tls: anyone?").with_wait(Duration::ZERO))
        .await;
    assert!(asked.is_err(), "{asked:?}");
    assert_eq!(stub.count(), 0, "nothing was forwarded");
    assert_eq!(front.handshakes(), 0);
    assert!(front.failed_handshakes() >= 2);
}

#[tokio::test]
async fn keep_alive_reuses_one_tls_connection() {
    let stub = Stub::start(Duration::ZERO).await;
    let ca = TestCa::new();
    let front = TlsFront::start(ca.server_config(&["localhost"]), stub.addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write_pem(dir.path());
    let guard = guard_with(&front.base("localhost"), KEY, dir.path(), Some(ca_file)).await;
    let http = reqwest::Client::new();
    for _ in 0..20 {
        let (status, body) = get(&http, &guard.url("/api/v1/whoami")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(stub.count(), 20);
    assert_eq!(front.connections(), 1, "one pooled connection");
    assert_eq!(front.handshakes(), 1, "one TLS handshake for 20 requests");
}
