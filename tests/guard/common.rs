//! Test harness: the real server (the shared `TestApp`), a real guard on 127.0.0.1:0 in front
//! of it, and tiny stub upstreams (recording, slow).

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, missing_docs)]

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use heysummon_guard::{ApiKey, Config, Guard, device};
pub use heysummon_server::testing::TestApp;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The server's expert, keys in memory.
pub fn expert(server: &TestApp) -> heysummon_sdk::ExpertClient {
    heysummon_sdk::ExpertClient::builder()
        .base_url(&server.base)
        .api_key(server.expert_key.clone())
        .key_store(heysummon_sdk::keystore::MemoryKeyStore::new())
        .build()
        .unwrap()
}

/// A guard on 127.0.0.1:0.
pub struct GuardHandle {
    pub base: String,
    pub guard: Guard,
    pub key_file: PathBuf,
    shutdown: CancellationToken,
    handle: Option<JoinHandle<()>>,
}

impl GuardHandle {
    /// A guard in front of `upstream` holding `api_key`, with its device key in `key_file`.
    pub async fn start(upstream: &str, api_key: &str, key_file: &Path) -> Self {
        Self::start_with(upstream, api_key, key_file, |_| {}).await
    }

    pub async fn start_with(
        upstream: &str,
        api_key: &str,
        key_file: &Path,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config =
            Config::new(upstream, ApiKey::new(api_key).unwrap(), key_file.to_owned()).unwrap();
        config.key_store_dir = Some(heysummon_guard::config::default_key_store_dir(key_file));
        adjust(&mut config);
        let key = device::load_or_create(key_file).unwrap();
        let guard = Guard::new(config, key.key).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let serving = (guard.clone(), shutdown.clone());
        let handle = tokio::spawn(async move {
            heysummon_guard::serve::serve(listener, serving.0, serving.1)
                .await
                .unwrap();
        });
        Self {
            base,
            guard,
            key_file: key_file.to_owned(),
            shutdown,
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap();
        }
    }
}

impl Drop for GuardHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Sends a request and returns status and JSON (or the text as a JSON string).
pub async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http.request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// `GET url`, no extra headers.
pub async fn get(http: &reqwest::Client, url: &str) -> (StatusCode, Value) {
    call(http, reqwest::Method::GET, url, &[], None).await
}

/// `POST url` with a JSON body, no extra headers.
pub async fn post(http: &reqwest::Client, url: &str, body: Value) -> (StatusCode, Value) {
    call(http, reqwest::Method::POST, url, &[], Some(body)).await
}

/// A help request body as an agent that does its own cryptography sends it through the guard:
/// its own keys, no `apiKey`. (The guard forwards such bodies; a body without usable keys is
/// created by the guard itself, see `tests/e2e.rs`.)
pub fn help_body(question: &str) -> Value {
    let keys = heysummon_sdk::keys::PartyKeys::generate().public();
    json!({
        "signPublicKey": keys.sign.to_hex(),
        "encryptPublicKey": keys.encrypt.to_hex(),
        "question": question,
    })
}

/// One request as a stub upstream received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path_and_query: String,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

/// A stub upstream: records every request, optionally waits, answers 200 `{"ok":true}` with a
/// few hop-by-hop headers that the guard must drop.
pub struct Stub {
    pub base: String,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    shutdown: CancellationToken,
}

impl Stub {
    pub async fn start(delay: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let shutdown = CancellationToken::new();
        let (recorded, stop) = (requests.clone(), shutdown.clone());
        tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    () = stop.cancelled() => break,
                    accepted = listener.accept() => accepted.unwrap().0,
                };
                let recorded = recorded.clone();
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let recorded = recorded.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        recorded.lock().unwrap().push(Recorded {
                            method: parts.method.to_string(),
                            path_and_query: parts.uri.path_and_query().unwrap().to_string(),
                            headers: parts.headers,
                            body,
                        });
                        tokio::time::sleep(delay).await;
                        let response = Response::builder()
                            .header("content-type", "application/json")
                            .header("x-stub", "1")
                            .header("keep-alive", "timeout=5")
                            .header("x-hop-secret", "1")
                            .header("connection", "x-hop-secret")
                            .header("proxy-authenticate", "Basic")
                            .body(Full::new(Bytes::from_static(b"{\"ok\":true}")))
                            .unwrap();
                        Ok::<_, Infallible>(response)
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Self {
            base,
            requests,
            shutdown,
        }
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// The address the stub listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base.trim_start_matches("http://").parse().unwrap()
    }

    pub fn last(&self) -> Recorded {
        self.requests.lock().unwrap().last().unwrap().clone()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
