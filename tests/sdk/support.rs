//! The real server (the shared [`TestApp`] harness: 127.0.0.1:0, a temporary SQLite file, one
//! expert and one linked client key) and SDK clients pointed at it.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use heysummon_sdk::client::{AskOptions, Client, ClientBuilder, ExpertClient, WaitOptions};
use heysummon_sdk::keystore::KeyStore;
use heysummon_sdk::wire::{EncryptedPayload, RequestId};
use heysummon_server::testing::TestApp;
use serde_json::{Value, json};

/// The longest any helper here waits.
const LIMIT: Duration = Duration::from_secs(20);

/// Options for a test ask: waits at most 20 s.
pub fn quick() -> AskOptions {
    AskOptions::new().with_wait(WaitOptions::new().with_timeout(LIMIT))
}

/// The real server (the shared harness) with the SDK's clients pointed at it.
pub struct Server {
    pub app: TestApp,
    pub base: String,
    pub expert_key: String,
    pub client_key: String,
    returned: Mutex<HashSet<RequestId>>,
}

impl Server {
    pub async fn start() -> Self {
        let app = TestApp::spawn().await;
        Self {
            base: app.base.clone(),
            expert_key: app.expert_key.clone(),
            client_key: app.client_key.clone(),
            app,
            returned: Mutex::new(HashSet::new()),
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
        self.app.request_count().await
    }

    /// Forces a request to `expired`, as `heysummon-server request expire` does.
    pub async fn expire(&self, id: &RequestId) {
        self.app.expire(id.as_str()).await;
    }

    /// Whether any of the database's files (main, WAL, shared memory) contains `needle`.
    pub async fn database_contains(&self, needle: &[u8]) -> bool {
        self.app.database_contains(needle).await
    }

    /// `GET /messages/:id` with the expert key, as raw JSON.
    pub async fn messages_as_expert(&self, id: &RequestId) -> Value {
        self.app
            .http
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
        self.app
            .http
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
