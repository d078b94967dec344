//! A fake of the Slack Web API: `POST {api_base}/{method}` with `Authorization: Bearer {token}`
//! and JSON (or form) bodies, for `auth.test`, `chat.postMessage`, `chat.update`,
//! `chat.postEphemeral` and `views.open`; and the signed requests Slack sends an app
//! (interactions and slash commands).
//!
//! As Slack does, it answers its refusals with HTTP 200 `{"ok":false,"error":…}`: no token
//! (`not_authed`), no channel, no text, an update of a message it never posted, a view that is
//! not a modal.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use super::{Call, Failure, Recorder, Serving, answer, bearer, json_reply};

/// A running fake Web API. Dropping it stops it.
#[derive(Debug)]
pub struct FakeSlack {
    serving: Serving,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    recorder: Recorder,
    state: Mutex<Workspace>,
}

/// What the fake remembers: how many messages it posted, and which (channel, ts).
#[derive(Debug, Default)]
struct Workspace {
    posted: u64,
    messages: HashSet<(String, String)>,
}

impl FakeSlack {
    /// Starts a fake on 127.0.0.1 (a free port).
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let router = Router::new()
            .route("/api/{method}", post(handle))
            .with_state(shared.clone());
        Self {
            serving: Serving::start(router, "Slack").await,
            shared,
        }
    }

    /// `http://127.0.0.1:PORT/api`: the `[channels.slack] api_base` that reaches this fake.
    pub fn api_base(&self) -> String {
        format!("http://{}/api", self.serving.addr)
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = Call {
        method,
        token: bearer(&headers, "Bearer"),
        headers,
        body,
        failed: false,
    };
    answer(&shared.recorder, call, refusal, |call| {
        let mut workspace = shared.state.lock().expect("the fake Slack's state");
        match serve(&mut workspace, call) {
            Ok(mut answer) => {
                answer.insert("ok".to_owned(), json!(true));
                Ok((200, Value::Object(answer)))
            }
            Err(error) => Err((200, json!({ "ok": false, "error": error }))),
        }
    })
    .await
}

fn refusal(failure: &Failure) -> Response {
    match failure {
        Failure::RateLimited { retry_after_secs } => (
            [(header::RETRY_AFTER, retry_after_secs.to_string())],
            json_reply(429, json!({ "ok": false, "error": "ratelimited" })),
        )
            .into_response(),
        Failure::ApiError(error) => json_reply(200, json!({ "ok": false, "error": error })),
        Failure::Status(code) => {
            let error = match code {
                401 | 403 => "invalid_auth",
                404 => "unknown_method",
                500.. => "internal_error",
                _ => "invalid_arguments",
            };
            json_reply(*code, json!({ "ok": false, "error": error }))
        }
        Failure::Hang(_) => json_reply(500, json!({ "ok": false, "error": "internal_error" })),
    }
}

/// Serves one method: the answer's members besides `ok`, or Slack's `error`.
fn serve(workspace: &mut Workspace, call: &Call) -> Result<Map<String, Value>, &'static str> {
    if call.token.is_none() {
        return Err("not_authed");
    }
    let body = arguments(&call.body).ok_or("invalid_json")?;
    let text_of = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let answer = match call.method.as_str() {
        "auth.test" => json!({
            "url": "https://heysummon-test.slack.com/", "team": "HeySummon Test",
            "user": "heysummon", "team_id": "T00000001", "user_id": "U0000000B",
            "bot_id": "B00000001",
        }),
        "chat.postMessage" => {
            let channel = text_of("channel").ok_or("channel_not_found")?;
            let has_blocks = body
                .get("blocks")
                .and_then(Value::as_array)
                .is_some_and(|b| !b.is_empty());
            if text_of("text").is_none() && !has_blocks {
                return Err("no_text");
            }
            let ts = next_ts(workspace);
            workspace.messages.insert((channel.to_owned(), ts.clone()));
            json!({
                "channel": channel, "ts": ts,
                "message": { "type": "message", "text": text_of("text").unwrap_or(""), "ts": ts },
            })
        }
        "chat.update" => {
            let channel = text_of("channel").ok_or("channel_not_found")?;
            let ts = text_of("ts").ok_or("message_not_found")?;
            if !workspace
                .messages
                .contains(&(channel.to_owned(), ts.to_owned()))
            {
                return Err("message_not_found");
            }
            json!({ "channel": channel, "ts": ts, "text": text_of("text").unwrap_or("") })
        }
        "chat.postEphemeral" => {
            text_of("channel").ok_or("channel_not_found")?;
            text_of("user").ok_or("user_not_in_channel")?;
            json!({ "message_ts": next_ts(workspace) })
        }
        "views.open" => {
            text_of("trigger_id").ok_or("invalid_arguments")?;
            let view = match body.get("view") {
                Some(Value::String(s)) => serde_json::from_str(s).map_err(|_| "invalid_json")?,
                Some(view) => view.clone(),
                None => return Err("invalid_arguments"),
            };
            if view["type"] != "modal" {
                return Err("invalid_arguments");
            }
            let mut view = view;
            view["id"] = json!("V00000001");
            json!({ "view": view })
        }
        _ => return Err("unknown_method"),
    };
    match answer {
        Value::Object(members) => Ok(members),
        _ => Err("internal_error"),
    }
}

