//! A non-Rust agent: Python's standard library (urllib) as a child process asks through the
//! guard, the expert answers directly on the server, and the agent reads the answer through the
//! guard. Skipped (with a message) when `python3` is not installed.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use crate::common::{GuardHandle, TestApp, call};
use reqwest::{Method, StatusCode};
use serde_json::json;

const AGENT: &str = r#"
import json, sys, urllib.request
guard = sys.argv[1]
def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(guard + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=90) as response:
        return json.load(response)
asked = call("POST", "/api/v1/help", {"signPublicKey": "none", "encryptPublicKey": "none",
                                       "question": "May I rotate the database credentials?"})
print(asked["requestId"], flush=True)
while True:
    status = call("GET", "/api/v1/help/%s?wait=20" % asked["requestId"])
    if status.get("response"):
        print(status["status"], status["response"], flush=True)
        break
"#;

#[tokio::test]
async fn python_agent_asks_and_reads_the_answer_through_the_guard() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 not found: skipping");
        return;
    }
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("k")).await;
    guard.guard.enroll().await.unwrap();

    let mut child = Command::new("python3")
        .arg("-c")
        .arg(AGENT)
        .arg(&guard.base)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let wait = std::time::Duration::from_secs(30);
    let id = tokio::time::timeout(wait, rx.recv())
        .await
        .unwrap()
        .unwrap();

    // The expert sees the question (it went through the guard, signed) and answers directly.
    let http = reqwest::Client::new();
    let (status, pending) = call(
        &http,
        Method::GET,
        &format!("{}/api/v1/events/pending", server.base),
        &[("x-api-key", &server.expert_key)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pending["events"][0]["requestId"], id.as_str());
    assert_eq!(
        pending["events"][0]["question"],
        "May I rotate the database credentials?"
    );
    let (status, body) = call(
        &http,
        Method::POST,
        &format!("{}/api/v1/message/{id}", server.base),
        &[("x-api-key", &server.expert_key)],
        Some(json!({"from": "expert", "plaintext": "Yes, after 18:00."})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let answer = tokio::time::timeout(wait, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer, "responded Yes, after 18:00.");
    assert!(child.wait().unwrap().success());
}
