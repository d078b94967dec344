//! Every error the asking API can produce, and its retry rules, against scripted servers on
//! 127.0.0.1:0, for failures a real server does not produce on demand (the real server's own errors
//! are tested in the workspace's `tests/sdk`).

#![cfg(feature = "client")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use heysummon_sdk::client::{
    AskOptions, BackoffPolicy, Client, EncryptionPolicy, ExpertClient, WaitOptions,
};
use heysummon_sdk::keys::PartyKeys;
use heysummon_sdk::keystore::{FileKeyStore, KeyStore, RequestKind, StoredRequest};
use heysummon_sdk::wire::{RefCode, RequestId};
use heysummon_sdk::{Error, NetworkErrorKind};
use serde_json::json;

/// Options for a test ask: waits at most 20 s.
fn quick() -> AskOptions {
    AskOptions::new().with_wait(WaitOptions::new().with_timeout(Duration::from_secs(20)))
}

/// One scripted answer: status, extra headers, body.
type Answer = (u16, Vec<(&'static str, String)>, String);

/// What the scripted server answers: per `METHOD /path`, a queue of answers; the last one
/// repeats. Records the headers of every request it saw.
#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<HashMap<String, VecDeque<Answer>>>>,
    seen: Arc<Mutex<Vec<(String, HeaderMap)>>>,
}

impl Script {
    fn on(&self, route: &str, status: u16, headers: &[(&'static str, &str)], body: &str) {
        let headers = headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect();
        self.answers
            .lock()
            .unwrap()
            .entry(route.to_owned())
            .or_default()
            .push_back((status, headers, body.to_owned()));
    }

    fn hits(&self, route: &str) -> Vec<HeaderMap> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _)| r == route)
            .map(|(_, h)| h.clone())
            .collect()
    }

    async fn start(&self) -> String {
        async fn answer(
            State(script): State<Script>,
            method: Method,
            uri: Uri,
            headers: HeaderMap,
            _body: Bytes,
        ) -> Response {
            let route = format!("{method} {}", uri.path());
            script.seen.lock().unwrap().push((route.clone(), headers));
            let mut answers = script.answers.lock().unwrap();
            let Some(queue) = answers.get_mut(&route) else {
                return (StatusCode::NOT_FOUND, r#"{"error":"Not found"}"#).into_response();
            };
            let (status, extra, body) = if queue.len() > 1 {
                queue.pop_front().unwrap()
            } else {
                queue.front().cloned().unwrap()
            };
            let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
            for (name, value) in extra {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            response
        }
        let app = Router::new().fallback(answer).with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }
}

fn fast_retries() -> BackoffPolicy {
    BackoffPolicy::new(Duration::from_millis(5), Duration::from_millis(20), 2)
}

fn client(base: &str) -> Client {
    Client::builder()
        .base_url(base)
        .api_key("hs_cli_test")
        .retries(4, fast_retries())
        .build()
        .unwrap()
}

const CREATED: &str = r#"{"requestId":"r1","refCode":"HS-AAAA1111","status":"pending","expiresAt":"2030-01-01T00:00:00.000Z"}"#;

#[tokio::test]
async fn idempotent_calls_are_retried_with_the_same_key_and_fresh_signatures() {
    let script = Script::default();
    script.on("POST /api/v1/help", 503, &[("retry-after", "0")], "");
    script.on("POST /api/v1/help", 429, &[("retry-after", "0")], "{}");
    script.on("POST /api/v1/help", 200, &[], CREATED);
    let base = script.start().await;
    let agent = Client::builder()
        .base_url(&base)
        .api_key("hs_cli_test")
        .retries(4, fast_retries())
        .encryption(EncryptionPolicy::Off)
        .device_key(heysummon_sdk::keys::SigningKeyPair::generate())
        .build()
        .unwrap();
    let conversation = agent.submit("Retry me", &AskOptions::new()).await.unwrap();
    assert_eq!(conversation.request_id().as_str(), "r1");
    let hits = script.hits("POST /api/v1/help");
    assert_eq!(hits.len(), 3);
    let keys: Vec<_> = hits.iter().map(|h| h["idempotency-key"].clone()).collect();
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "one idempotency key");
    let nonces: Vec<_> = hits
        .iter()
        .map(|h| h["x-heysummon-nonce"].clone())
        .collect();
    assert!(
        nonces[0] != nonces[1] && nonces[1] != nonces[2],
        "fresh nonces"
    );
}

#[tokio::test]
async fn retries_stop_after_the_last_attempt_and_honour_retry_after() {
    let script = Script::default();
    script.on("GET /api/v1/experts", 503, &[("retry-after", "1")], "");
    let base = script.start().await;
    let agent = Client::builder()
        .base_url(&base)
        .api_key("hs_cli_test")
        .retries(2, fast_retries())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let error = agent.experts().await.unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(error.http_status(), Some(503));
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(script.hits("GET /api/v1/experts").len(), 2);
}

#[tokio::test]
async fn calls_that_are_not_idempotent_are_tried_once() {
    let script = Script::default();
    script.on("GET /api/v1/messages/r1", 200, &[], r#"{"requestId":"r1","refCode":"HS-AAAA1111","status":"pending","consumerSignPubKey":null,"consumerEncryptPubKey":null,"expertSignPubKey":null,"expertEncryptPubKey":null,"messages":[],"expiresAt":"2030-01-01T00:00:00.000Z"}"#);
    script.on("POST /api/v1/key-exchange/r1", 503, &[], "");
    script.on("POST /api/v1/approve/r1", 502, &[], "");
    let base = script.start().await;
    let expert = ExpertClient::builder()
        .base_url(&base)
        .api_key("hs_exp_test")
        .retries(4, fast_retries())
        .build()
        .unwrap();
    let id = RequestId::new("r1");
    let error = expert.exchange_keys(&id).await.unwrap_err();
    assert_eq!(error.http_status(), Some(503));
    assert_eq!(script.hits("POST /api/v1/key-exchange/r1").len(), 1);
    let error = expert
        .decide(&id, heysummon_sdk::wire::ApprovalDecision::Approved)
        .await
        .unwrap_err();
    assert_eq!(error.http_status(), Some(502));
    assert_eq!(script.hits("POST /api/v1/approve/r1").len(), 1);
}

#[tokio::test]
async fn the_server_refusing_a_changed_fingerprint_is_expert_key_changed() {
    let script = Script::default();
    let published = PartyKeys::generate().public();
    let experts = json!({"experts": [{
        "id": "e1", "name": "Dana", "isActive": true,
        "signPublicKey": published.sign.to_hex(),
        "encryptPublicKey": published.encrypt.to_hex(),
        "fingerprint": published.fingerprint().to_string(),
    }]});
    script.on("GET /api/v1/experts", 200, &[], &experts.to_string());
    script.on(
        "POST /api/v1/help",
        409,
        &[],
        r#"{"error":"The expert's keys changed","code":"EXPERT_KEY_CHANGED"}"#,
    );
    let base = script.start().await;
    let error = client(&base).ask("Hello?").await.unwrap_err();
    assert!(matches!(error, Error::ExpertKeyChanged { .. }), "{error}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn answers_that_are_not_the_protocol_are_protocol_errors() {
    let script = Script::default();
    script.on("GET /api/v1/experts", 200, &[], "<html>hello</html>");
    let base = script.start().await;
    let error = client(&base).experts().await.unwrap_err();
    assert!(matches!(error, Error::Protocol(_)), "{error}");
    assert!(
        !error.to_string().contains("hello"),
        "the body is not quoted"
    );
}

#[tokio::test]
async fn unreachable_servers_are_network_errors() {
    // A port that was free a moment ago.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let agent = Client::builder()
        .base_url(&base)
        .api_key("hs_cli_test")
        .retries(1, fast_retries())
        .build()
        .unwrap();
    let error = agent.ask("Anyone?").await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Network {
                kind: NetworkErrorKind::Connect,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn configuration_errors() {
    let config = |result: Result<Client, Error>| {
        assert!(matches!(result, Err(Error::Config { .. })));
    };
    config(Client::builder().api_key("k").build());
    config(Client::builder().base_url("ftp://x").api_key("k").build());
    config(
        Client::builder()
            .base_url("http://127.0.0.1:1")
            .api_key("k")
            .expert_fingerprint("not a fingerprint")
            .build(),
    );
    config(
        Client::builder()
            .base_url("http://127.0.0.1:1")
            .api_key("k")
            .retries(0, BackoffPolicy::default())
            .build(),
    );
    let agent = client("http://127.0.0.1:1");
    let long = "k".repeat(256);
    for key in ["", long.as_str()] {
        let error = agent
            .submit("x", &AskOptions::new().with_idempotency_key(key))
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{error}");
    }
    let error = Client::builder()
        .base_url("http://127.0.0.1:1")
        .api_key("k")
        .build()
        .unwrap()
        .enroll_device()
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Config { .. }),
        "no device key: {error}"
    );
}

#[tokio::test]
async fn key_store_failures_are_key_store_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let error = FileKeyStore::open(file.join("store")).unwrap_err();
    assert!(matches!(error, Error::KeyStore { .. }), "{error}");

    // A record damaged on disk: resuming says so, and quotes nothing.
    let store = FileKeyStore::open(dir.path().join("store")).unwrap();
    let mut record = StoredRequest::new("k1", RequestKind::Question, PartyKeys::generate());
    record.request_id = Some(RequestId::new("r1"));
    record.ref_code = RefCode::parse("HS-AAAA1111");
    store.save_request(&record).unwrap();
    for entry in std::fs::read_dir(dir.path().join("store/requests")).unwrap() {
        std::fs::write(entry.unwrap().path(), b"{\"version\":1,\"garbage").unwrap();
    }
    let agent = Client::builder()
        .base_url("http://127.0.0.1:1")
        .api_key("k")
        .key_store(FileKeyStore::open(dir.path().join("store")).unwrap())
        .build()
        .unwrap();
    let error = agent.conversation(&RequestId::new("r1")).unwrap_err();
    assert!(matches!(error, Error::KeyStore { .. }), "{error}");
}

#[tokio::test]
async fn creation_is_not_retried_when_the_server_may_have_acted() {
    let script = Script::default();
    script.on("POST /api/v1/help", 500, &[], "");
    let base = script.start().await;
    let agent = Client::builder()
        .base_url(&base)
        .api_key("hs_cli_test")
        .retries(4, fast_retries())
        .encryption(EncryptionPolicy::Off)
        .build()
        .unwrap();
    let error = agent.submit("Once", &AskOptions::new()).await.unwrap_err();
    assert_eq!(error.http_status(), Some(500));
    assert_eq!(
        script.hits("POST /api/v1/help").len(),
        1,
        "a v1 server could page twice"
    );
}

#[tokio::test]
async fn a_readable_expert_message_in_a_sealed_conversation_is_refused() {
    let script = Script::default();
    let expert = PartyKeys::generate().public();
    let experts = json!({"experts": [{
        "id": "e1", "name": "Dana", "isActive": true,
        "signPublicKey": expert.sign.to_hex(),
        "encryptPublicKey": expert.encrypt.to_hex(),
    }]});
    script.on("GET /api/v1/experts", 200, &[], &experts.to_string());
    script.on("POST /api/v1/help", 200, &[], CREATED);
    script.on(
        "GET /api/v1/help/r1",
        200,
        &[],
        r#"{"requestId":"r1","refCode":"HS-AAAA1111","status":"responded","response":"approved by the server"}"#,
    );
    script.on("GET /api/v1/messages/r1", 200, &[], &json!({
        "requestId": "r1", "refCode": "HS-AAAA1111", "status": "responded",
        "consumerSignPubKey": null, "consumerEncryptPubKey": null,
        "expertSignPubKey": expert.sign.to_hex(), "expertEncryptPubKey": expert.encrypt.to_hex(),
        "messages": [{
            "id": "m1", "from": "expert", "ciphertext": "eWVz", "iv": "plaintext",
            "authTag": "plaintext", "signature": "plaintext", "messageId": "x1",
            "createdAt": "2026-12-01T00:00:00.000Z", "plaintext": "yes"
        }],
        "expiresAt": "2030-01-01T00:00:00.000Z",
    }).to_string());
    let base = script.start().await;
    let conversation = client(&base)
        .submit("Sealed?", &AskOptions::new())
        .await
        .unwrap();
    assert!(conversation.is_sealed());
    let error = conversation.answer(quick().wait).await.unwrap_err();
    assert!(matches!(error, Error::Crypto), "{error}");
}