/// The arguments: a JSON object, or a form (as Slack also accepts).
fn arguments(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(members)) => Some(members),
        Ok(_) => None,
        Err(_) => {
            let form: Map<String, Value> = form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect();
            (!form.is_empty()).then_some(form)
        }
    }
}

/// `1700000000.000100`, `1700000000.000101`, …
fn next_ts(workspace: &mut Workspace) -> String {
    let ts = format!("1700000000.{:06}", 100 + workspace.posted);
    workspace.posted += 1;
    ts
}

/// `X-Slack-Signature` of a request: `v0=` and the hex HMAC-SHA256, keyed with the app's
/// signing secret, of `v0:{timestamp}:{body}`.
pub fn slack_signature(signing_secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// The `block_actions` payload Slack posts when the user `user_id` presses the button
/// `action_id` (its `value`) of the message `message_ts` in `channel_id`.
pub fn block_action_payload(
    user_id: &str,
    channel_id: &str,
    message_ts: &str,
    action_id: &str,
    value: &str,
    trigger_id: &str,
) -> Value {
    json!({
        "type": "block_actions",
        "user": { "id": user_id, "username": "tester", "name": "tester", "team_id": "T00000001" },
        "api_app_id": "A00000001",
        "token": "legacy-verification-token",
        "container": {
            "type": "message", "message_ts": message_ts, "channel_id": channel_id,
            "is_ephemeral": false,
        },
        "trigger_id": trigger_id,
        "team": { "id": "T00000001", "domain": "heysummon-test" },
        "channel": { "id": channel_id, "name": "heysummon" },
        "message": { "type": "message", "ts": message_ts, "text": "…", "user": "U0000000B" },
        "response_url": "https://hooks.slack.com/actions/T00000001/1/fake",
        "actions": [{
            "type": "button", "action_id": action_id, "block_id": "heysummon_actions",
            "text": { "type": "plain_text", "text": action_id }, "value": value,
            "action_ts": "1700000001.000001",
        }],
    })
}

/// The `view_submission` payload Slack posts when the user `user_id` submits the reply modal
/// (`callback_id` `heysummon_reply`) of the request `request_id` with `answer_text`.
pub fn view_submission_payload(user_id: &str, request_id: &str, answer_text: &str) -> Value {
    json!({
        "type": "view_submission",
        "team": { "id": "T00000001", "domain": "heysummon-test" },
        "user": { "id": user_id, "username": "tester", "name": "tester", "team_id": "T00000001" },
        "api_app_id": "A00000001",
        "token": "legacy-verification-token",
        "trigger_id": "1700000002.000001.fake",
        "view": {
            "id": "V00000001",
            "type": "modal",
            "callback_id": "heysummon_reply",
            "private_metadata": request_id,
            "state": { "values": { "answer": { "answer": {
                "type": "plain_text_input", "value": answer_text,
            } } } },
        },
    })
}

/// An interaction's body as Slack posts it: the form `payload={json}`.
pub fn form_body(payload: &Value) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
}

/// The form Slack posts for the slash command `/heysummon {text}` typed by `user_id` in
/// `channel_id`.
pub fn command_body(user_id: &str, channel_id: &str, text: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("token", "legacy-verification-token")
        .append_pair("team_id", "T00000001")
        .append_pair("team_domain", "heysummon-test")
        .append_pair("channel_id", channel_id)
        .append_pair("channel_name", "heysummon")
        .append_pair("user_id", user_id)
        .append_pair("user_name", "tester")
        .append_pair("command", "/heysummon")
        .append_pair("text", text)
        .append_pair("api_app_id", "A00000001")
        .append_pair(
            "response_url",
            "https://hooks.slack.com/commands/T00000001/1/fake",
        )
        .append_pair("trigger_id", "1700000003.000001.fake")
        .finish()
}

super::recorded_calls!(FakeSlack, "Slack");
