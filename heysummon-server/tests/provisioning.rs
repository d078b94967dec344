//! PROTOCOL D: the provisioning subcommands of the real binary, their JSON, their failures, and
//! that the keys they create work against a server on the same database (stored only as hashes).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use heysummon_sdk::keys::SigningKeyPair;
use heysummon_sdk::signing::{Nonce, RequestParts, RequestSigner};
use heysummon_sdk::wire::Timestamp;
use heysummon_server::Application;
use heysummon_server::config::Config;
use heysummon_server::state::AppState;
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_heysummon-server");
const DAY_MS: i64 = 24 * 3600 * 1000;

/// A temporary database for the binary.
struct Db {
    dir: tempfile::TempDir,
    url: String,
}

impl Db {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
        Self { dir, url }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("db.sqlite")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(["--database-url", &self.url, "--json"])
            .args(args)
            .env_remove("HEYSUMMON_CONFIG")
            .env_remove("HEYSUMMON_LISTEN")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info");
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs, asserts success, parses the one line of JSON on stdout.
    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stdout} {stderr}");
        assert_eq!(stdout.lines().count(), 1, "{args:?}: {stdout}");
        serde_json::from_str(&stdout).unwrap()
    }

    /// Runs, asserts a non-zero exit with a message on stderr and no JSON on stdout.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(!stderr.trim().is_empty(), "{args:?}: empty stderr");
        assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", out.stdout);
        stderr
    }
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn string(value: &Value, member: &str) -> String {
    value[member]
        .as_str()
        .unwrap_or_else(|| panic!("{member} in {value}"))
        .to_owned()
}

