//! Two server processes on one PostgreSQL database, and the calls the tests make to them.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::process::serve_command;
use crate::common::signed::{Req, Target};
use crate::common::sse::{Stream, WAIT};
use heysummon_sdk::signing::Nonce;
use heysummon_server::testing::postgres::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How long an instance may take to start listening.
pub(crate) const START: Duration = Duration::from_secs(30);
pub(crate) const STREAM: &str = "/api/v1/events/stream";
/// How many lines of an instance's log are kept, to be shown when a test fails.
pub(crate) const LOG_LINES: usize = 200;

// ---------------------------------------------------------------------------------------------
// The instances.

/// One `heysummon-server serve` process; killed (SIGKILL) when dropped.
pub(crate) struct Instance {
    pub(crate) name: &'static str,
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) log: Arc<Mutex<VecDeque<String>>>,
}

impl Instance {
    /// Starts the binary on `db` with `env` and waits until it listens; returns it and, when
    /// `first` (an empty store), the first line of its stdout: the first-run keys.
    pub(crate) fn start(
        name: &'static str,
        db: &str,
        env: &[(&str, &str)],
        first: bool,
    ) -> (Self, String) {
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

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn log_text(&self) -> String {
        let log = self.log.lock().unwrap();
        log.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// SIGKILL, then reap. Safe to call twice.
    pub(crate) fn kill(&mut self) {
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
pub(crate) struct Cluster {
    pub(crate) a: Instance,
    pub(crate) b: Instance,
    pub(crate) client_key: String,
    pub(crate) expert_key: String,
    /// For ordinary requests (bounded).
    pub(crate) http: reqwest::Client,
    /// For event streams (no total timeout; every read is bounded by the test).
    pub(crate) streams: reqwest::Client,
    pub(crate) _db: TestDatabase,
    /// The directory of the audit key file both instances share.
    _audit_key: tempfile::TempDir,
}

impl Cluster {
    /// A then B on a new database, both with `env`; `None` when PostgreSQL tests are skipped.
    pub(crate) async fn start(env: &[(&'static str, &'static str)]) -> Option<Self> {
        let db = TestDatabase::create().await?;
        let url = db.url().to_owned();
        // Instances on one PostgreSQL database sign the audit log with one key file.
        let audit_key = tempfile::tempdir().unwrap();
        let key_file = audit_key.path().join("audit.key").display().to_string();
        let mut env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        env.push(("HEYSUMMON_AUDIT_KEY_FILE", key_file));
        let (a, b, keys) = tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
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
            _audit_key: audit_key,
        })
    }

    /// Creates a plaintext request through `on`; its id.
    pub(crate) async fn ask(&self, on: &Instance, question: &str) -> String {
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
    pub(crate) async fn answer(&self, on: &Instance, id: &str, text: &str) {
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
    pub(crate) async fn listing(&self, on: &Instance) -> Vec<String> {
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
    pub(crate) async fn status(&self, on: &Instance, id: &str) -> String {
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

pub(crate) fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// A random suffix, so idempotency keys and questions are unique to a run.
pub(crate) fn unique() -> String {
    Nonce::random().to_string()
}

// ---------------------------------------------------------------------------------------------
// Server-Sent Events.

/// Opens `path` on `on` with `key` (and `Last-Event-ID: last`, if given) and consumes the
/// greeting (`retry:` + `: connected`), after which the subscription is live.
pub(crate) async fn open_stream(
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
