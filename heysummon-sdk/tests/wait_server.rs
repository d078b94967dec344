//! `Client::wait` against a real heysummon-server on 127.0.0.1:0 (temporary SQLite file, system
//! clock): every strategy sees the expert's answer, a close, a foreign request and a deadline.

#![cfg(feature = "client")]
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use heysummon_sdk::Error;
use heysummon_sdk::client::{Client, WaitOptions, WaitStrategy};
use heysummon_sdk::wire::{RequestId, Status};
use heysummon_server::clock::Clock;
use heysummon_server::config::Config;
use heysummon_server::provision::{self, ClientOptions};
use heysummon_server::state::AppState;
use heysummon_server::store::Store;
use serde_json::{Value, json};

/// No test waits longer than this.
const LIMIT: Duration = Duration::from_secs(10);
/// Long enough that an answer within [`LIMIT`] cannot have come from a smart poll.
const SLOW_POLLS: Duration = Duration::from_secs(60);

struct Server {
    base: String,
    state: AppState,
    http: reqwest::Client,
    expert_key: String,
    client_key: String,
    other_client_key: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.shutdown.cancel();
    }
}

async fn tenant(store: &Store, clock: &Clock, name: &str) -> (String, String) {
    let expert = provision::add_expert(store, clock, name, None)
        .await
        .unwrap();
    let client = provision::add_client(
        store,
        clock,
        expert.expert_id.as_str(),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    (expert.expert_key, client.client_key)
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            database_url: format!("sqlite://{}", dir.path().join("heysummon.db").display()),
            ..Config::default()
        };
        let clock = Clock::system();
        let store = Store::open(&config.database_url).await.unwrap();
        let (expert_key, client_key) = tenant(&store, &clock, "Alice").await;
        let (_, other_client_key) = tenant(&store, &clock, "Bob").await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(store, clock, config);
        let serving = state.clone();
        tokio::spawn(async move { heysummon_server::app::serve(listener, serving).await });
        Self {
            base,
            state,
            http: reqwest::Client::new(),
            expert_key,
            client_key,
            other_client_key,
            _dir: dir,
        }
    }

    fn client(&self, key: &str) -> Client {
        Client::builder()
            .base_url(&self.base)
            .api_key(key)
            .build()
            .unwrap()
    }

    async fn post(&self, path: &str, key: Option<&str>, body: Value) -> Value {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    async fn ask(&self) -> RequestId {
        let body = json!({
            "apiKey": self.client_key,
            "signPublicKey": "test-sign-key",
            "encryptPublicKey": "test-encrypt-key",
            "question": "May I deploy on a Friday?",
        });
        let created = self.post("/api/v1/help", None, body).await;
        RequestId::new(created["requestId"].as_str().unwrap())
    }

    async fn answer(&self, id: &RequestId, text: &str) {
        let body = json!({"from": "expert", "plaintext": text});
        self.post(
            &format!("/api/v1/message/{id}"),
            Some(&self.expert_key),
            body,
        )
        .await;
    }

    async fn close(&self, id: &RequestId) {
        self.post(
            &format!("/api/v1/close/{id}"),
            Some(&self.client_key),
            json!({}),
        )
        .await;
    }
}

fn options(strategy: WaitStrategy) -> WaitOptions {
    WaitOptions::default()
        .with_strategy(strategy)
        .with_timeout(LIMIT)
        .with_smart_poll(SLOW_POLLS, Duration::from_secs(3600), SLOW_POLLS)
}

/// Waits with `options` while the expert answers after a moment; returns the status and how long
/// the wait took.
async fn wait_for_answer(options: WaitOptions) -> (Status, Option<String>, Duration) {
    let server = Server::start().await;
    let id = server.ask().await;
    let client = server.client(&server.client_key);
    let started = Instant::now();
    let waiting = client.wait(&id, options);
    let answering = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.answer(&id, "Only with a rollback plan.").await;
    };
    let (status, ()) = tokio::join!(waiting, answering);
    let status = status.unwrap();
    (status.status, status.response, started.elapsed())
}

#[tokio::test]
async fn sse_sees_the_answer() {
    let (status, response, took) = wait_for_answer(options(WaitStrategy::Sse)).await;
    assert_eq!(status, Status::Responded);
    assert_eq!(response.as_deref(), Some("Only with a rollback plan."));
    assert!(took < SLOW_POLLS / 2, "{took:?}");
}

#[tokio::test]
async fn auto_sees_the_answer() {
    let (status, _, took) = wait_for_answer(options(WaitStrategy::Auto)).await;
    assert_eq!(status, Status::Responded);
    assert!(took < SLOW_POLLS / 2, "{took:?}");
}

#[tokio::test]
async fn long_poll_sees_the_answer() {
    let (status, _, took) = wait_for_answer(options(WaitStrategy::LongPoll)).await;
    assert_eq!(status, Status::Responded);
    assert!(took < SLOW_POLLS / 2, "{took:?}");
}

#[tokio::test]
async fn smart_polling_sees_the_answer() {
    let fast = WaitOptions::default()
        .with_strategy(WaitStrategy::SmartPoll)
        .with_timeout(LIMIT)
        .with_smart_poll(
            Duration::from_millis(100),
            Duration::from_secs(3600),
            Duration::from_millis(100),
        );
    let (status, _, _) = wait_for_answer(fast).await;
    assert_eq!(status, Status::Responded);
}

#[tokio::test]
async fn a_close_ends_the_wait() {
    let server = Server::start().await;
    let id = server.ask().await;
    let client = server.client(&server.client_key);
    let closing = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.close(&id).await;
    };
    let (status, ()) = tokio::join!(client.wait(&id, options(WaitStrategy::Auto)), closing);
    assert_eq!(status.unwrap().status, Status::Closed);
}

#[tokio::test]
async fn an_answer_already_there_is_returned_at_once() {
    let server = Server::start().await;
    let id = server.ask().await;
    server.answer(&id, "Yes.").await;
    let client = server.client(&server.client_key);
    let status = client.wait(&id, options(WaitStrategy::Auto)).await.unwrap();
    assert_eq!(status.status, Status::Responded);
    assert_eq!(client.status(&id).await.unwrap().status, Status::Responded);
}

#[tokio::test]
async fn another_tenants_request_is_not_found() {
    let server = Server::start().await;
    let id = server.ask().await;
    let stranger = server.client(&server.other_client_key);
    let error = stranger
        .wait(&id, options(WaitStrategy::Auto))
        .await
        .unwrap_err();
    assert_eq!(error.http_status(), Some(404), "{error}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn the_deadline_ends_a_wait_without_an_answer() {
    let server = Server::start().await;
    let id = server.ask().await;
    let client = server.client(&server.client_key);
    for strategy in [WaitStrategy::Sse, WaitStrategy::LongPoll] {
        let started = Instant::now();
        let options = options(strategy).with_timeout(Duration::from_millis(700));
        let error = client.wait(&id, options).await.unwrap_err();
        assert!(
            matches!(error, Error::Timeout { .. }),
            "{strategy:?}: {error}"
        );
        assert!(started.elapsed() < Duration::from_secs(3), "{strategy:?}");
    }
}