/// Whether the database file or its `-wal`/`-shm` companions hold `needle`.
fn database_contains(db: &Path, needle: &str) -> bool {
    ["", "-wal", "-shm"].iter().any(|suffix| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        std::fs::read(PathBuf::from(name)).is_ok_and(|bytes| {
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
    })
}

/// An in-process server on the database, with the real clock.
struct Server {
    base: String,
    state: AppState,
    http: reqwest::Client,
    handle: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(db: &Db) -> Self {
        let config = Config {
            database_url: db.url.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
            ..Config::default()
        };
        let app = Application::build(config).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        let handle = tokio::spawn(async move { app.run_until_stopped().await.unwrap() });
        Self {
            base,
            state,
            http: reqwest::Client::new(),
            handle,
        }
    }

    async fn stop(self) {
        self.state.shutdown.cancel();
        self.handle.await.unwrap();
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn ask(&self, key: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/api/v1/help", self.base))
            .json(&json!({
                "apiKey": key,
                "signPublicKey": "test-sign-key",
                "encryptPublicKey": "test-encrypt-key",
                "question": "provisioned?",
            }))
    }

    fn get(&self, path: &str, key: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .header("x-api-key", key)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn provisioned_keys_work_against_a_server_and_are_stored_hashed() {
    let db = Db::new();

    // Experts: generated and fixed keys.
    let x = db.json(&["expert", "add", "--name", "X"]);
    let x_id = string(&x, "expertId");
    let x_key = string(&x, "expertKey");
    assert!(
        x_key.starts_with("hs_exp_") && x_key.len() >= 7 + 22,
        "{x_key}"
    );
    assert_eq!(x.as_object().unwrap().len(), 2, "{x}");
    let y = db.json(&["expert", "add", "--name", "Y", "--key", "hs_exp_fixed0001"]);
    assert_eq!(y["expertKey"], "hs_exp_fixed0001");
    let y_id = string(&y, "expertId");
    assert_ne!(x_id, y_id);

    // Client keys of every kind.
    let plain = db.json(&["client", "add", "--expert", &x_id]);
    let plain_key = string(&plain, "clientKey");
    assert!(plain_key.starts_with("hs_cli_"), "{plain_key}");
    assert_eq!(plain.as_object().unwrap().len(), 2, "{plain}");
    let fixed = db.json(&[
        "client",
        "add",
        "--expert",
        &x_id,
        "--name",
        "Playwright",
        "--key",
        "hs_cli_playwright0001",
    ]);
    assert_eq!(fixed["clientKey"], "hs_cli_playwright0001");
    let fixed_id = string(&fixed, "keyId");
    let inactive = db.json(&["client", "add", "--expert", &x_id, "--inactive"]);
    let inactive_key = string(&inactive, "clientKey");
    let token = "device-token-3f9a1c";
    let bound = db.json(&["client", "add", "--expert", &x_id, "--device-token", token]);
    let bound_key = string(&bound, "clientKey");
    let device = RequestSigner::new(SigningKeyPair::generate());
    let device_hex = device.public_key().to_hex();
    let guarded = db.json(&[
        "client",
        "add",
        "--expert",
        &y_id,
        "--device-key",
        &device_hex,
    ]);
    let guarded_key = string(&guarded, "clientKey");
    let y_client = db.json(&["client", "add", "--expert", &y_id]);
    let y_client_key = string(&y_client, "clientKey");

    // Revoke and rotate.
    let doomed = db.json(&["client", "add", "--expert", &x_id]);
    let doomed_id = string(&doomed, "keyId");
    let doomed_key = string(&doomed, "clientKey");
    let revoked = db.json(&["client", "revoke", &doomed_id]);
    assert_eq!(revoked["keyId"], doomed_id.as_str());
    assert_eq!(revoked["status"], "revoked", "{revoked}");
    let rotating = db.json(&["client", "add", "--expert", &x_id]);
    let rotating_id = string(&rotating, "keyId");
    let old_key = string(&rotating, "clientKey");
    let rotated = db.json(&["client", "rotate", &rotating_id]);
    assert_eq!(rotated["keyId"], rotating_id.as_str());
    let new_key = string(&rotated, "clientKey");
    assert!(
        new_key.starts_with("hs_cli_") && new_key != old_key,
        "{rotated}"
    );
    let grace: Timestamp = serde_json::from_value(rotated["previousKeyExpiresAt"].clone()).unwrap();
    let drift = grace.unix_millis() - (now_ms() + DAY_MS);
    assert!(drift.abs() < 60_000, "{rotated}");

    // Fixed keys are unique, and the refusal does not echo the key.
    let err = db.fails(&[
        "client",
        "add",
        "--expert",
        &y_id,
        "--key",
        "hs_cli_playwright0001",
    ]);
    assert!(
        err.contains("already in use") && !err.contains("playwright0001"),
        "{err}"
    );
    let err = db.fails(&["expert", "add", "--name", "Z", "--key", "hs_exp_fixed0001"]);
    assert!(
        err.contains("already in use") && !err.contains("fixed0001"),
        "{err}"
    );

    let server = Server::start(&db).await;
    // The fixed key asks; whoami shows its name and expert.
    let (s, created) = server.call(server.ask("hs_cli_playwright0001")).await;
    assert_eq!(s, StatusCode::OK, "{created}");
    let request_id = string(&created, "requestId");
    let (s, who) = server
        .call(server.get("/api/v1/whoami", "hs_cli_playwright0001"))
        .await;
    assert_eq!(s, StatusCode::OK, "{who}");
    assert_eq!(who["keyId"], fixed_id.as_str());
    assert_eq!(who["keyName"], "Playwright");
    assert_eq!(who["expert"]["id"], x_id.as_str());
    // Generated keys work; the inactive and the revoked one do not.
    for key in [&plain_key, &y_client_key, &old_key, &new_key] {
        let (s, b) = server.call(server.ask(key)).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    for key in [&inactive_key, &doomed_key] {
        let (s, b) = server.call(server.ask(key)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
        assert_eq!(b["error"], "Invalid or inactive API key");
    }
    // The device token is required and checked.
    let forbidden = json!({"error": "Invalid or missing device token"});
    let (s, b) = server.call(server.ask(&bound_key)).await;
    assert_eq!((s, b), (StatusCode::FORBIDDEN, forbidden.clone()));
    let wrong = server.ask(&bound_key).header("x-device-token", "nope");
    assert_eq!(server.call(wrong).await, (StatusCode::FORBIDDEN, forbidden));
    let right = server.ask(&bound_key).header("x-device-token", token);
    let (s, b) = server.call(right).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // The device key requires signatures.
    let (s, b) = server.call(server.ask(&guarded_key)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert_eq!(b["code"], "SIGNATURE_REQUIRED");
    let path = "/api/v1/whoami";
    let parts = RequestParts {
        method: "GET",
        path_and_query: path,
        body: b"",
        api_key: &guarded_key,
    };
    let mut signed = server.get(path, &guarded_key);
    for (name, value) in device.sign_at(&parts, now_ms(), Nonce::random()).to_pairs() {
        signed = signed.header(name, value);
    }
    let (s, b) = server.call(signed).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Both expert keys work.
    for key in [&x_key, "hs_exp_fixed0001"] {
        let (s, b) = server.call(server.get("/api/v1/requests", key)).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }

    // request list / expire.
    let all = db.json(&["request", "list"]);
    let requests = all["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 6, "{all}");
    assert!(requests.iter().all(|r| r["status"] == "pending"), "{all}");
    assert!(requests.iter().any(|r| r["id"] == request_id.as_str()));
    let expired = db.json(&["request", "expire", &request_id]);
    assert_eq!(
        expired,
        json!({"requestId": request_id, "status": "expired"})
    );
    let help = format!("/api/v1/help/{request_id}");
    let (s, b) = server
        .call(server.get(&help, "hs_cli_playwright0001"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "expired");
    let listed = db.json(&["request", "list", "--status", "expired"]);
    let ids: Vec<&Value> = listed["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(ids, vec![&json!(request_id)], "{listed}");
    let pending = db.json(&["request", "list", "--status", "pending"]);
    assert_eq!(pending["requests"].as_array().unwrap().len(), 5);
    // Expiring it again is harmless; a closed request cannot expire.
    db.json(&["request", "expire", &request_id]);
    let (s, b) = server.call(server.ask(&plain_key)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let closed_id = string(&b, "requestId");
    let close = server
        .http
        .post(format!("{}/api/v1/close/{closed_id}", server.base))
        .header("x-api-key", &plain_key);
    assert_eq!(server.call(close).await.0, StatusCode::OK);
    db.fails(&["request", "expire", &closed_id]);

    server.stop().await;
    // Keys and tokens are stored only as hashes.
    let secrets = [
        x_key.as_str(),
        "hs_exp_fixed0001",
        &plain_key,
        "hs_cli_playwright0001",
        &inactive_key,
        &bound_key,
        token,
        &guarded_key,
        &y_client_key,
        &doomed_key,
        &old_key,
        &new_key,
    ];
    for secret in secrets {
        assert!(!database_contains(&db.path(), secret), "{secret} stored");
    }
    // The scan itself works: the expert's name is there.
    assert!(database_contains(&db.path(), "Playwright"));
}

#[test]
fn unknown_ids_fail_with_a_message() {
    let db = Db::new();
    let expert = db.json(&["expert", "add", "--name", "X"]);
    let expert_id = string(&expert, "expertId");
    let cases: [&[&str]; 6] = [
        &["client", "add", "--expert", "no-such-expert"],
        &["client", "revoke", "no-such-key"],
        &["client", "rotate", "no-such-key"],
        &["request", "expire", "no-such-request"],
        &["expert", "add", "--name", "  "],
        &[
            "client",
            "add",
            "--expert",
            &expert_id,
            "--device-key",
            "zz",
        ],
    ];
    for args in cases {
        let stderr = db.fails(args);
        let named = args.iter().any(|a| a.starts_with("no-such"));
        if named {
            let id = args.iter().find(|a| a.starts_with("no-such")).unwrap();
            assert!(stderr.contains(id), "{args:?}: {stderr}");
            assert!(stderr.contains("not found"), "{args:?}: {stderr}");
        }
    }
    // Missing required arguments are usage errors.
    for args in [
        &["expert", "add"][..],
        &["client", "add"],
        &["client", "revoke"],
    ] {
        let out = db.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn every_subcommand_has_help() {
    let db = Db::new();
    let cases: [&[&str]; 15] = [
        &["--help"],
        &["serve", "--help"],
        &["expert", "--help"],
        &["expert", "add", "--help"],
        &["expert", "login-link", "--help"],
        &["expert", "link", "--help"],
        &["expert", "unlink", "--help"],
        &["expert", "sign-out", "--help"],
        &["client", "--help"],
        &["client", "add", "--help"],
        &["client", "revoke", "--help"],
        &["client", "rotate", "--help"],
        &["request", "--help"],
        &["request", "expire", "--help"],
        &["request", "list", "--help"],
    ];
    for args in cases {
        let out = db.run(args);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(stdout.contains("Usage"), "{args:?}: {stdout}");
    }
    let out = db.run(&["client", "add", "--help"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--expert",
        "--name",
        "--key",
        "--inactive",
        "--device-token",
        "--device-key",
    ] {
        assert!(stdout.contains(flag), "{flag}: {stdout}");
    }
}

#[test]
fn sign_in_commands_link_unlink_and_sign_out() {
    let db = Db::new();
    let expert = string(&db.json(&["expert", "add", "--name", "Dana"]), "expertId");
    let link = db.json(&[
        "expert",
        "login-link",
        &expert,
        "--base-url",
        "https://pager.example.com",
    ]);
    let url = string(&link, "url");
    assert!(
        url.starts_with("https://pager.example.com/signin#"),
        "{url}"
    );
    assert!(link["expiresAt"].is_string());
    assert!(
        db.fails(&["expert", "login-link", "nobody"])
            .contains("not found")
    );

    let linked = db.json(&[
        "expert",
        "link",
        &expert,
        "--provider",
        "github",
        "--subject",
        "42",
    ]);
    assert_eq!(linked["subject"], "42");
    assert!(
        db.fails(&[
            "expert",
            "link",
            &expert,
            "--provider",
            "github",
            "--subject",
            "42"
        ])
        .contains("already linked")
    );
    assert!(
        db.fails(&[
            "expert",
            "link",
            &expert,
            "--provider",
            "gitlab",
            "--subject",
            "1"
        ])
        .contains("--provider")
    );
    let unlinked = db.json(&[
        "expert",
        "unlink",
        &expert,
        "--provider",
        "github",
        "--subject",
        "42",
    ]);
    assert_eq!(unlinked["unlinked"], true);
    assert!(
        db.fails(&[
            "expert",
            "unlink",
            &expert,
            "--provider",
            "github",
            "--subject",
            "42"
        ])
        .contains("no github identity")
    );

    let signed_out = db.json(&["expert", "sign-out", &expert]);
    assert_eq!(signed_out["sessionsEnded"], 0);
    assert!(
        db.fails(&["expert", "sign-out", "nobody"])
            .contains("not found")
    );
}

/// A running `serve` child: its address (from the log on stderr) and its stdout.
struct Served {
    child: Child,
    address: String,
    stdout: mpsc::Receiver<String>,
}

impl Served {
    fn spawn(db: &Db) -> Self {
        let mut child = db
            .command(&["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (out_tx, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = out_tx.send(line);
            }
        });
        let (err_tx, err_rx) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        // Keeps draining after the address was found, so the child never blocks on the pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = err_tx.send(line);
            }
        });
        let mut seen = String::new();
        let address = loop {
            let line = err_rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("serve did not start: {seen}"));
            seen.push_str(&line);
            if line.contains("listening") {
                let at = line.find("127.0.0.1:").unwrap();
                let port: String = line[at + 10..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                break format!("127.0.0.1:{port}");
            }
        };
        Self {
            child,
            address,
            stdout,
        }
    }

    /// Stops the child; everything it printed on stdout.
    fn kill(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let mut lines = Vec::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(5)) {
            lines.push(line);
        }
        lines
    }
}

#[tokio::test]
async fn serve_prints_the_first_keys_once() {
    let db = Db::new();
    let served = Served::spawn(&db);
    let first = served.stdout.recv_timeout(Duration::from_secs(10)).unwrap();
    let first: Value = serde_json::from_str(&first).unwrap();
    let expert_key = string(&first, "expertKey");
    let client_key = string(&first, "clientKey");
    assert!(expert_key.starts_with("hs_exp_"), "{first}");
    assert!(client_key.starts_with("hs_cli_"), "{first}");

    // The keys work against that server, and are linked.
    let http = reqwest::Client::new();
    let base = format!("http://{}", served.address);
    let who = http
        .get(format!("{base}/api/v1/whoami"))
        .header("x-api-key", &client_key)
        .send()
        .await
        .unwrap();
    assert_eq!(who.status(), StatusCode::OK);
    let who: Value = who.json().await.unwrap();
    assert_eq!(who["expert"]["id"], first["expertId"], "{who}");
    assert_eq!(who["keyId"], first["keyId"], "{who}");
    let list = http
        .get(format!("{base}/api/v1/requests"))
        .header("x-api-key", &expert_key)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    let rest = served.kill();
    assert!(rest.is_empty(), "{rest:?}");

    // A second start on the same store prints nothing of the sort.
    let again = Served::spawn(&db);
    let printed = again.kill();
    assert!(printed.is_empty(), "{printed:?}");
    for secret in [&expert_key, &client_key] {
        assert!(!database_contains(&db.path(), secret), "{secret} stored");
    }
}
