//! The one dashboard session of the channel tests: an expert signed in, calling the session
//! API with or without its CSRF token, adding channels and asking for connect codes.

use heysummon_server::testing::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::setup::{Fakes, SLACK_SECRET};

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

    /// Signs the app's first expert in.
    pub async fn new(app: &'a TestApp) -> Self {
        Self::sign_in(app, &app.expert_id).await
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

    /// Adds a channel, asserting 201; its id.
    pub async fn add_id(&self, body: Value) -> String {
        self.add(body).await["channelId"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A one-time connect code for a chat channel.
    pub async fn connect_code(&self, id: &str) -> String {
        let (status, code) = self
            .call(Method::POST, &format!("/api/channels/{id}/connect"), None)
            .await;
        assert_eq!(status, 200, "{code}");
        code["code"].as_str().unwrap().to_owned()
    }

    /// Adds one channel of every kind, reaching the fakes; their ids by kind.
    pub async fn add_every_kind(&self, fakes: &Fakes) -> Vec<(&'static str, String)> {
        vec![
            ("telegram", self.add_id(json!({ "kind": "telegram", "botToken": "123:tg-token", "chatId": "-100500" })).await),
            ("slack", self.add_id(json!({ "kind": "slack", "botToken": "xoxb-slack-token", "channel": "C0PAGER", "signingSecret": SLACK_SECRET })).await),
            ("discord", self.add_id(json!({ "kind": "discord", "botToken": "discord-token", "channelId": "4242", "publicKey": fakes.discord_app.public_key_hex() })).await),
            ("email", self.add_id(json!({ "kind": "email", "to": "ada@example.com" })).await),
            ("webhook", self.add_id(json!({ "kind": "webhook", "url": fakes.webhook.url(), "secret": fakes.webhook_secret })).await),
        ]
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
