//! HTTP helpers of [`TestApp`]: plain JSON calls with `x-api-key`, and the common steps of a
//! conversation (ask, answer).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::TestApp;

impl TestApp {
    /// The absolute URL of a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request; `key` goes into `x-api-key`, `body` is sent as JSON. Returns the status
    /// and the body as JSON (a string value when it is not JSON, null when empty).
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

    /// `GET path` with a key.
    pub async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(key), None).await
    }

    /// `POST path` with a key and a JSON body.
    pub async fn post(&self, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(key), Some(body)).await
    }

    /// Submits a plaintext help request with placeholder consumer keys; returns the answer.
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

    /// An expert's plaintext answer, asserting success; returns the answer's body.
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
