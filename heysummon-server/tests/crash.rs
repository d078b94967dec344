//! The crash test: the real `heysummon-server` binary under concurrent load (agents creating
//! requests, the expert answering them), killed with SIGKILL at a random moment, restarted on
//! the same store, several rounds: an SQLite file, or a PostgreSQL database of its own when the
//! suite runs on PostgreSQL. Every write the server acknowledged must be there after the
//! restart, exactly once, and so must the event that announced each acknowledged creation (on
//! PostgreSQL, events staged but not yet sequenced at the kill are sequenced after it); a
//! creation retried with its `Idempotency-Key` after the crash must not page twice.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::process::serve_command;
use heysummon_server::store::{EventScope, Store};
use heysummon_server::testing::postgres::{TestDatabase, suite_on_postgres};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ROUNDS: usize = 3;
const AGENTS: usize = 6;

/// What the server acknowledged (answered 200 to), and what it may or may not have done.
#[derive(Default)]
struct Ledger {
    /// (idempotency key, request id) of acknowledged creations.
    created: Vec<(String, String)>,
    /// Idempotency keys of creations sent but not acknowledged (in flight at the kill).
    unsure: Vec<String>,
    /// (request id, text) of acknowledged expert answers.
    answered: Vec<(String, String)>,
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts the binary on `db`, signing the audit log with the key in `audit_key` (needed
    /// on PostgreSQL), and waits until it listens; returns it and, on an empty store (`first`),
    /// the first line of its stdout: the first-run keys.
    fn start(db: &str, audit_key: &str, first: bool) -> (Self, String) {
        let mut child = serve_command(db)
            .env("HEYSUMMON_AUDIT_KEY_FILE", audit_key)
            .env("HEYSUMMON_RATE_LIMIT_PER_KEY", "100000000")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(at) = line.find("address=") {
                    let address = line[at + 8..].split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(address.to_owned());
                }
            }
        });
        let address = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert!(!address.is_empty(), "no address");
        let mut first_run = String::new();
        if first {
            BufReader::new(stdout).read_line(&mut first_run).unwrap();
        }
        (
            Self {
                child,
                base: format!("http://{address}"),
            },
            first_run,
        )
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// A small, good-enough random number from the clock.
fn random_below(n: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    u64::from(nanos.wrapping_mul(2_654_435_761)) % n
}

