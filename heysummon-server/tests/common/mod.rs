//! The test harness: a real server on 127.0.0.1:0 over a temporary SQLite file, with a manual
//! clock, provisioned with one expert and one client key; plus small request helpers.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::PathBuf;

use heysummon_server::clock::Clock;
use heysummon_server::config::Config;
use heysummon_server::provision::{self, ClientOptions};
use heysummon_server::state::AppState;
use heysummon_server::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// 2026-04-25T19:56:45.123Z
pub const START_MS: i64 = 1_777_147_005_123;

/// A running server and what the tests need to reach it.
pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub clock: Clock,
    pub store: Store,
    pub db_path: PathBuf,
    pub http: reqwest::Client,
    /// The first tenant: one expert and one client key.
    pub expert_id: String,
    pub expert_key: String,
    pub client_key_id: String,
    pub client_key: String,
    handle: Option<JoinHandle<()>>,
    // Keeps the database directory alive for the test's duration.
    pub dir: std::sync::Arc<tempfile::TempDir>,
}

/// A tenant provisioned for a test.
pub struct Tenant {
    pub expert_id: String,
    pub expert_key: String,
    pub client_key_id: String,
    pub client_key: String,
}

impl TestServer {
    /// A server with default configuration.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server with an adjusted configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
        let db_path = dir.path().join("heysummon.db");
        let mut config = Config {
            database_url: format!("sqlite://{}", db_path.display()),
            ..Config::default()
        };
        adjust(&mut config);
        let clock = Clock::manual(START_MS);
        let store = Store::open(&config.database_url).await.unwrap();
        let tenant = provision_tenant(&store, &clock, "Alice").await;
        Self::launch(dir, db_path, store, clock, config, tenant).await
    }

    async fn launch(
        dir: std::sync::Arc<tempfile::TempDir>,
        db_path: PathBuf,
        store: Store,
        clock: Clock,
        config: Config,
        tenant: Tenant,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(store.clone(), clock.clone(), config);
        let serving = state.clone();
        let handle = tokio::spawn(async move {
            heysummon_server::app::serve(listener, serving)
                .await
                .unwrap();
        });
        Self {
            base,
            state,
            clock,
            store,
            db_path,
            http: reqwest::Client::new(),
            expert_id: tenant.expert_id,
            expert_key: tenant.expert_key,
            client_key_id: tenant.client_key_id,
            client_key: tenant.client_key,
            handle: Some(handle),
            dir,
        }
    }

    /// Stops the server gracefully and starts a new one on the same database file (a
    /// restart); the clock carries on from where it was.
    pub async fn restart(mut self) -> Self {
        self.shutdown().await;
        let store = Store::open(&self.state.config.database_url).await.unwrap();
        let config = (*self.state.config).clone();
        let tenant = Tenant {
            expert_id: self.expert_id.clone(),
            expert_key: self.expert_key.clone(),
            client_key_id: self.client_key_id.clone(),
            client_key: self.client_key.clone(),
        };
        let clock = Clock::manual(self.clock.now());
        Self::launch(
            self.dir.clone(),
            self.db_path.clone(),
            store,
            clock,
            config,
            tenant,
        )
        .await
    }

    /// Graceful shutdown: waits for the server task to end.
    pub async fn shutdown(&mut self) {
        self.state.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap();
        }
    }

    /// Another tenant (expert + client key) on this server.
    pub async fn tenant(&self, name: &str) -> Tenant {
        provision_tenant(&self.store, &self.clock, name).await
    }

    /// Another client key of an existing expert (a sibling key).
    pub async fn client_key_for(
        &self,
        expert_id: &str,
        options: ClientOptions,
    ) -> (String, String) {
        let added = provision::add_client(&self.store, &self.clock, expert_id, options)
            .await
            .unwrap();
        (added.key_id.into_string(), added.client_key)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request; `key` goes into `x-api-key`, `body` is sent as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(key), Some(body)).await
    }

    /// Submits a plaintext help request with placeholder consumer keys; returns the response.
    pub async fn ask(&self, client_key: &str, question: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/api/v1/help",
            None,
            Some(json!({
                "apiKey": client_key,
                "signPublicKey": "test-sign-key",
                "encryptPublicKey": "test-encrypt-key",
                "question": question,
            })),
        )
        .await
    }

    /// Submits and returns the new request id, asserting success.
    pub async fn ask_ok(&self, client_key: &str, question: &str) -> String {
        let (status, body) = self.ask(client_key, question).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["requestId"].as_str().unwrap().to_owned()
    }

    /// An expert plaintext answer, asserting success.
    pub async fn answer(&self, expert_key: &str, request_id: &str, text: &str) -> Value {
        let (status, body) = self
            .post(
                &format!("/api/v1/message/{request_id}"),
                expert_key,
                json!({"from": "expert", "plaintext": text}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.state.shutdown.cancel();
    }
}

async fn provision_tenant(store: &Store, clock: &Clock, name: &str) -> Tenant {
    let expert = provision::add_expert(store, clock, name, None)
        .await
        .unwrap();
    let client = provision::add_client(
        store,
        clock,
        expert.expert_id.as_str(),
        ClientOptions {
            name: Some(format!("{name}'s agent")),
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap();
    Tenant {
        expert_id: expert.expert_id.into_string(),
        expert_key: expert.expert_key,
        client_key_id: client.key_id.into_string(),
        client_key: client.client_key,
    }
}
