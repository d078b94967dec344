//! Shared by the management, SSRF, command-line and restart tests: a signed-in session that
//! can also leave out its CSRF token or send raw bytes, and the real binary on a database file.

use std::process::{Command, Output};
use std::time::Duration;

use heysummon_server::testing::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The server binary, for the command-line and restart tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_heysummon-server");

/// How long a test waits for something that should happen at once.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// A dashboard session of one expert.
pub struct Session<'a> {
    pub app: &'a TestApp,
    cookie: String,
    csrf: String,
}

impl<'a> Session<'a> {
    /// Signs `expert_id` in with a one-time link.
    pub async fn sign_in(app: &'a TestApp, expert_id: &str) -> Self {
        let (cookie, csrf) = app.session(expert_id).await;
        Self { app, cookie, csrf }
    }

    /// A call with the cookie and the CSRF token, a JSON body when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.request(method, path, true);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request).await
    }

    /// A call with the cookie but without the CSRF token.
    pub async fn call_without_csrf(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.request(method, path, false);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request).await
    }

    /// A call with these exact body bytes and content type.
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: &'static str,
    ) -> (StatusCode, Value) {
        let request = self
            .request(method, path, true)
            .header("content-type", content_type)
            .body(body);
        answer(request).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// `GET /api/channels`, asserting 200: the answer and its raw text.
    pub async fn channels(&self) -> (Value, String) {
        let response = self
            .request(Method::GET, "/api/channels", false)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        (serde_json::from_str(&text).unwrap(), text)
    }

    /// The channel with this id as the list shows it.
    pub async fn channel(&self, id: &str) -> Value {
        let (list, _) = self.channels().await;
        list["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["channelId"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("channel {id} not in {list}"))
    }

    /// How many channels the list shows.
    pub async fn channel_count(&self) -> usize {
        self.channels().await.0["channels"]
            .as_array()
            .unwrap()
            .len()
    }

    /// Adds a channel, asserting 201; the answer.
    pub async fn add(&self, body: Value) -> Value {
        let (status, added) = self.post("/api/channels", body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "adding {body}: {added}");
        assert!(added["channelId"].is_string(), "{added}");
        added
    }

    fn request(&self, method: Method, path: &str, csrf: bool) -> reqwest::RequestBuilder {
        let request = self
            .app
            .http
            .request(method, self.app.url(path))
            .header("cookie", &self.cookie);
        if csrf {
            request.header("x-csrf-token", &self.csrf)
        } else {
            request
        }
    }
}

async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The binary acting on `db_url` with `--json`; `private` sets
/// `HEYSUMMON_CHANNELS_ALLOW_PRIVATE_NETWORKS=true` (else it is unset: the default).
pub fn command(db_url: &str, private: bool, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["--database-url", db_url, "--json"])
        .args(args)
        .env_remove("HEYSUMMON_CONFIG")
        .env_remove("HEYSUMMON_LISTEN")
        .env_remove("HEYSUMMON_CHANNELS_ALLOW_PRIVATE_NETWORKS")
        .env_remove("HEYSUMMON_CHANNEL_SECRET")
        .env_remove("HEYSUMMON_CHANNEL_BOT_TOKEN")
        .env_remove("HEYSUMMON_CHANNEL_SIGNING_SECRET")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn");
    if private {
        command.env("HEYSUMMON_CHANNELS_ALLOW_PRIVATE_NETWORKS", "true");
    }
    command
}

/// Runs the binary off the async runtime (a test's fakes keep serving meanwhile).
pub async fn run(db_url: &str, private: bool, args: &[&str]) -> Output {
    let mut command = command(db_url, private, args);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// Runs, asserts success and one line of JSON on stdout; that JSON.
pub async fn run_json(db_url: &str, private: bool, args: &[&str]) -> Value {
    let out = run(db_url, private, args).await;
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stdout} {stderr}");
    assert_eq!(stdout.lines().count(), 1, "{args:?}: {stdout}");
    serde_json::from_str(&stdout).unwrap()
}

/// Runs, asserts a non-zero exit, nothing on stdout and a message on stderr; the message.
pub async fn run_fails(db_url: &str, private: bool, args: &[&str]) -> String {
    let out = run(db_url, private, args).await;
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "{args:?} succeeded: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{args:?}: stdout {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.trim().is_empty(), "{args:?}: nothing on stderr");
    stderr
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
