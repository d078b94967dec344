//! End-to-end encryption for agents without cryptography, and the local ask API, with a real
//! server behind a real guard: a Python (standard library) agent does the whole loop through the
//! guard and the server's database holds no plaintext; approvals fail closed; a restarted guard
//! still opens answers to requests made before the restart.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::process::Command;
use std::time::Duration;

use crate::common::{GuardHandle, TestApp, call, expert, get, post};
use futures_util::StreamExt as _;
use heysummon_sdk::ExpertClient;
use heysummon_sdk::client::WaitOptions;
use heysummon_sdk::wire::{ApprovalDecision, RequestId};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(30);

/// Answers the next `n` requests as the expert: `reply(question)` gives the text, or `None` to
/// leave it unanswered.
fn answer_requests(
    expert: ExpertClient,
    n: usize,
    reply: fn(&str) -> Option<String>,
) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut questions = Vec::new();
        let mut incoming = Box::pin(expert.requests(WaitOptions::new()));
        while questions.len() < n {
            let request = incoming.next().await.unwrap().unwrap();
            let opened = expert.open(&request.request_id).await.unwrap();
            if let Some(text) = reply(&opened.question) {
                expert.reply(&request.request_id, &text).await.unwrap();
            }
            questions.push(opened.question);
        }
        questions
    })
}

const PYTHON_AGENT: &str = r#"
import json, sys, urllib.request
guard = sys.argv[1]
def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(guard + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=90) as response:
        return json.load(response)
# The one-call API: the answer, or "pending" within 50 s.
asked = call("POST", "/v1/ask", {"question": "Q-1a2b: may I purge the audit bucket?"})
while asked["status"] == "pending":
    asked = call("GET", "/v1/ask/%s?wait=50" % asked["requestId"])
print(json.dumps(asked), flush=True)
# The v1 API through the guard: sealed, then read back decrypted, then a follow-up.
created = call("POST", "/api/v1/help", {"question": "Q-3c4d: which region is primary?"})
rid = created["requestId"]
while True:
    listing = call("GET", "/api/v1/messages/%s" % rid)
    replies = [m for m in listing["messages"] if m["from"] == "expert"]
    if replies:
        break
    call("GET", "/api/v1/help/%s?wait=20" % rid)
print(json.dumps({"created": created, "reply": replies[-1]["plaintext"],
                  "question": listing["messages"][0]["plaintext"]}), flush=True)
sent = call("POST", "/api/v1/message/%s" % rid, {"from": "consumer", "plaintext": "F-5e6f: thanks"})
print(json.dumps(sent), flush=True)
"#;

#[tokio::test]
async fn a_python_agent_gets_end_to_end_encryption_through_the_guard() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 not found: skipping");
        return;
    }
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("k")).await;
    guard.guard.enroll().await.unwrap();
    let expert = expert(&server);
    expert.publish_keys().await.unwrap();
    let answering = answer_requests(expert.clone(), 2, |question| {
        Some(if question.starts_with("Q-1a2b") {
            "A-7a8b: only after the export".to_owned()
        } else {
            "A-9c0d: eu-west-1".to_owned()
        })
    });

    let output = tokio::task::spawn_blocking({
        let base = guard.base.clone();
        move || {
            Command::new("python3")
                .arg("-c")
                .arg(PYTHON_AGENT)
                .arg(base)
                .output()
                .unwrap()
        }
    });
    let output = tokio::time::timeout(LIMIT, output).await.unwrap().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines[0]["status"], "responded");
    assert_eq!(lines[0]["answer"], "A-7a8b: only after the export");
    assert_eq!(lines[0]["endToEnd"], true);
    assert_eq!(lines[1]["created"]["sealed"], true);
    assert_eq!(lines[1]["reply"], "A-9c0d: eu-west-1");
    assert_eq!(lines[1]["question"], "Q-3c4d: which region is primary?");
    assert_eq!(lines[2]["success"], true);
    let questions = answering.await.unwrap();
    assert!(questions[0].starts_with("Q-1a2b"), "{questions:?}");

    // The follow-up reached the expert, encrypted.
    let id = RequestId::new(lines[1]["created"]["requestId"].as_str().unwrap());
    let opened = expert.open(&id).await.unwrap();
    let last = opened.messages.last().unwrap();
    assert!(last.end_to_end);
    assert_eq!(
        last.content,
        heysummon_sdk::client::Content::Text("F-5e6f: thanks".into())
    );

    // The server holds none of it in plaintext.
    for needle in [
        "Q-1a2b",
        "Q-3c4d",
        "A-7a8b",
        "A-9c0d",
        "F-5e6f",
        "audit bucket",
    ] {
        assert!(
            !server.database_contains(needle.as_bytes()).await,
            "{needle} in the database"
        );
    }
}

