//! Several server instances on one PostgreSQL database (issue 13, item 3): two real
//! `heysummon-server` processes share a database made for the test. Instance A starts first on
//! the empty store and prints the first-run keys; B starts next on the same database. Both are
//! killed when the test ends, passed or not.
//!
//! - an agent's SSE stream on A receives the answer an expert posts to B;
//! - a signed request accepted by A is refused as a replay by B, and creates nothing there;
//! - an idempotent creation retried against the other instance returns the same request;
//! - kill -9 of A while agents wait: they resume on B with `Last-Event-ID` and miss nothing;
//! - the per-key rate limit counts across instances.
//!
//! The tests need `HEYSUMMON_TEST_POSTGRES_URL` (skipped without it, outside CI). Every wait is
//! bounded.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::process::serve_command;
use common::signed::{Req, Target};
use common::sse::{Stream, WAIT, assert_events_in};
use heysummon_sdk::keys::SigningKeyPair;
use heysummon_sdk::signing::{Nonce, RequestSigner};
use heysummon_server::testing::postgres::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How long an instance may take to start listening.
const START: Duration = Duration::from_secs(30);
const STREAM: &str = "/api/v1/events/stream";
/// How many lines of an instance's log are kept, to be shown when a test fails.
const LOG_LINES: usize = 200;

// ---------------------------------------------------------------------------------------------
// The instances.

