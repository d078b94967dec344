//! Submitting requests for the load benchmarks: the request body (a 1 KiB question) and one
//! keep-alive connection sending it back to back, and the report of what they measured.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// The `POST /api/v1/help` body: a 1 KiB plaintext question.
pub fn body(client_key: &str) -> Bytes {
    let question = "Is it safe to run the schema migration on the production replica now? "
        .repeat(16)
        .chars()
        .take(1024)
        .collect::<String>();
    let json = serde_json::json!({
        "apiKey": client_key,
        "signPublicKey": "302a300506032b65700321008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
        "encryptPublicKey": "302a300506032b656e032100ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59",
        "question": question,
    });
    Bytes::from(serde_json::to_vec(&json).unwrap())
}

/// One keep-alive connection sending requests back to back until `deadline`; returns the
/// latency of each request in microseconds.
pub async fn connection(addr: SocketAddr, body: Bytes, deadline: Instant) -> Vec<u32> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut latencies = Vec::with_capacity(100_000);
    while Instant::now() < deadline {
        let request = Request::post("/api/v1/help")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .body(Full::new(body.clone()))
            .unwrap();
        let started = Instant::now();
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(status.is_success(), "{status}: {bytes:?}");
        latencies.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    latencies
}

/// Prints requests/s and latency percentiles; returns requests/s.
pub fn report(label: &str, mut latencies: Vec<u32>, elapsed: Duration) -> f64 {
    latencies.sort_unstable();
    let pct = |p: f64| {
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(latencies[index]) / 1000.0
    };
    println!(
        "{label}: {} requests in {:.1} s = {:.0} requests/s; latency p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        pct(1.0),
    );
    latencies.len() as f64 / elapsed.as_secs_f64()
}