#[tokio::test]
async fn approvals_through_the_local_api_fail_closed() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("k")).await;
    guard.guard.enroll().await.unwrap();
    let expert = expert(&server);
    expert.publish_keys().await.unwrap();
    let http = reqwest::Client::new();
    let ask = |body: Value| {
        let http = http.clone();
        let url = guard.url("/v1/ask");
        async move { post(&http, &url, body).await }
    };

    // Nobody decides: after timeoutSeconds the answer is "timeout", never approved.
    let (status, answer) = ask(json!({
        "question": "Drop the orders table?", "requiresApproval": true, "timeoutSeconds": 1
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "timeout");
    assert_eq!(answer["approved"], false);
    let id = answer["requestId"].as_str().unwrap().to_owned();
    let (_, again) = get(&http, &guard.url(&format!("/v1/ask/{id}?wait=1"))).await;
    assert_eq!(again["status"], "timeout");
    assert_eq!(again["approved"], false);

    // Explicit decisions.
    for (decision, approved) in [
        (ApprovalDecision::Approved, true),
        (ApprovalDecision::Denied, false),
    ] {
        let deciding = tokio::spawn({
            let expert = expert.clone();
            async move {
                let mut incoming = Box::pin(expert.requests(WaitOptions::new()));
                loop {
                    let request = incoming.next().await.unwrap().unwrap();
                    let opened = expert.open(&request.request_id).await.unwrap();
                    if opened.question == "Restart the cluster?" && opened.status.is_waiting() {
                        expert.decide(&request.request_id, decision).await.unwrap();
                        expert.ack(&request.request_id).await.unwrap();
                        return;
                    }
                    expert.ack(&request.request_id).await.unwrap();
                }
            }
        });
        let (status, answer) = ask(json!({
            "question": "Restart the cluster?", "requiresApproval": true
        }))
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["status"], decision.as_str());
        assert_eq!(answer["approved"], approved);
        deciding.await.unwrap();
    }

    // Still waiting: "pending" when the caller's wait runs out, with where to continue.
    let (_, pending) = post(
        &http,
        &guard.url("/api/v1/help"),
        json!({"question": "Anything?"}),
    )
    .await;
    let id = pending["requestId"].as_str().unwrap().to_owned();
    let (_, pending) = get(&http, &guard.url(&format!("/v1/ask/{id}?wait=1"))).await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["retryAfter"], 1);
}

