//! Channel delivery benchmark (issue 12): notifications delivered per second to a fast
//! webhook receiver, and the time from `POST /api/v1/help` returning to the receiver having the
//! notification (p50/p99). Targets: ≥ 2,000 notifications/s and p99 ≤ 50 ms.
//!
//! - Latency: one request at a time; the receiver notes the wall clock when each delivery
//!   arrives; the figure is arrival minus the moment the `POST /help` answer was read.
//! - Throughput: the receiver holds its first answer while `BACKLOG` requests are created, so
//!   the channel's outbox fills; then it lets go and the harness times the drain (the channel
//!   delivers in order, one at a time, signing each delivery).
//! - Baselines in the same run, same receiver: one reqwest client POSTing signed-size JSON to it
//!   sequentially (the floor of one delivery: a loopback round trip), as a rate and as a
//!   latency.
//!
//! Run: `cargo bench --bench channels` (options: `-- --samples 300 --backlog 5000`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use heysummon_server::clock::Clock;
use heysummon_server::testing::TestApp;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify, mpsc};

/// What the receiver saw: each delivery's request id and arrival.
#[derive(Clone)]
struct Receiver {
    arrivals: mpsc::UnboundedSender<(String, Instant)>,
    gate: Arc<Mutex<bool>>,
    open: Arc<Notify>,
}

async fn receive(State(receiver): State<Receiver>, body: axum::body::Bytes) -> &'static str {
    let at = Instant::now();
    let parsed: Value = serde_json::from_slice(&body).unwrap_or_default();
    let id = parsed["data"]["requestId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Held closed: wait until the harness opens the gate.
    loop {
        let notified = receiver.open.notified();
        if *receiver.gate.lock().await {
            break;
        }
        notified.await;
    }
    let _ = receiver.arrivals.send((id, at));
    "ok"
}

async fn start_receiver() -> (String, Receiver, mpsc::UnboundedReceiver<(String, Instant)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let receiver = Receiver {
        arrivals: tx,
        gate: Arc::new(Mutex::new(true)),
        open: Arc::new(Notify::new()),
    };
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, receiver, rx)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(name: &str, mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&samples, 50.0), percentile(&samples, 99.0));
    println!(
        "{name:<40} n={:<5} p50 {p50:>7.3} ms  p99 {p99:>7.3} ms  max {:>7.3} ms",
        samples.len(),
        samples.last().copied().unwrap_or_default()
    );
    (p50, p99)
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let samples = arg("--samples", 300);
    let backlog = arg("--backlog", 5000);
    let (url, receiver, mut arrivals) = start_receiver().await;

    // Baseline: raw POSTs of a notification-sized body to the receiver.
    let http = reqwest::Client::new();
    let body = json!({ "type": "request.created", "data": { "requestId": "baseline", "refCode": "HS-AAAAAAAA",
        "kind": "question", "clientKeyName": "bench", "status": "pending", "sealed": false,
        "url": "http://127.0.0.1/#/requests/x", "question": "q".repeat(64) } })
    .to_string();
    let mut raw = Vec::with_capacity(samples);
    for _ in 0..samples {
        let sent = Instant::now();
        http.post(&url)
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        raw.push(sent.elapsed().as_secs_f64() * 1000.0);
        arrivals.recv().await.unwrap();
    }
    let started = Instant::now();
    for _ in 0..backlog {
        http.post(&url)
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        arrivals.recv().await.unwrap();
    }
    let raw_rate = backlog as f64 / started.elapsed().as_secs_f64();

    let app = TestApp::builder()
        .clock(Clock::system())
        .config(|config| {
            config.channels.allow_private_networks = true;
            config.channels.timeout_secs = 120;
            config.rate_limits.per_key = 100_000_000;
        })
        .spawn()
        .await;
    let (cookie, csrf) = app.session(&app.expert_id).await;
    let added = app
        .http
        .post(app.url("/api/channels"))
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .json(&json!({ "kind": "webhook", "url": url }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);

    // Latency, one request at a time.
    let mut latency = Vec::with_capacity(samples);
    for n in 0..samples {
        let id = app
            .ask_ok(&app.client_key, &format!("Latency sample {n}"))
            .await;
        let returned = Instant::now();
        let (got, at) = arrivals.recv().await.unwrap();
        assert_eq!(got, id);
        latency.push(at.saturating_duration_since(returned).as_secs_f64() * 1000.0);
    }

    // Throughput: hold the receiver, fill the outbox, let go, time the drain.
    *receiver.gate.lock().await = false;
    let mut ids = Vec::with_capacity(backlog);
    let creating = Instant::now();
    for n in 0..backlog {
        ids.push(app.ask_ok(&app.client_key, &format!("Backlog {n}")).await);
    }
    let created_in = creating.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let released = Instant::now();
    *receiver.gate.lock().await = true;
    receiver.open.notify_waiters();
    let mut received = Vec::with_capacity(backlog);
    while received.len() < backlog {
        received.push(arrivals.recv().await.unwrap().0);
    }
    let drained = released.elapsed();
    assert_eq!(received, ids, "delivered in order, each once");
    let rate = backlog as f64 / drained.as_secs_f64();

    println!("channel delivery to a webhook on loopback ({samples} samples, backlog {backlog})");
    let (raw50, raw99) = report("baseline: raw POST round trip", raw);
    let (p50, p99) = report("POST /help returned -> webhook received", latency);
    println!(
        "  ratio to baseline: p50 {:.1}x, p99 {:.1}x",
        p50 / raw50,
        p99 / raw99
    );
    println!("baseline: raw sequential POSTs           {raw_rate:>9.0} /s");
    println!(
        "channel: backlog drained                 {rate:>9.0} notifications/s ({:.2} s; {:.1}% of raw; backlog created in {:.2} s)",
        drained.as_secs_f64(),
        100.0 * rate / raw_rate,
        created_in.as_secs_f64()
    );
}