async fn agent(
    base: String,
    client_key: String,
    expert_key: String,
    ledger: Arc<Mutex<Ledger>>,
    round: usize,
    agent: usize,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    for n in 0.. {
        let idempotency = format!("r{round}-a{agent}-n{n}");
        let created = http
            .post(format!("{base}/api/v1/help"))
            .header("idempotency-key", &idempotency)
            .json(
                &json!({"apiKey": client_key, "signPublicKey": "s", "encryptPublicKey": "e",
                          "question": format!("question {idempotency}")}),
            )
            .send()
            .await;
        let id = match created {
            Ok(response) if response.status() == StatusCode::OK => {
                let body: Value = match response.json().await {
                    Ok(body) => body,
                    Err(_) => {
                        ledger.lock().unwrap().unsure.push(idempotency);
                        return;
                    }
                };
                let id = body["requestId"].as_str().unwrap().to_owned();
                ledger
                    .lock()
                    .unwrap()
                    .created
                    .push((idempotency.clone(), id.clone()));
                id
            }
            _ => {
                ledger.lock().unwrap().unsure.push(idempotency);
                return;
            }
        };
        let text = format!("answer to {idempotency}");
        let answered = http
            .post(format!("{base}/api/v1/message/{id}"))
            .header("x-api-key", &expert_key)
            .json(&json!({"from": "expert", "plaintext": text}))
            .send()
            .await;
        match answered {
            Ok(response) if response.status() == StatusCode::OK => {
                ledger.lock().unwrap().answered.push((id, text));
            }
            _ => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let postgres = if suite_on_postgres() {
        TestDatabase::create().await
    } else {
        None
    };
    let db = match &postgres {
        Some(database) => database.url().to_owned(),
        None => format!("sqlite://{}", dir.path().join("crash.db").display()),
    };
    let audit_key = dir.path().join("audit.key").display().to_string();
    let (server, first_run) = tokio::task::spawn_blocking({
        let db = db.clone();
        let audit_key = audit_key.clone();
        move || Server::start(&db, &audit_key, true)
    })
    .await
    .unwrap();
    let keys: Value = serde_json::from_str(&first_run).unwrap();
    let client_key = keys["clientKey"].as_str().unwrap().to_owned();
    let expert_key = keys["expertKey"].as_str().unwrap().to_owned();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut server = Some(server);
    for round in 0..ROUNDS {
        let running = server.take().unwrap();
        let tasks: Vec<_> = (0..AGENTS)
            .map(|n| {
                tokio::spawn(agent(
                    running.base.clone(),
                    client_key.clone(),
                    expert_key.clone(),
                    Arc::clone(&ledger),
                    round,
                    n,
                ))
            })
            .collect();
        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(300 + random_below(1200))).await;
        tokio::task::spawn_blocking(move || running.kill())
            .await
            .unwrap();
        eprintln!("round {round}: killed after {:?}", started.elapsed());
        for task in tasks {
            task.await.unwrap();
        }
        let (restarted, _) = tokio::task::spawn_blocking({
            let db = db.clone();
            let audit_key = audit_key.clone();
            move || Server::start(&db, &audit_key, false)
        })
        .await
        .unwrap();
        verify(&restarted.base, &db, &client_key, &expert_key, &ledger).await;
        server = Some(restarted);
    }
    let ledger = ledger.lock().unwrap();
    eprintln!(
        "{ROUNDS} rounds: {} acknowledged creations and {} acknowledged answers, all found once; \
         {} creations in flight at a kill",
        ledger.created.len(),
        ledger.answered.len(),
        ledger.unsure.len()
    );
    assert!(ledger.created.len() > 10, "the load did run");
    server.take().unwrap().kill();
}

/// Every request the database holds, read beside the running server.
async fn everything(db: &str) -> Vec<heysummon_server::store::RequestRecord> {
    Store::open(db)
        .await
        .unwrap()
        .all_requests(None)
        .await
        .unwrap()
}

/// Each acknowledged creation's `new_request` is in the event log exactly once (waiting a few
/// seconds for what was staged at the kill to be sequenced, on PostgreSQL).
async fn announced_once(db: &str, created: &[(String, String)]) {
    let store = Store::open(db).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut announced = std::collections::HashMap::<String, usize>::new();
        let mut after = 0;
        loop {
            let (events, scanned) = store
                .events_after(after, EventScope::All, 1_000)
                .await
                .unwrap();
            for event in events.iter().filter(|e| e.event_type == "new_request") {
                *announced.entry(event.request_id.clone()).or_default() += 1;
            }
            match scanned {
                Some(scanned) => after = scanned,
                None => break,
            }
        }
        let missing: Vec<&str> = created
            .iter()
            .filter(|(_, id)| !announced.contains_key(id))
            .map(|(_, id)| id.as_str())
            .collect();
        for (_, id) in created {
            assert!(
                announced.get(id).is_none_or(|n| *n == 1),
                "{id} announced twice"
            );
        }
        if missing.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "never announced: {missing:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every acknowledged creation and answer is there exactly once; a creation in flight at the
/// kill, retried with its idempotency key, exists at most once.
async fn verify(base: &str, db: &str, client_key: &str, expert_key: &str, ledger: &Mutex<Ledger>) {
    let http = reqwest::Client::new();
    let (created, answered, unsure) = {
        let ledger = ledger.lock().unwrap();
        (
            ledger.created.clone(),
            ledger.answered.clone(),
            ledger.unsure.clone(),
        )
    };
    let all = everything(db).await;
    for (key, id) in &created {
        assert_eq!(
            all.iter().filter(|r| r.id == *id).count(),
            1,
            "acknowledged request {id} ({key})"
        );
    }
    announced_once(db, &created).await;
    for (id, text) in &answered {
        let messages: Value = http
            .get(format!("{base}/api/v1/messages/{id}"))
            .header("x-api-key", expert_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found = messages["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["plaintext"] == text.as_str())
            .count();
        assert_eq!(found, 1, "acknowledged answer on {id}");
    }
    for key in &unsure {
        let retried = |key: &str| {
            http.post(format!("{base}/api/v1/help"))
                .header("idempotency-key", key)
                .json(&json!({"apiKey": client_key, "signPublicKey": "s",
                              "encryptPublicKey": "e", "question": format!("question {key}")}))
                .send()
        };
        let first: Value = retried(key).await.unwrap().json().await.unwrap();
        let again: Value = retried(key).await.unwrap().json().await.unwrap();
        assert_eq!(first["requestId"], again["requestId"], "{key} paged twice");
    }
    let all = everything(db).await;
    for key in &unsure {
        let question = format!("question {key}");
        let copies = all
            .iter()
            .filter(|r| r.question.as_deref() == Some(question.as_str()))
            .count();
        assert_eq!(
            copies, 1,
            "{key}: a creation in flight at the kill exists once"
        );
    }
}
