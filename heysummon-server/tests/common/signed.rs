//! Requests sent byte for byte, optionally signed (PROTOCOL B4) with the SDK's
//! `RequestSigner`: a signed request can be sent again unchanged.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use heysummon_sdk::signing::{Nonce, RequestParts, RequestSigner};
use heysummon_server::testing::TestApp;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A server a [`Req`] can be sent to.
pub trait Target {
    /// The client to send with.
    fn client(&self) -> &reqwest::Client;
    /// The absolute URL of `path` on the server.
    fn url_of(&self, path: &str) -> String;
    /// The server, for messages.
    fn describe(&self) -> String;
}

impl Target for TestApp {
    fn client(&self) -> &reqwest::Client {
        &self.http
    }

    fn url_of(&self, path: &str) -> String {
        self.url(path)
    }

    fn describe(&self) -> String {
        self.base.clone()
    }
}

/// One HTTP request exactly as it will be sent.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub key: Option<String>,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

/// An answer: status, headers, JSON body (or null), raw text.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// The `requestId` of a creation.
    pub fn id(&self) -> String {
        self.body["requestId"]
            .as_str()
            .unwrap_or_else(|| panic!("no requestId in {}", self.text))
            .to_owned()
    }
}

/// A `POST /api/v1/help` body with placeholder keys.
pub fn help_body(key: &str, question: &str) -> Value {
    json!({
        "apiKey": key,
        "signPublicKey": "test-sign-key",
        "encryptPublicKey": "test-encrypt-key",
        "question": question,
    })
}

impl Req {
    pub fn get(path: impl Into<String>, key: &str) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            key: Some(key.to_owned()),
            body: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn post(path: impl Into<String>, key: &str, body: &Value) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            key: Some(key.to_owned()),
            body: serde_json::to_vec(body).unwrap(),
            headers: Vec::new(),
        }
    }

    /// `POST /api/v1/help` with the key in the body and, since the signature covers it, in the
    /// `x-api-key` header too.
    pub fn ask(key: &str, question: &str) -> Self {
        Self::post("/api/v1/help", key, &help_body(key, question))
    }

    /// `POST /api/v1/devices` enrolling `device`.
    pub fn enroll(key: &str, device: &RequestSigner) -> Self {
        let body = json!({"publicKey": device.public_key().to_hex()});
        Self::post("/api/v1/devices", key, &body)
    }

    /// Adds the four signature headers over the request as it is now.
    pub fn signed_at(mut self, signer: &RequestSigner, timestamp_ms: i64, nonce: Nonce) -> Self {
        let parts = RequestParts {
            method: self.method.as_str(),
            path_and_query: &self.path,
            body: &self.body,
            api_key: self.key.as_deref().unwrap_or(""),
        };
        let headers = signer.sign_at(&parts, timestamp_ms, nonce);
        self.headers.extend(
            headers
                .to_pairs()
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value)),
        );
        self
    }

    /// Signed at `now_ms` (the server's clock) with a fresh nonce.
    pub fn signed(self, signer: &RequestSigner, now_ms: i64) -> Self {
        self.signed_at(signer, now_ms, Nonce::random())
    }

    /// Adds a header (another of the same name stays).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sets a header (replacing any of the same name).
    pub fn set_header(self, name: &str, value: impl Into<String>) -> Self {
        self.without_header(name).header(name, value)
    }

    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| n != name);
        self
    }

    /// Sends the request as it is; panics only when no answer arrives.
    pub async fn send(&self, to: &impl Target) -> Resp {
        let mut builder = to
            .client()
            .request(self.method.clone(), to.url_of(&self.path));
        if let Some(key) = &self.key {
            builder = builder.header("x-api-key", key);
        }
        if self.method == Method::POST {
            builder = builder
                .header("content-type", "application/json")
                .body(self.body.clone());
        }
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let response = builder
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {} on {}: {e}", self.method, self.path, to.describe()));
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }
}