#[tokio::test]
async fn the_local_api_refuses_bad_input_clearly() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("k")).await;
    guard.guard.enroll().await.unwrap();
    let http = reqwest::Client::new();
    let url = guard.url("/v1/ask");
    let raw = |body: &'static str| {
        http.post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let response = raw("{not json").await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = raw(r#"{"context": []}"#).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["details"], "question is required");
    let response = raw(r#"{"question": "x", "timeoutSeconds": -3}"#)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = raw(r#"{"question": "My card: 4111 1111 1111 1111"}"#)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        server.request_count().await,
        0,
        "nothing reached the server"
    );
    let (status, _) = get(&http, &guard.url("/v1/ask/unknown")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&http, Method::PUT, &guard.url("/v1/ask"), &[], None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_restarted_guard_still_opens_earlier_answers() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("guard/device.key");
    std::fs::create_dir_all(key_file.parent().unwrap()).unwrap();
    let first = GuardHandle::start(&server.base, &server.client_key, &key_file).await;
    first.guard.enroll().await.unwrap();
    let expert = expert(&server);
    expert.publish_keys().await.unwrap();
    let http = reqwest::Client::new();
    let (status, created) = post(
        &http,
        &first.url("/api/v1/help"),
        json!({"question": "Before the restart?"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["sealed"], true);
    let id = created["requestId"].as_str().unwrap().to_owned();
    first.stop().await;

    expert
        .reply(&RequestId::new(&id), "After it, yes")
        .await
        .unwrap();

    let second = GuardHandle::start(&server.base, &server.client_key, &key_file).await;
    let (status, answer) = get(&http, &second.url(&format!("/v1/ask/{id}"))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["answer"], "After it, yes");
    let (_, listing) = get(&http, &second.url(&format!("/api/v1/messages/{id}"))).await;
    assert_eq!(listing["messages"][0]["plaintext"], "Before the restart?");
    assert_eq!(listing["messages"][1]["plaintext"], "After it, yes");
}

#[tokio::test]
async fn agents_with_keys_of_their_own_are_proxied_unchanged_and_key_changes_refused() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("k")).await;
    guard.guard.enroll().await.unwrap();
    let http = reqwest::Client::new();
    let own = heysummon_sdk::keys::PartyKeys::generate().public();
    let (status, created) = post(
        &http,
        &guard.url("/api/v1/help"),
        json!({
            "signPublicKey": own.sign.to_hex(),
            "encryptPublicKey": own.encrypt.to_hex(),
            "question": "My own crypto",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert!(created.get("sealed").is_none(), "forwarded as it was");
    let id = created["requestId"].as_str().unwrap();
    let listing = expert(&server).open(&RequestId::new(id)).await.unwrap();
    assert_eq!(listing.question, "My own crypto");

    // The guard pins the expert's key on first use and refuses a changed one.
    let first = expert(&server);
    first.publish_keys().await.unwrap();
    let ask = json!({"question": "Sealed?"});
    let (status, _) = post(&http, &guard.url("/api/v1/help"), ask.clone()).await;
    assert_eq!(status, StatusCode::OK);
    expert(&server).publish_keys().await.unwrap();
    let (status, refused) = post(&http, &guard.url("/api/v1/help"), ask).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["code"], "EXPERT_KEY_CHANGED");
}

#[tokio::test]
async fn browsers_and_foreign_hosts_are_refused() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("k")).await;
    let http = reqwest::Client::new();
    // A web page's cross-site POST (a form, no JSON content type) or fetch (with Origin).
    let response = http
        .post(guard.url("/v1/ask"))
        .header("content-type", "text/plain")
        .body(r#"{"question":"page me"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = http
        .post(guard.url("/v1/ask"))
        .header("origin", "https://evil.example")
        .json(&json!({"question": "page me"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // DNS rebinding: the guard's address under another name.
    let response = http
        .get(guard.url("/api/v1/events/pending"))
        .header("host", "evil.example:8787")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.request_count().await, 0);
    // A different API key is refused on the local API too; absurd timeouts are refused before
    // anything is created.
    let (status, _) = call(
        &http,
        Method::POST,
        &guard.url("/v1/ask"),
        &[("x-api-key", "hs_cli_someone_else")],
        Some(json!({"question": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post(
        &http,
        &guard.url("/v1/ask"),
        json!({"question": "x", "timeoutSeconds": u64::MAX}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(
        &http,
        &guard.url("/api/v1/help"),
        json!({"question": "x", "requiresApproval": "yes"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(server.request_count().await, 0);
}

#[tokio::test]
async fn an_answer_already_there_is_not_reported_pending() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("k")).await;
    guard.guard.enroll().await.unwrap();
    let expert = expert(&server);
    expert.publish_keys().await.unwrap();
    let http = reqwest::Client::new();
    let (_, created) = call(
        &http,
        Method::POST,
        &guard.url("/api/v1/help"),
        &[("idempotency-key", "job-42")],
        Some(json!({"question": "Already answered?"})),
    )
    .await;
    let id = created["requestId"].as_str().unwrap().to_owned();
    // The same idempotency key through the guard: the same request.
    let (_, again) = call(
        &http,
        Method::POST,
        &guard.url("/api/v1/help"),
        &[("idempotency-key", "job-42")],
        Some(json!({"question": "Already answered?"})),
    )
    .await;
    assert_eq!(again["requestId"], id.as_str());
    assert_eq!(server.request_count().await, 1);
    expert.reply(&RequestId::new(&id), "Yes").await.unwrap();
    let (_, answer) = get(&http, &guard.url(&format!("/v1/ask/{id}?wait=0"))).await;
    assert_eq!(answer["status"], "responded", "{answer}");
    assert_eq!(answer["answer"], "Yes");
}

#[tokio::test]
async fn the_guard_holds_the_device_token_too() {
    let server = TestApp::spawn().await;
    let expert_record = server
        .store
        .expert_by_hash(heysummon_server::ids::hash_secret(&server.expert_key))
        .await
        .unwrap()
        .unwrap();
    let bound = heysummon_server::provision::add_client(
        &server.store,
        &heysummon_server::clock::Clock::system(),
        &expert_record.id,
        heysummon_server::provision::ClientOptions {
            device_token: Some("tok-guard".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start_with(
        &server.base,
        &bound.client_key,
        &dir.path().join("k"),
        |config| {
            config.device_token = Some(heysummon_guard::ApiKey::new("tok-guard").unwrap());
        },
    )
    .await;
    guard.guard.enroll().await.unwrap();
    let http = reqwest::Client::new();
    let (status, whoami) = get(&http, &guard.url("/api/v1/whoami")).await;
    assert_eq!(status, StatusCode::OK, "{whoami}");
    let answering = answer_requests(expert(&server), 1, |_| Some("Token accepted".into()));
    let (status, answer) = post(
        &http,
        &guard.url("/v1/ask"),
        json!({"question": "Bound to a device token?"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["answer"], "Token accepted");
    answering.await.unwrap();
}
