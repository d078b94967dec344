//! The guard's listener under hostile or careless clients: bodies that never finish, more
//! connections than it serves, duplicate `Host` headers, and a `/health` a web page must not read.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::common::{GuardHandle, Stub};

const KEY: &str = "hs_cli_guardhardening01";

async fn guard(
    adjust: impl FnOnce(&mut heysummon_guard::Config),
) -> (Stub, GuardHandle, tempfile::TempDir) {
    let stub = Stub::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let guard =
        GuardHandle::start_with(&stub.base, KEY, &dir.path().join("device.key"), adjust).await;
    (stub, guard, dir)
}

/// Sends raw bytes; returns what comes back until the guard closes (at most 5 s).
async fn exchange(guard: &GuardHandle, request: &[u8]) -> String {
    let address = guard.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received))
        .await
        .expect("the guard answers and closes within 5 s")
        .unwrap();
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_body_that_never_finishes_is_timed_out() {
    let (stub, guard, _dir) = guard(|c| c.limits.body_read_timeout = Duration::from_secs(1)).await;
    let response = exchange(
        &guard,
        b"POST /api/v1/help HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
          content-length: 1000\r\n\r\n{\"q",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("The request body was not received in time"));
    assert_eq!(stub.count(), 0, "nothing was forwarded");
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_clearly() {
    let (_stub, guard, _dir) = guard(|c| c.limits.max_connections = 1).await;
    let address = guard.base.trim_start_matches("http://").to_owned();
    let mut held = TcpStream::connect(&address).await.unwrap();
    held.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    held.read_exact(&mut first).await.unwrap();
    let response = exchange(&guard, b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await;
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(response.contains("CONNECTION_LIMIT"), "{response}");
}

#[tokio::test]
async fn duplicate_host_headers_and_foreign_health_checks_are_refused() {
    let (stub, guard, _dir) = guard(|_| {}).await;
    let response = exchange(
        &guard,
        b"GET /api/v1/whoami HTTP/1.1\r\nhost: 127.0.0.1\r\nhost: evil.example\r\n\
          connection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert_eq!(stub.count(), 0);
    for header in ["host: evil.example", "origin: http://evil.example"] {
        let request = format!("GET /health HTTP/1.1\r\n{header}\r\nconnection: close\r\n\r\n");
        let response = exchange(&guard, request.as_bytes()).await;
        assert!(response.starts_with("HTTP/1.1 403"), "{header}: {response}");
        assert!(!response.contains("deviceId"), "{response}");
    }
    let response = exchange(
        &guard,
        b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}
