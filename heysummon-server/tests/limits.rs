//! PROTOCOL part A's limits: the 1 MiB body limit (declared and chunked bodies) and the rate
//! limits (per IP on `/api/v1/*`, tighter on `GET /api/v1/help/*`, per key, per key on the
//! events endpoints), with the loopback exemption.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::TestApp;
use heysummon_server::provision::ClientOptions;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const MIB: usize = 1024 * 1024;
const MINUTE_MS: i64 = 60_000;
const TOO_MANY: &str = "Too many requests. Please try again later.";

/// One answer: status, `Retry-After` and the JSON body.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

impl Answer {
    /// A 429 with `Retry-After: 60` and `{"error": sentence}`.
    fn limited(sentence: &str) -> Self {
        Self {
            status: 429,
            retry_after: Some("60".into()),
            body: json!({ "error": sentence }),
        }
    }
}

async fn send(
    server: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut request = server.http.request(method, server.url(path));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after =
        (response.headers().get("retry-after")).map(|value| value.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        retry_after,
        body,
    }
}

async fn get(server: &TestApp, path: &str, key: &str) -> Answer {
    send(server, Method::GET, path, Some(key), None).await
}

fn help_body(key: &str) -> Value {
    json!({"apiKey": key, "signPublicKey": "test-sign-key", "encryptPublicKey": "test-encrypt-key",
           "question": "May I deploy?"})
}

