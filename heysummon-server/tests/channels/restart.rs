//! Delivery survives kill -9 (PROTOCOL F2): the real binary on a SQLite file, a webhook channel
//! added with the command line beside the running server, requests made while deliveries are
//! in flight, SIGKILL, a restart on the same file: every request reaches the webhook at least
//! once, and the first delivery of each arrives in the order the requests were made.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use heysummon_server::testing::fake_channels::{new_webhook_secret, webhook_signature};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::binary::run_json;
use crate::common::process::serve_command;

const REQUESTS: usize = 30;
/// Deliveries the receiver answers at once before it holds the rest (in flight) until released.
const ANSWERED_AT_ONCE: usize = 5;
/// How long the restarted server has to deliver everything.
const CATCH_UP: Duration = Duration::from_secs(30);

/// The real server on a database file.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts the binary (webhooks may reach loopback) and waits until it listens; on an empty
    /// store (`first`) also returns the first-run JSON it prints.
    fn start(db: &str, first: bool) -> (Self, Value) {
        let mut child = serve_command(db)
            .env_remove("HEYSUMMON_CONFIG")
            .env_remove("HEYSUMMON_LISTEN")
            .env("HEYSUMMON_CHANNELS_ALLOW_PRIVATE_NETWORKS", "true")
            .env("HEYSUMMON_RATE_LIMIT_PER_KEY", "100000000")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads stderr to the end, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(at) = line.find("address=") {
                    let address = line[at + 8..].split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(address.to_owned());
                }
            }
        });
        let address = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        let mut first_run = Value::Null;
        if first {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            first_run = serde_json::from_str(&line).unwrap();
        }
        let base = format!("http://{address}");
        (Self { child, base }, first_run)
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed test leaves no server behind (a no-op once killed).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One POST the receiver got.
#[derive(Clone, Debug)]
struct Arrival {
    webhook_id: String,
    event: String,
    request_id: String,
    signature_valid: bool,
}

/// A Standard Webhooks receiver that answers the first [`ANSWERED_AT_ONCE`] deliveries at once
/// and holds every later one, unanswered, until released: deliveries in flight at the kill.
/// (The shared `WebhookReceiver` fake has no "slow but successful" answer: its `Hang` ends in
/// a 500.)
struct GatedReceiver {
    url: String,
    shared: Arc<Gate>,
    task: tokio::task::JoinHandle<()>,
}

struct Gate {
    secret: String,
    arrivals: Mutex<Vec<Arrival>>,
    released: watch::Sender<bool>,
}

impl GatedReceiver {
    async fn start(secret: &str) -> Self {
        let shared = Arc::new(Gate {
            secret: secret.to_owned(),
            arrivals: Mutex::default(),
            released: watch::Sender::new(false),
        });
        let router = Router::new()
            .route("/webhook", post(receive))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url, shared, task }
    }

    fn arrivals(&self) -> Vec<Arrival> {
        self.shared.arrivals.lock().unwrap().clone()
    }

    /// Answers every held delivery and every later one at once.
    fn release(&self) {
        self.shared.released.send_replace(true);
    }
}

