//! Logs an operator can trust: every response carries a request id of the server's own, and
//! with `--log-format json` every line is a JSON object that carries that id.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn every_response_has_a_fresh_request_id_of_the_servers_own() {
    let server = common::spawn().await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let response = server
            .http
            .get(server.url("/health"))
            .header("x-request-id", "forged-id")
            .send()
            .await
            .unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(id.len(), 24, "{id}"); // not "forged-id"
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        seen.push(id);
    }
    assert_ne!(seen[0], seen[1]);
}

#[tokio::test]
async fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("logs.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_heysummon-server"))
        .args(["--log-format", "json", "--database-url", &db])
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info,tower_http=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let next = || lines.recv_timeout(Duration::from_secs(10)).unwrap();
    let mut address = None;
    while address.is_none() {
        let line: serde_json::Value = serde_json::from_str(&next()).unwrap();
        address = line["fields"]["address"].as_str().map(str::to_owned);
    }
    let response = reqwest::get(format!("http://{}/health", address.unwrap()))
        .await
        .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut found = false;
    while !found {
        let text = next();
        let line: serde_json::Value = serde_json::from_str(&text).unwrap();
        found = line["span"]["request_id"] == id.as_str();
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
