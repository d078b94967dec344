//! The server under hostile or unlucky clients: bodies that never finish, idle keep-alive
//! connections, more connections than it can hold, a shutdown while clients stall, concurrent
//! writers on one request, and errors that must be JSON whatever produced them.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Reads what the server sends until it closes the connection, at most `limit`; `None` when the
/// connection is still open then.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut received)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&received).into_owned()),
        Err(_) => None,
    }
}

/// The JSON body of a raw HTTP response.
fn json_body(response: &str) -> Value {
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn a_body_that_never_finishes_is_timed_out_with_json() {
    let server = common::spawn_with(|c| c.http.body_read_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/help HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
              content-length: 1000\r\n\r\n{\"a",
        )
        .await
        .unwrap();
    let response = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("the stalled request is answered and closed within 5 s");
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert_eq!(
        json_body(&response)["error"],
        "The request body was not received in time"
    );
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let server = common::spawn_with(|c| c.http.header_read_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    // Nothing more is sent: the server closes the idle connection.
    assert!(
        read_until_closed(&mut stream, Duration::from_secs(5))
            .await
            .is_some(),
        "an idle keep-alive connection stays open"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_clearly() {
    let server = common::spawn_with(|c| c.http.max_connections = 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        // A request and its answer: the connection is certainly being served.
        stream
            .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut first = [0u8; 12];
        stream.read_exact(&mut first).await.unwrap();
        held.push(stream);
    }
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    let response = read_until_closed(&mut third, Duration::from_secs(5))
        .await
        .expect("the refusal comes at once");
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(response.to_ascii_lowercase().contains("retry-after: 1"));
    assert_eq!(
        json_body(&response)["code"],
        "CONNECTION_LIMIT",
        "{response}"
    );
    // Once a held connection goes, a new one is served again.
    drop(held.pop());
    let started = std::time::Instant::now();
    loop {
        let (status, _) = server
            .call(reqwest::Method::GET, "/health", None, None)
            .await;
        if status == StatusCode::OK {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn shutdown_finishes_within_the_drain_time_whatever_clients_do() {
    let mut server = common::spawn_with(|c| {
        c.http.body_read_timeout_secs = 600;
        c.http.shutdown_drain_secs = 1;
    })
    .await;
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled
        .write_all(b"POST /api/v1/help HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // `stop` fails the test unless serving ends within 5 s.
    server.stop().await;
    assert!(
        read_until_closed(&mut stalled, Duration::from_secs(2))
            .await
            .is_some(),
        "the stalled connection is closed"
    );
}

#[tokio::test]
async fn concurrent_messages_on_one_request_are_all_stored() {
    let server = common::spawn().await;
    let id = server.ask_ok(&server.client_key, "Many hands?").await;
    let writers = 8;
    let each = 25;
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let (http, url, key) = (
            server.http.clone(),
            server.url(&format!("/api/v1/message/{id}")),
            server.expert_key.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for n in 0..each {
                let response = http
                    .post(&url)
                    .header("x-api-key", &key)
                    .json(&json!({"from": "expert", "plaintext": format!("{writer}-{n}")}))
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status());
            }
            statuses
        }));
    }
    for task in tasks {
        for status in task.await.unwrap() {
            assert_eq!(status, StatusCode::OK);
        }
    }
    let (_, messages) = server
        .get(&format!("/api/v1/messages/{id}"), &server.expert_key)
        .await;
    assert_eq!(
        messages["messages"].as_array().unwrap().len(),
        writers * each
    );
}

/// Sends raw bytes and returns the whole answer (the request asks to close the connection).
async fn raw(server: &common::TestApp, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .unwrap()
}

#[tokio::test]
async fn errors_from_the_framework_and_the_http_layer_are_json() {
    let server = common::spawn().await;
    let id = server.ask_ok(&server.client_key, "Q").await;
    let key = &server.client_key;
    let long_path = format!("/api/v1/help/{}", "a".repeat(20_000));
    let many_headers: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases: Vec<(String, &str)> = vec![
        (
            format!("GET /api/v1/help/{id}?wait=1&wait=2 HTTP/1.1\r\nx-api-key: {key}\r\n"),
            "400",
        ),
        (
            format!("GET /api/v1/help/%FF%FE HTTP/1.1\r\nx-api-key: {key}\r\n"),
            "400",
        ),
        (format!("GET {long_path} HTTP/1.1\r\n"), "414"),
        (format!("GET /health HTTP/1.1\r\n{many_headers}"), "431"),
    ];
    for (head, status) in cases {
        let request = format!("{head}host: x\r\nconnection: close\r\n\r\n");
        let response = raw(&server, request.as_bytes()).await;
        assert!(
            response.starts_with(&format!("HTTP/1.1 {status}")),
            "{status}: {}",
            &response[..response.len().min(300)]
        );
        let body = json_body(&response);
        assert!(body["error"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn stalled_clients_exhausting_the_server_are_refused_then_released() {
    let server = common::spawn_with(|c| {
        c.http.max_connections = 20;
        c.http.body_read_timeout_secs = 2;
    })
    .await;
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"POST /api/v1/help HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n{")
            .await
            .unwrap();
        stalled.push(stream);
    }
    // Every slot is taken (once the server has accepted them all): a normal client hears so at
    // once instead of hanging.
    let started = std::time::Instant::now();
    loop {
        let asked = std::time::Instant::now();
        let (status, _) = server
            .call(reqwest::Method::GET, "/health", None, None)
            .await;
        assert!(asked.elapsed() < Duration::from_secs(1), "answered at once");
        if status == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        assert!(started.elapsed() < Duration::from_millis(1500), "{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The stalled bodies time out and their slots come back.
    for stream in &mut stalled {
        let answer = read_until_closed(stream, Duration::from_secs(5))
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    let (status, _) = server
        .call(reqwest::Method::GET, "/health", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
}