/// One `heysummon-server serve` process; killed (SIGKILL) when dropped.
struct Instance {
    name: &'static str,
    child: Child,
    base: String,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl Instance {
    /// Starts the binary on `db` with `env` and waits until it listens; returns it and, when
    /// `first` (an empty store), the first line of its stdout: the first-run keys.
    fn start(name: &'static str, db: &str, env: &[(&str, &str)], first: bool) -> (Self, String) {
        let mut command = serve_command(db);
        command
            .env_remove("HEYSUMMON_DATABASE_URL")
            .env("HEYSUMMON_RATE_LIMIT_PER_KEY", "100000")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        std::thread::spawn({
            let log = Arc::clone(&log);
            move || {
                for line in stderr.lines().map_while(Result::ok) {
                    if let Some(at) = line.find("address=") {
                        let address = line[at + 8..].split_whitespace().next();
                        let address = address.unwrap_or_default().trim_matches('"');
                        let _ = address_tx.send(address.to_owned());
                    }
                    let mut log = log.lock().unwrap();
                    if log.len() == LOG_LINES {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (first_tx, first_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            let _ = first_tx.send(line);
            // Keep draining, so the process never blocks on a full pipe.
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        let mut instance = Self {
            name,
            child,
            base: String::new(),
            log,
        };
        let address = address_rx.recv_timeout(START).unwrap_or_else(|e| {
            panic!(
                "instance {name} did not log its address within {START:?} ({e}); its log:\n{}",
                instance.log_text()
            )
        });
        assert!(
            !address.is_empty(),
            "instance {name}: empty address; log:\n{}",
            instance.log_text()
        );
        instance.base = format!("http://{address}");
        let first_run = if first {
            first_rx.recv_timeout(START).unwrap_or_else(|e| {
                panic!(
                    "instance {name} printed no first-run keys ({e}); its log:\n{}",
                    instance.log_text()
                )
            })
        } else {
            String::new()
        };
        (instance, first_run)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log_text(&self) -> String {
        let log = self.log.lock().unwrap();
        log.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// SIGKILL, then reap. Safe to call twice.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "---- log of instance {} ({}) ----\n{}",
                self.name,
                self.base,
                self.log_text()
            );
        }
    }
}

/// Two instances on one fresh database, and the first-run keys. Fields drop in order: the
/// processes are killed before the database is dropped.
struct Cluster {
    a: Instance,
    b: Instance,
    client_key: String,
    expert_key: String,
    /// For ordinary requests (bounded).
    http: reqwest::Client,
    /// For event streams (no total timeout; every read is bounded by the test).
    streams: reqwest::Client,
    _db: TestDatabase,
}

impl Cluster {
    /// A then B on a new database, both with `env`; `None` when PostgreSQL tests are skipped.
    async fn start(env: &[(&'static str, &'static str)]) -> Option<Self> {
        let db = TestDatabase::create().await?;
        let url = db.url().to_owned();
        let env = env.to_vec();
        let (a, b, keys) = tokio::task::spawn_blocking(move || {
            let (a, first_run) = Instance::start("A", &url, &env, true);
            let keys: Value = serde_json::from_str(&first_run)
                .unwrap_or_else(|e| panic!("A's first-run line is not JSON ({e}): {first_run:?}"));
            let (b, _) = Instance::start("B", &url, &env, false);
            (a, b, keys)
        })
        .await
        .unwrap();
        let key = |name: &str| {
            keys[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name} in the first-run keys: {keys}"))
                .to_owned()
        };
        Some(Self {
            client_key: key("clientKey"),
            expert_key: key("expertKey"),
            a,
            b,
            http: reqwest::Client::builder().timeout(WAIT).build().unwrap(),
            streams: reqwest::Client::builder()
                .connect_timeout(WAIT)
                .build()
                .unwrap(),
            _db: db,
        })
    }

    /// Creates a plaintext request through `on`; its id.
    async fn ask(&self, on: &Instance, question: &str) -> String {
        let resp = Req::ask(&self.client_key, question).send(&(self, on)).await;
        assert_eq!(
            resp.status,
            StatusCode::OK,
            "ask on {}: {}",
            on.name,
            resp.text
        );
        resp.id()
    }

    /// The expert answers `id` in plaintext through `on`.
    async fn answer(&self, on: &Instance, id: &str, text: &str) {
        let body = json!({"from": "expert", "plaintext": text});
        let resp = Req::post(format!("/api/v1/message/{id}"), &self.expert_key, &body)
            .send(&(self, on))
            .await;
        assert_eq!(
            resp.status,
            StatusCode::OK,
            "answer {id} on {}: {}",
            on.name,
            resp.text
        );
    }

    /// The ids of the expert's requests through `on` (`GET /api/v1/requests`), sorted.
    async fn listing(&self, on: &Instance) -> Vec<String> {
        let resp = Req::get("/api/v1/requests", &self.expert_key)
            .send(&(self, on))
            .await;
        assert_eq!(
            resp.status,
            StatusCode::OK,
            "listing on {}: {}",
            on.name,
            resp.text
        );
        let mut ids: Vec<String> = resp.body["requests"]
            .as_array()
            .unwrap_or_else(|| panic!("no requests array: {}", resp.text))
            .iter()
            .map(|r| {
                r["id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("an item without an id: {r}"))
                    .to_owned()
            })
            .collect();
        ids.sort();
        ids
    }

    /// The request's status as the agent reads it through `on` (`GET /api/v1/help/:id`).
    async fn status(&self, on: &Instance, id: &str) -> String {
        let resp = Req::get(format!("/api/v1/help/{id}"), &self.client_key)
            .send(&(self, on))
            .await;
        assert_eq!(
            resp.status,
            StatusCode::OK,
            "help/{id} on {}: {}",
            on.name,
            resp.text
        );
        resp.body["status"].as_str().unwrap().to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// Requests, sent byte for byte.

impl Target for (&Cluster, &Instance) {
    fn client(&self) -> &reqwest::Client {
        &self.0.http
    }

    fn url_of(&self, path: &str) -> String {
        self.1.url(path)
    }

    fn describe(&self) -> String {
        format!("instance {}", self.1.name)
    }
}

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// A random suffix, so idempotency keys and questions are unique to a run.
fn unique() -> String {
    Nonce::random().to_string()
}

// ---------------------------------------------------------------------------------------------
// Server-Sent Events.

/// Opens `path` on `on` with `key` (and `Last-Event-ID: last`, if given) and consumes the
/// greeting (`retry:` + `: connected`), after which the subscription is live.
async fn open_stream(
    cluster: &Cluster,
    on: &Instance,
    path: &str,
    key: &str,
    last: Option<i64>,
) -> Stream {
    let mut request = cluster.streams.get(on.url(path)).header("x-api-key", key);
    if let Some(last) = last {
        request = request.header("last-event-id", last.to_string());
    }
    let response = tokio::time::timeout(WAIT, request.send())
        .await
        .unwrap_or_else(|_| panic!("{path} on {}: no response within {WAIT:?}", on.name))
        .unwrap_or_else(|e| panic!("{path} on {}: {e}", on.name));
    Stream::greeted(response, on.name).await.0
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// An agent's stream on A receives the answer the expert posts to B; the expert's stream on B
/// hears of a request created on A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_one_instance_receives_an_answer_posted_to_the_other() {
    let Some(c) = Cluster::start(&[]).await else {
        return;
    };

    // A creation on A reaches the expert's stream on B.
    let mut expert_on_b = open_stream(&c, &c.b, STREAM, &c.expert_key, None).await;
    let started = Instant::now();
    let id = c.ask(&c.a, "may I deploy? (asked on A)").await;
    let events = expert_on_b.until("new_request", &id).await;
    assert_events_in(&events, 0, &[("new_request", &id)], "expert's stream on B");
    eprintln!(
        "new_request created on A seen on B after {:?}",
        started.elapsed()
    );

    // The answer posted to B reaches the agent's stream on A.
    let mut agent_on_a = open_stream(&c, &c.a, STREAM, &c.client_key, None).await;
    let started = Instant::now();
    c.answer(&c.b, &id, "yes (answered on B)").await;
    let answered = started.elapsed();
    let events = agent_on_a.until("responded", &id).await;
    let delivered = started.elapsed();
    assert_events_in(
        &events,
        0,
        &[("new_message", &id), ("responded", &id)],
        "agent's stream on A",
    );
    assert_eq!(events[0].json()["from"], "expert", "{:?}", events[0]);
    for frame in &events {
        assert_eq!(frame.json()["status"], "responded", "{frame:?}");
        assert!(
            !frame
                .data
                .as_deref()
                .unwrap_or_default()
                .contains("answered on B"),
            "event carries content: {frame:?}"
        );
    }
    eprintln!("answer posted to B (200 after {answered:?}) delivered on A after {delivered:?}");
    agent_on_a.assert_quiet_in("agent's stream on A").await;
    assert_eq!(c.status(&c.a, &id).await, "responded");
}

/// A signed request accepted by A is refused by B when replayed byte for byte, and creates
/// nothing there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_request_accepted_by_one_instance_is_a_replay_on_the_other() {
    let Some(c) = Cluster::start(&[]).await else {
        return;
    };
    let key = c.client_key.clone();
    let device = RequestSigner::new(SigningKeyPair::generate());
    let enroll = Req::post(
        "/api/v1/devices",
        &key,
        &json!({"publicKey": device.public_key().to_hex()}),
    );
    let resp = enroll.send(&(&c, &c.a)).await;
    assert_eq!(resp.status, StatusCode::OK, "enroll on A: {}", resp.text);
    assert_eq!(resp.body["deviceId"], device.device_id(), "{}", resp.text);

    // B knows the enrollment: unsigned requests with the key are refused there too.
    let resp = Req::ask(&key, "unsigned on B").send(&(&c, &c.b)).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text);
    assert_eq!(resp.body["code"], "SIGNATURE_REQUIRED", "{}", resp.text);

    let signed = Req::ask(&key, &format!("only once {}", unique())).signed(&device, now_ms());
    let resp = signed.send(&(&c, &c.a)).await;
    assert_eq!(resp.status, StatusCode::OK, "signed on A: {}", resp.text);
    let id = resp.id();

    let replay = signed.send(&(&c, &c.b)).await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "the replay on B was not refused: {}",
        replay.text
    );
    assert_eq!(
        replay.body["code"], "SIGNATURE_REPLAYED",
        "replay on B: {}",
        replay.text
    );
    assert!(!replay.text.contains(&key), "key leaked: {}", replay.text);
    // And on A, for completeness.
    let again = signed.send(&(&c, &c.a)).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{}", again.text);
    assert_eq!(again.body["code"], "SIGNATURE_REPLAYED", "{}", again.text);

    for on in [&c.a, &c.b] {
        let ids = c.listing(on).await;
        assert_eq!(
            ids,
            std::slice::from_ref(&id),
            "requests seen through {}",
            on.name
        );
    }

    // A fresh signature is accepted by B: it refused the replay, not the device.
    let fresh = Req::ask(&key, "signed again, on B").signed(&device, now_ms());
    let resp = fresh.send(&(&c, &c.b)).await;
    assert_eq!(resp.status, StatusCode::OK, "fresh on B: {}", resp.text);
    let replay = fresh.send(&(&c, &c.a)).await;
    assert_eq!(
        replay.body["code"], "SIGNATURE_REPLAYED",
        "B's nonce replayed on A: {}",
        replay.text
    );
    assert_eq!(c.listing(&c.a).await.len(), 2);
}

/// An idempotent creation sent to A and retried against B returns the same request, and one
/// request exists; concurrent sends of one key to both instances create one request too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_creation_retried_on_the_other_instance_is_the_same_request() {
    let Some(c) = Cluster::start(&[]).await else {
        return;
    };
    let mut expert_on_b = open_stream(&c, &c.b, STREAM, &c.expert_key, None).await;
    let idempotency = format!("retry-{}", unique());
    let create =
        Req::ask(&c.client_key, "once, whatever instance").header("idempotency-key", &idempotency);
    let first = create.send(&(&c, &c.a)).await;
    assert_eq!(first.status, StatusCode::OK, "on A: {}", first.text);
    let id = first.id();
    let retried = create.send(&(&c, &c.b)).await;
    assert_eq!(
        retried.status,
        StatusCode::OK,
        "retried on B: {}",
        retried.text
    );
    assert_eq!(
        retried.text, first.text,
        "the retry on B does not return A's answer byte for byte"
    );
    let again = create.send(&(&c, &c.a)).await;
    assert_eq!(again.text, first.text, "a second retry, on A");

    for on in [&c.a, &c.b] {
        let ids = c.listing(on).await;
        assert_eq!(
            ids,
            std::slice::from_ref(&id),
            "requests seen through {}",
            on.name
        );
    }
    // The expert was told once.
    let events = expert_on_b.until("new_request", &id).await;
    assert_events_in(&events, 0, &[("new_request", &id)], "expert's stream on B");
    expert_on_b
        .assert_quiet_in("a retried creation appended an event")
        .await;

    // The same key sent to both at once: one creation, one answer for both.
    let mut created = vec![id];
    for round in 0..5 {
        let idempotency = format!("race-{round}-{}", unique());
        let create = Req::ask(&c.client_key, &format!("race {round}"))
            .header("idempotency-key", &idempotency);
        let (to_a, to_b) = ((&c, &c.a), (&c, &c.b));
        let (on_a, on_b) = tokio::join!(create.send(&to_a), create.send(&to_b));
        assert_eq!(
            on_a.status,
            StatusCode::OK,
            "race {round} on A: {}",
            on_a.text
        );
        assert_eq!(
            on_b.status,
            StatusCode::OK,
            "race {round} on B: {}",
            on_b.text
        );
        assert_eq!(
            on_a.text, on_b.text,
            "race {round}: the instances answered differently"
        );
        created.push(on_a.id());
    }
    let ids = c.listing(&c.b).await;
    created.sort();
    assert_eq!(ids, created, "one request per idempotency key");
}

/// Agents wait on A's streams; A is killed with SIGKILL; the expert answers on B; each agent
/// resumes on B from the last event id it saw on A and receives its answer: nothing missed,
/// nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_resume_on_the_other_instance_after_kill_9_and_miss_nothing() {
    let Some(mut c) = Cluster::start(&[]).await else {
        return;
    };
    const AGENTS: usize = 3;

    // Each agent opens its stream on A, then asks on A, and reads up to its new_request.
    let mut streams = Vec::new();
    for _ in 0..AGENTS {
        streams.push(open_stream(&c, &c.a, STREAM, &c.client_key, None).await);
    }
    let mut waiting = Vec::new();
    for (n, stream) in streams.iter_mut().enumerate() {
        let id = c.ask(&c.a, &format!("agent {n} waits")).await;
        let seen = stream.until("new_request", &id).await;
        let last = seen.last().unwrap().id();
        waiting.push((id, last));
    }

    // kill -9 of A: its streams end.
    c.a.kill();
    for (n, stream) in streams.iter_mut().enumerate() {
        assert!(stream.ends().await, "agent {n}'s stream on A did not end");
    }
    drop(streams);

    // The expert answers on B: two while every agent is away, the last after it resumed.
    for (id, _) in &waiting[..AGENTS - 1] {
        c.answer(&c.b, id, "answered on B while A is down").await;
    }
    let mut resumed = Vec::new();
    for (id, last) in &waiting {
        let path = format!("{STREAM}?requestId={id}");
        resumed.push(open_stream(&c, &c.b, &path, &c.client_key, Some(*last)).await);
    }
    let (late, _) = &waiting[AGENTS - 1];
    c.answer(&c.b, late, "answered on B after the agent resumed")
        .await;

    for (n, ((id, last), stream)) in waiting.iter().zip(&mut resumed).enumerate() {
        let context = format!("agent {n} resumed on B after event {last}");
        let events = stream.until("responded", id).await;
        assert_events_in(
            &events,
            *last,
            &[("new_message", id), ("responded", id)],
            &context,
        );
        stream.assert_quiet_in(&context).await;
        assert_eq!(c.status(&c.b, id).await, "responded", "{context}");
    }
}

/// The per-key limit counts requests on both instances together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_key_rate_limit_holds_across_instances() {
    let Some(c) = Cluster::start(&[("HEYSUMMON_RATE_LIMIT_PER_KEY", "10")]).await else {
        return;
    };
    // The limit counts in fixed 60 s windows of the clock: start early in one, so the twelve
    // requests all fall in it.
    let into_window = now_ms().rem_euclid(60_000);
    if into_window > 50_000 {
        let left = u64::try_from(60_000 - into_window).unwrap() + 50;
        tokio::time::sleep(Duration::from_millis(left)).await;
    }
    let started = now_ms();
    let mut statuses = Vec::new();
    for (n, on) in std::iter::repeat_n(&c.a, 6)
        .chain(std::iter::repeat_n(&c.b, 6))
        .enumerate()
    {
        let resp = Req::ask(&c.client_key, &format!("request {}", n + 1))
            .send(&(&c, on))
            .await;
        if n < 10 {
            assert_eq!(
                resp.status,
                StatusCode::OK,
                "request {} (on {}) is within the limit: {}",
                n + 1,
                on.name,
                resp.text
            );
        } else {
            assert_eq!(
                resp.status,
                StatusCode::TOO_MANY_REQUESTS,
                "request {} (on {}) is over the limit of 10 across both instances: {}",
                n + 1,
                on.name,
                resp.text
            );
            assert_eq!(
                resp.body["error"], "Per-key rate limit exceeded",
                "{}",
                resp.text
            );
            assert_eq!(
                resp.headers.get("retry-after").map(|v| v.to_str().unwrap()),
                Some("60"),
                "{:?}",
                resp.headers
            );
        }
        statuses.push((on.name, resp.status.as_u16()));
    }
    assert_eq!(
        started.div_euclid(60_000),
        now_ms().div_euclid(60_000),
        "the requests straddled a window; the test should have waited"
    );
    eprintln!("statuses: {statuses:?}");
    assert_eq!(c.listing(&c.a).await.len(), 10, "ten requests were created");
}