/// A POST of raw JSON bytes (reqwest sends `Content-Length`).
async fn raw_post(server: &TestApp, path: &str, key: &str, body: String) -> (StatusCode, Value) {
    let response = (server.http.post(server.url(path)))
        .header("content-type", "application/json")
        .header("x-api-key", key)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// A chunked POST written by hand over a blocking socket (no `Content-Length`); returns the
/// raw response text.
async fn chunked_post(server: &TestApp, path: &str, body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let addr = server.base.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let exchange = move || {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        // Written on its own thread: the server may answer before reading everything.
        let write = std::thread::spawn(move || -> std::io::Result<()> {
            writer.write_all(head.as_bytes())?;
            for chunk in body.chunks(64 * 1024) {
                write!(writer, "{:x}\r\n", chunk.len())?;
                writer.write_all(chunk)?;
                writer.write_all(b"\r\n")?;
            }
            writer.write_all(b"0\r\n\r\n")
        });
        let mut response = Vec::new();
        let mut buf = [0u8; 8192];
        // The server may stop reading and reset the connection after answering.
        while let Ok(n @ 1..) = stream.read(&mut buf) {
            response.extend_from_slice(&buf[..n]);
        }
        let _ = stream.shutdown(std::net::Shutdown::Both);
        let _ = write.join();
        String::from_utf8_lossy(&response).into_owned()
    };
    tokio::task::spawn_blocking(exchange).await.unwrap()
}

/// A valid `POST /help` body padded with an ignored member to exactly `len` bytes.
fn padded_help_body(key: &str, len: usize) -> String {
    let base = help_body(key).to_string();
    let overhead = base.len() + r#""pad":"","#.len();
    let pad = "x".repeat(len - overhead);
    let body = format!("{{\"pad\":\"{pad}\",{}", &base[1..]);
    assert_eq!(body.len(), len);
    body
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_refused() {
    let server = common::spawn().await;
    let c = server.client_key.as_str();
    let too_large = json!({"error": "Request body too large (max 1MB)"});
    let exact = padded_help_body(c, MIB);
    let (status, body) = raw_post(&server, "/api/v1/help", c, exact.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let over = padded_help_body(c, MIB + 1);
    for path in ["/api/v1/help", "/api/v1/message/anything"] {
        let answer = raw_post(&server, path, &server.expert_key, over.clone()).await;
        assert_eq!(
            answer,
            (StatusCode::PAYLOAD_TOO_LARGE, too_large.clone()),
            "{path}"
        );
    }

    // Chunked, without Content-Length (STRICTER). A small and an exactly-1-MiB chunked body
    // show the hand-written request is well formed.
    let small = help_body(c).to_string().into_bytes();
    let answer = chunked_post(&server, "/api/v1/help", small).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answer = chunked_post(&server, "/api/v1/help", exact.into_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answer = chunked_post(&server, "/api/v1/help", over.into_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.ends_with(&too_large.to_string()), "{answer}");
    let big = padded_help_body(c, 3 * MIB).into_bytes();
    let answer = chunked_post(&server, "/api/v1/message/anything", big).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

/// `POST /help` with `extra` merged into a valid body, and an optional `Idempotency-Key`.
async fn help_with(server: &TestApp, extra: Value, idempotency: Option<&str>) -> Answer {
    let mut body = help_body(&server.client_key);
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let mut request = server.http.post(server.url("/api/v1/help")).json(&body);
    if let Some(key) = idempotency {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        retry_after: None,
        body: response.json().await.unwrap(),
    }
}

#[tokio::test]
async fn field_size_limits() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let at_limit = [
        json!({"question": "é".repeat(50_000)}),
        json!({"messages": vec![json!({"role": "user", "content": "m"}); 200]}),
        json!({"messageCount": 1000, "messages": ["a", "b"]}),
        json!({"messageCount": 0, "messages": ["a", "b"]}),
        json!({"signPublicKey": "k".repeat(2048), "encryptPublicKey": "k".repeat(2048)}),
    ];
    for extra in at_limit {
        assert_eq!(help_with(&server, extra, None).await.status, 200);
    }
    let over = [
        json!({"question": "é".repeat(50_001)}),
        json!({"messages": vec![json!("m"); 201]}),
        json!({"messageCount": 1001}),
        json!({"signPublicKey": "k".repeat(2049)}),
        json!({"encryptPublicKey": "k".repeat(2049)}),
    ];
    for extra in over {
        let answer = help_with(&server, extra, None).await;
        assert_eq!(answer.status, 400, "{answer:?}");
        assert_eq!(answer.body["error"], "Validation failed");
    }
    // B2: Idempotency-Key up to 255 characters.
    let answer = help_with(&server, json!({}), Some(&"k".repeat(255))).await;
    assert_eq!(answer.status, 200);
    let answer = help_with(&server, json!({}), Some(&"k".repeat(256))).await;
    let expected = json!({"error": "Idempotency-Key must be 1 to 255 visible ASCII characters"});
    assert_eq!((answer.status, answer.body), (400, expected));

    // POST /message: plaintext ≤ 100 000, ciphertext ≤ 200 000, messageId ≤ 256.
    let id = server.ask_ok(c, "q").await;
    let path = format!("/api/v1/message/{id}");
    let keys = common::exchange_keys();
    let kx = format!("/api/v1/key-exchange/{id}");
    assert_eq!(
        send(&server, Method::POST, &kx, Some(e), Some(keys))
            .await
            .status,
        200
    );
    let encrypted = |ciphertext: String, message_id: String| {
        json!({"from": "consumer", "ciphertext": ciphertext, "iv": "AAAAAAAAAAAAAAAA", "authTag": "AAAAAAAAAAAAAAAAAAAAAA==",
               "signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "messageId": message_id})
    };
    let accepted = [
        json!({"from": "consumer", "plaintext": "é".repeat(100_000)}),
        encrypted("A".repeat(200_000), "m".repeat(256)),
    ];
    for body in accepted {
        let answer = send(&server, Method::POST, &path, Some(c), Some(body)).await;
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    let refused = [
        json!({"from": "consumer", "plaintext": "é".repeat(100_001)}),
        json!({"from": "consumer", "plaintext": "x", "messageId": "m".repeat(257)}),
        encrypted("A".repeat(200_001), "m1".into()),
        encrypted("A".into(), "m".repeat(257)),
    ];
    for body in refused {
        let answer = send(&server, Method::POST, &path, Some(c), Some(body)).await;
        assert_eq!(answer.status, 400, "{answer:?}");
        assert_eq!(answer.body["error"], "Validation failed");
    }
}

#[tokio::test]
async fn per_ip_limit_on_the_api() {
    let server = common::spawn_with(|c| {
        c.rate_limits.exempt_loopback = false;
        c.rate_limits.api_per_ip = 5;
    })
    .await;
    let c = server.client_key.as_str();
    for _ in 0..5 {
        assert_eq!(get(&server, "/api/v1/whoami", c).await.status, 200);
    }
    let limited = Answer::limited(TOO_MANY);
    assert_eq!(get(&server, "/api/v1/whoami", c).await, limited);
    // The bucket is the IP's: other keys, other endpoints, no key at all.
    let bob = server.tenant("Bob").await;
    assert_eq!(
        get(&server, "/api/v1/requests", &bob.expert_key).await,
        limited
    );
    assert_eq!(
        send(
            &server,
            Method::POST,
            "/api/v1/help",
            None,
            Some(help_body(c))
        )
        .await,
        limited
    );
    assert_eq!(
        send(&server, Method::GET, "/api/v1/health", None, None).await,
        limited
    );
    assert_eq!(
        send(&server, Method::GET, "/api/v1/nowhere", None, None).await,
        limited
    );
    // Outside /api/v1 there is no bucket.
    assert_eq!(
        send(&server, Method::GET, "/health", None, None)
            .await
            .status,
        200
    );
    // Fixed 60 s windows.
    server.clock.advance(MINUTE_MS);
    assert_eq!(get(&server, "/api/v1/whoami", c).await.status, 200);
}

#[tokio::test]
async fn per_ip_limit_on_help_polls() {
    let server = common::spawn_with(|c| {
        c.rate_limits.exempt_loopback = false;
        c.rate_limits.api_per_ip = 1000;
        c.rate_limits.help_poll_per_ip = 3;
    })
    .await;
    let c = server.client_key.as_str();
    let id = server.ask_ok(c, "q").await;
    let poll = format!("/api/v1/help/{id}");
    for _ in 0..3 {
        assert_eq!(get(&server, &poll, c).await.status, 200);
    }
    assert_eq!(get(&server, &poll, c).await, Answer::limited(TOO_MANY));
    let other = get(&server, "/api/v1/help/unknown-id", c).await;
    assert_eq!(other, Answer::limited(TOO_MANY));
    // Other endpoints, and POSTs under /help, use only the general bucket.
    assert_eq!(
        get(&server, &format!("/api/v1/messages/{id}"), c)
            .await
            .status,
        200
    );
    let timeout = format!("/api/v1/help/{id}/timeout");
    let answer = send(&server, Method::POST, &timeout, Some(c), Some(json!({}))).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    server.ask_ok(c, "another").await;
    server.clock.advance(MINUTE_MS);
    assert_eq!(get(&server, &poll, c).await.status, 200);
}

#[tokio::test]
async fn per_key_limit() {
    let server = common::spawn_with(|c| c.rate_limits.per_key = 3).await;
    let c = server.client_key.as_str();
    let id = server.ask_ok(c, "q").await;
    assert_eq!(
        get(&server, &format!("/api/v1/help/{id}"), c).await.status,
        200
    );
    assert_eq!(get(&server, "/api/v1/whoami", c).await.status, 200);
    let limited = Answer::limited("Per-key rate limit exceeded");
    assert_eq!(get(&server, "/api/v1/whoami", c).await, limited);
    // POST /help counts the key in the body.
    let answer = send(
        &server,
        Method::POST,
        "/api/v1/help",
        None,
        Some(help_body(c)),
    )
    .await;
    assert_eq!(answer, limited);
    // Another key of the same expert has its own bucket.
    let (_, sibling) = (server.client_key_for(&server.expert_id, ClientOptions::default())).await;
    for _ in 0..3 {
        assert_eq!(get(&server, "/api/v1/whoami", &sibling).await.status, 200);
    }
    server.clock.advance(MINUTE_MS);
    assert_eq!(get(&server, "/api/v1/whoami", c).await.status, 200);
}

#[tokio::test]
async fn loopback_is_exempt_from_the_ip_buckets_by_default() {
    let server = common::spawn_with(|c| {
        c.rate_limits.api_per_ip = 5;
        c.rate_limits.help_poll_per_ip = 2;
    })
    .await;
    let c = server.client_key.as_str();
    let id = server.ask_ok(c, "q").await;
    for _ in 0..20 {
        assert_eq!(
            get(&server, &format!("/api/v1/help/{id}"), c).await.status,
            200
        );
        assert_eq!(
            get(&server, "/api/v1/requests", &server.expert_key)
                .await
                .status,
            200
        );
    }
}

#[tokio::test]
async fn per_key_limit_on_events() {
    let server = common::spawn_with(|c| c.rate_limits.events_per_key = 4).await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let id = server.ask_ok(c, "q").await;
    for _ in 0..3 {
        assert_eq!(get(&server, "/api/v1/events/pending", e).await.status, 200);
    }
    let ack = format!("/api/v1/events/ack/{id}");
    let answer = send(&server, Method::POST, &ack, Some(e), Some(json!({}))).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let limited = Answer::limited(TOO_MANY);
    assert_eq!(get(&server, "/api/v1/events/pending", e).await, limited);
    assert_eq!(
        send(&server, Method::POST, &ack, Some(e), Some(json!({}))).await,
        limited
    );
    // Per key: the client key's events and the expert's other endpoints still answer.
    assert_eq!(get(&server, "/api/v1/events/pending", c).await.status, 200);
    assert_eq!(get(&server, "/api/v1/requests", e).await.status, 200);
    server.clock.advance(MINUTE_MS);
    assert_eq!(get(&server, "/api/v1/events/pending", e).await.status, 200);
}
