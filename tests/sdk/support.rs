//! A real heysummon-server on 127.0.0.1:0 with a temporary SQLite file, one expert and one
//! linked client key, and SDK clients pointed at it.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use heysummon_sdk::client::{AskOptions, Client, ClientBuilder, ExpertClient, WaitOptions};
use heysummon_sdk::keystore::KeyStore;
use heysummon_sdk::wire::{EncryptedPayload, RequestId};
use heysummon_server::clock::Clock;
use heysummon_server::config::Config;
use heysummon_server::provision::{self, ClientOptions};
use heysummon_server::state::AppState;
use heysummon_server::store::Store;
use serde_json::{Value, json};

/// The longest any helper here waits.
const LIMIT: Duration = Duration::from_secs(20);

/// Options for a test ask: waits at most 20 s.
pub fn quick() -> AskOptions {
    AskOptions::new().with_wait(WaitOptions::new().with_timeout(LIMIT))
}

pub struct Server {
    pub base: String,
    pub state: AppState,
    pub store: Store,
    pub expert_key: String,
    pub client_key: String,
    pub db_path: std::path::PathBuf,
    http: reqwest::Client,
    returned: Mutex<HashSet<RequestId>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.shutdown.cancel();
    }
}

impl Server {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("heysummon.db");
        let config = Config {
            database_url: format!("sqlite://{}", db_path.display()),
            ..Config::default()
        };
        let clock = Clock::system();
        let store = Store::open(&config.database_url).await.unwrap();
        let expert = provision::add_expert(&store, &clock, "Dana", None)
            .await
            .unwrap();
        let client = provision::add_client(
            &store,
            &clock,
            expert.expert_id.as_str(),
            ClientOptions::default(),
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(store.clone(), clock, config);
        tokio::spawn(heysummon_server::app::serve(listener, state.clone()));
        Self {
            base,
            state,
            store,
            expert_key: expert.expert_key,
            client_key: client.client_key,
            db_path,
            http: reqwest::Client::new(),
            returned: Mutex::new(HashSet::new()),
            _dir: dir,
        }
    }

    pub fn agent_builder(&self, store: impl KeyStore + 'static) -> ClientBuilder {
        Client::builder()
            .base_url(&self.base)
            .api_key(self.client_key.clone())
            .key_store(store)
    }

    pub fn agent(&self, store: impl KeyStore + 'static) -> Client {
        self.agent_builder(store).build().unwrap()
    }

    pub fn expert(&self, store: impl KeyStore + 'static) -> ExpertClient {
        ExpertClient::builder()
            .base_url(&self.base)
            .api_key(self.expert_key.clone())
            .key_store(store)
            .build()
            .unwrap()
    }

    /// The next request in the expert's pending feed that this helper has not returned yet.
    pub async fn wait_for_pending(&self, expert: &ExpertClient) -> RequestId {
        let started = std::time::Instant::now();
        loop {
            let pending = expert.pending().await.unwrap();
            {
                let mut returned = self.returned.lock().unwrap();
                if let Some(request) = pending
                    .into_iter()
                    .find(|request| !returned.contains(&request.request_id))
                {
                    returned.insert(request.request_id.clone());
                    return request.request_id;
                }
            }
            assert!(started.elapsed() < LIMIT, "no pending request");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many requests the server holds.
    pub async fn request_count(&self) -> usize {
        provision::list_requests(&self.store, None)
            .await
            .unwrap()
            .requests
            .len()
    }

    /// Forces a request to `expired`, as `heysummon-server request expire` does.
    pub async fn expire(&self, id: &RequestId) {
        provision::expire_request(&self.store, &Clock::system(), id.as_str())
            .await
            .unwrap();
    }

    /// Whether any of the database's files (main, WAL, shared memory) contains `needle`.
    pub fn database_contains(&self, needle: &[u8]) -> bool {
        ["", "-wal", "-shm"].iter().any(|suffix| {
            let path = format!("{}{suffix}", self.db_path.display());
            std::fs::read(path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        })
    }

    /// `GET /messages/:id` with the expert key, as raw JSON.
    pub async fn messages_as_expert(&self, id: &RequestId) -> Value {
        self.http
            .get(format!("{}/api/v1/messages/{id}", self.base))
            .header("x-api-key", &self.expert_key)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Posts an encrypted expert message as given, bypassing the SDK.
    pub async fn post_expert_encrypted(&self, id: &RequestId, payload: &EncryptedPayload) {
        let mut body = serde_json::to_value(payload).unwrap();
        body["from"] = json!("expert");
        self.http
            .post(format!("{}/api/v1/message/{id}", self.base))
            .header("x-api-key", &self.expert_key)
            .json(&body)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }
}
