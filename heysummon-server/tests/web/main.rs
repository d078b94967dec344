//! The expert's side on the web (PROTOCOL E) over real HTTP: the page and its headers, signing
//! in and out, sessions and their limits, CSRF, the session API and tenancy.

#![allow(clippy::unwrap_used, missing_docs, missing_debug_implementations)]

#[path = "../common/mod.rs"]
mod common;

mod inbox;
mod keys;
mod oauth;
mod oauth_providers;
mod pages;
mod sessions;
mod signin;

use reqwest::StatusCode;
use serde_json::Value;

use common::TestApp;

/// A browser's session, as API tests use it.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookie: String,
    pub csrf: String,
}

impl<'a> Browser<'a> {
    /// Signs in the app's first expert with a one-time link.
    pub async fn sign_in(app: &'a TestApp) -> Self {
        Self::sign_in_as(app, &app.expert_id).await
    }

    pub async fn sign_in_as(app: &'a TestApp, expert_id: &str) -> Self {
        let (cookie, csrf) = app.session(expert_id).await;
        Self { app, cookie, csrf }
    }

    /// A request with the session cookie and, when `csrf`, the CSRF token.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        csrf: bool,
    ) -> (StatusCode, Value) {
        let mut request = self
            .app
            .http
            .request(method, self.app.url(path))
            .header("cookie", &self.cookie);
        if csrf {
            request = request.header("x-csrf-token", &self.csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Opens the expert's event stream with the session cookie, asserting 200.
    pub async fn open_stream(&self) -> reqwest::Response {
        let stream = self
            .app
            .http
            .get(self.app.url("/api/v1/events/stream"))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200);
        stream
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None, false).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body), true)
            .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, None, true).await
    }
}