impl Drop for GatedReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(gate): State<Arc<Gate>>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, timestamp) = (header("webhook-id"), header("webhook-timestamp"));
    let expected = webhook_signature(&gate.secret, &id, &timestamp, &body);
    let payload: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let arrival = Arrival {
        signature_valid: header("webhook-signature")
            .split_whitespace()
            .any(|s| s == expected),
        webhook_id: id,
        event: payload["type"].as_str().unwrap_or_default().to_owned(),
        request_id: payload["data"]["requestId"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    let arrived = {
        let mut arrivals = gate.arrivals.lock().unwrap();
        arrivals.push(arrival);
        arrivals.len()
    };
    if arrived > ANSWERED_AT_ONCE {
        let _ = gate
            .released
            .subscribe()
            .wait_for(|released| *released)
            .await;
    }
    StatusCode::NO_CONTENT
}

/// The distinct request ids in order of their first arrival.
fn first_arrivals(arrivals: &[Arrival]) -> Vec<String> {
    let mut seen = Vec::new();
    for arrival in arrivals {
        if !seen.contains(&arrival.request_id) {
            seen.push(arrival.request_id.clone());
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_survive_sigkill_at_least_once_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("restart.db").display());
    let (server, keys) = tokio::task::spawn_blocking({
        let db = db.clone();
        move || Server::start(&db, true)
    })
    .await
    .unwrap();
    let expert_id = keys["expertId"].as_str().unwrap().to_owned();
    let client_key = keys["clientKey"].as_str().unwrap().to_owned();

    // The channel, added with the command line on the file the server runs on.
    let secret = new_webhook_secret();
    let receiver = GatedReceiver::start(&secret).await;
    let add = [
        "channel",
        "add",
        "--expert",
        &expert_id,
        "--kind",
        "webhook",
        "--url",
        &receiver.url,
        "--secret",
        &secret,
    ];
    let channel_id = run_json(&db, true, &add).await["channelId"]
        .as_str()
        .unwrap()
        .to_owned();

    let http = reqwest::Client::new();
    let mut created = Vec::new();
    for n in 0..REQUESTS {
        let response = http
            .post(format!("{}/api/v1/help", server.base))
            .json(&json!({
                "apiKey": client_key, "signPublicKey": "s", "encryptPublicKey": "e",
                "question": format!("question {n}"),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        created.push(body["requestId"].as_str().unwrap().to_owned());
    }

    // Some delivered, one in flight (held), the rest waiting: kill -9 now.
    let before = poll(
        "the running server to deliver (without being told of the new channel)",
        Duration::from_secs(15),
        || {
            let arrivals = receiver.arrivals();
            (arrivals.len() > ANSWERED_AT_ONCE).then_some(arrivals)
        },
    )
    .await;
    tokio::task::spawn_blocking(move || server.kill())
        .await
        .unwrap();
    let delivered_before = first_arrivals(&before).len();
    assert!(
        delivered_before < REQUESTS,
        "all {REQUESTS} arrived before the kill: nothing was left in flight"
    );
    receiver.release();

    let (server, _) = tokio::task::spawn_blocking({
        let db = db.clone();
        move || Server::start(&db, false)
    })
    .await
    .unwrap();
    let arrivals = poll(
        "every request to reach the webhook after the restart",
        CATCH_UP,
        || {
            let arrivals = receiver.arrivals();
            (first_arrivals(&arrivals).len() >= REQUESTS).then_some(arrivals)
        },
    )
    .await;

    let firsts = first_arrivals(&arrivals);
    let duplicates = arrivals.len() - firsts.len();
    let missing: Vec<&String> = created.iter().filter(|id| !firsts.contains(id)).collect();
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    assert_eq!(
        firsts,
        created,
        "first deliveries out of creation order ({} arrivals, {duplicates} duplicates, \
         {delivered_before} requests had arrived before the kill)",
        arrivals.len()
    );
    // A repeat is the same message again: same webhook-id (receivers deduplicate on it).
    let mut ids: HashMap<&str, &str> = HashMap::new();
    for arrival in &arrivals {
        assert_eq!(arrival.event, "request.created", "{arrival:?}");
        assert!(arrival.signature_valid, "{arrival:?}");
        let first = *ids
            .entry(arrival.request_id.as_str())
            .or_insert(arrival.webhook_id.as_str());
        assert_eq!(
            first, arrival.webhook_id,
            "a repeat with a new webhook-id: {arrival:?}"
        );
    }
    assert!(
        duplicates >= 1,
        "the delivery in flight at the kill was not sent again ({} arrivals)",
        arrivals.len()
    );

    // The channel's state caught up too: nothing pending, no error.
    let list = ["channel", "list", "--expert", &expert_id];
    let deadline = std::time::Instant::now() + CATCH_UP;
    loop {
        let listed = run_json(&db, true, &list).await;
        let channel = &listed["channels"][0];
        assert_eq!(channel["channelId"], channel_id.as_str());
        if channel["pending"] == 0 {
            assert_eq!(channel["status"], "active", "{channel}");
            assert_eq!(channel["lastError"], Value::Null, "{channel}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still pending: {channel}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "{REQUESTS} requests: {delivered_before} had arrived before the kill, {} arrivals in all, \
         {duplicates} duplicates",
        arrivals.len()
    );
    tokio::task::spawn_blocking(move || server.kill())
        .await
        .unwrap();
}

/// Polls `check` every 10 ms until it gives a value; panics naming `what` after `timeout`.
pub async fn poll<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
