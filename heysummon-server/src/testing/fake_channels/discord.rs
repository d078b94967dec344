//! A fake of Discord's REST API (`{api_base}`, `Authorization: Bot {token}`, JSON bodies):
//! `POST /channels/{id}/messages`, `PATCH /channels/{id}/messages/{message}` and
//! `GET /users/@me`; and [`DiscordApp`], an application's Ed25519 key and the signed
//! interactions Discord posts to its endpoint.
//!
//! It refuses as Discord does: 401 without a bot token, 400 for an empty message or content
//! over 2000 characters, 404 for an edit of a message it never created.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use bytes::Bytes;
use ed25519_dalek::{Signer, SigningKey};
use rand_core::OsRng;
use serde_json::{Value, json};

use super::{Call, Failure, Recorder, Reply, Serving, answer, bearer, json_reply};

/// The bot's user id.
const BOT_ID: &str = "1200000000000000001";

/// A running fake REST API. Dropping it stops it.
#[derive(Debug)]
pub struct FakeDiscord {
    serving: Serving,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    recorder: Recorder,
    state: Mutex<Guild>,
}

/// What the fake remembers: how many messages it created, and which (channel, id).
#[derive(Debug, Default)]
struct Guild {
    created: u64,
    messages: HashSet<(String, String)>,
}

impl FakeDiscord {
    /// Starts a fake on 127.0.0.1 (a free port).
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let router = Router::new()
            .route("/api/v10/channels/{channel}/messages", post(create))
            .route(
                "/api/v10/channels/{channel}/messages/{message}",
                patch(edit),
            )
            .route("/api/v10/users/@me", get(me))
            .with_state(shared.clone());
        Self {
            serving: Serving::start(router, "Discord").await,
            shared,
        }
    }

    /// `http://127.0.0.1:PORT/api/v10`: the `[channels.discord] api_base` that reaches this
    /// fake.
    pub fn api_base(&self) -> String {
        format!("http://{}/api/v10", self.serving.addr)
    }
}

fn call(method: String, headers: HeaderMap, body: Bytes) -> Call {
    Call {
        method,
        token: bearer(&headers, "Bot"),
        headers,
        body,
        failed: false,
    }
}

async fn create(
    State(shared): State<Arc<Shared>>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = call(format!("POST /channels/{channel}/messages"), headers, body);
    answer(&shared.recorder, call, refusal, |call| {
        let content = checked(call)?;
        let mut guild = shared.state.lock().expect("the fake Discord's state");
        guild.created += 1;
        let id = format!("{}", 1_300_000_000_000_000_000_u64 + guild.created);
        guild.messages.insert((channel.clone(), id.clone()));
        Ok(message(&id, &channel, &content))
    })
    .await
}

async fn edit(
    State(shared): State<Arc<Shared>>,
    Path((channel, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let method = format!("PATCH /channels/{channel}/messages/{id}");
    answer(
        &shared.recorder,
        call(method, headers, body),
        refusal,
        |call| {
            let content = checked(call)?;
            let guild = shared.state.lock().expect("the fake Discord's state");
            if !guild.messages.contains(&(channel.clone(), id.clone())) {
                return Err(error(404, 10008, "Unknown Message"));
            }
            Ok(message(&id, &channel, &content))
        },
    )
    .await
}

async fn me(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let call = call("GET /users/@me".to_owned(), headers, Bytes::new());
    answer(&shared.recorder, call, refusal, |call| {
        if call.token.is_none() {
            return Err(error(401, 0, "401: Unauthorized"));
        }
        Ok((
            200,
            json!({ "id": BOT_ID, "username": "HeySummon Test", "bot": true }),
        ))
    })
    .await
}

/// The message's body checked as Discord does; its `content` (with `components`) to echo.
fn checked(call: &Call) -> Result<Value, Reply> {
    if call.token.is_none() {
        return Err(error(401, 0, "401: Unauthorized"));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&call.body) else {
        return Err(error(400, 50109, "The request body contains invalid JSON."));
    };
    let content = body["content"].as_str().unwrap_or("");
    if content.chars().count() > 2000 {
        return Err((
            400,
            json!({
                "code": 50035, "message": "Invalid Form Body",
                "errors": { "content": { "_errors": [{
                    "code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length.",
                }] } },
            }),
        ));
    }
    let has = |name: &str| body[name].as_array().is_some_and(|a| !a.is_empty());
    if call.method.starts_with("POST") && content.is_empty() && !has("components") && !has("embeds")
    {
        return Err(error(400, 50006, "Cannot send an empty message"));
    }
    Ok(
        json!({ "content": content, "components": body.get("components").cloned().unwrap_or(json!([])) }),
    )
}

fn message(id: &str, channel: &str, content: &Value) -> Reply {
    let mut message = json!({
        "id": id, "channel_id": channel, "type": 0,
        "author": { "id": BOT_ID, "username": "HeySummon Test", "bot": true },
        "timestamp": "2023-11-14T22:13:20.000000+00:00",
    });
    message["content"] = content["content"].clone();
    message["components"] = content["components"].clone();
    (200, message)
}

/// Discord's error answer.
fn error(status: u16, code: u32, message: &str) -> Reply {
    (status, json!({ "message": message, "code": code }))
}

fn refusal(failure: &Failure) -> Response {
    match failure {
        Failure::RateLimited { retry_after_secs } => (
            [(header::RETRY_AFTER, retry_after_secs.to_string())],
            json_reply(
                429,
                json!({
                    "message": "You are being rate limited.",
                    "retry_after": retry_after_secs, "global": false,
                }),
            ),
        )
            .into_response(),
        Failure::ApiError(message) => json_reply_of(error(400, 50035, message)),
        Failure::Status(status) => json_reply_of(match status {
            400 => error(400, 50035, "Invalid Form Body"),
            401 => error(401, 0, "401: Unauthorized"),
            403 => error(403, 50001, "Missing Access"),
            404 => error(404, 10003, "Unknown Channel"),
            _ => error(*status, 0, "Internal Server Error"),
        }),
        Failure::Hang(_) => json_reply_of(error(500, 0, "Internal Server Error")),
    }
}

fn json_reply_of((status, body): Reply) -> Response {
    json_reply(status, body)
}

/// A Discord application: its Ed25519 key, and the interactions Discord would post to its
/// endpoint, signed with it (guild interactions: the user is `member.user`).
pub struct DiscordApp {
    key: SigningKey,
    /// The application's id.
    pub application_id: String,
    /// The guild the interactions come from.
    pub guild_id: String,
    /// The Discord channel the interactions come from.
    pub channel_id: String,
}

impl std::fmt::Debug for DiscordApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordApp")
            .field("public_key", &self.public_key_hex())
            .field("application_id", &self.application_id)
            .finish_non_exhaustive()
    }
}

impl Default for DiscordApp {
    fn default() -> Self {
        Self::new()
    }
}

impl DiscordApp {
    /// An application with a new random key.
    pub fn new() -> Self {
        Self {
            key: SigningKey::generate(&mut OsRng),
            application_id: "1100000000000000001".to_owned(),
            guild_id: "1000000000000000001".to_owned(),
            channel_id: "1000000000000000002".to_owned(),
        }
    }

    /// The public key, hex: the channel's `publicKey`.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    /// `X-Signature-Ed25519`: the hex Ed25519 signature of `timestamp` followed by `body`.
    pub fn sign(&self, timestamp: &str, body: &str) -> String {
        let message = [timestamp.as_bytes(), body.as_bytes()].concat();
        hex::encode(self.key.sign(&message).to_bytes())
    }

    /// The headers of an interaction posted at `timestamp` (Unix seconds):
    /// `X-Signature-Ed25519` and `X-Signature-Timestamp`.
    pub fn signed_headers(&self, timestamp: &str, body: &str) -> [(&'static str, String); 2] {
        [
            ("x-signature-ed25519", self.sign(timestamp, body)),
            ("x-signature-timestamp", timestamp.to_owned()),
        ]
    }

    /// A PING (type 1), as Discord sends to check the endpoint.
    pub fn ping(&self) -> Value {
        json!({
            "id": "1400000000000000001", "application_id": self.application_id, "type": 1,
            "token": "fake-interaction-token-ping", "version": 1,
            "user": { "id": "1000000000000000009", "username": "discord" },
        })
    }

    /// A button press (type 3, component type 2): the user `user_id` pressed `custom_id` on
    /// the message `message_id`.
    pub fn component(
        &self,
        interaction_id: &str,
        user_id: &str,
        message_id: &str,
        custom_id: &str,
    ) -> Value {
        let mut interaction = self.interaction(interaction_id, user_id, 3);
        interaction["data"] = json!({ "custom_id": custom_id, "component_type": 2 });
        interaction["message"] = json!({
            "id": message_id, "channel_id": self.channel_id, "type": 0, "content": "…",
            "author": { "id": BOT_ID, "username": "HeySummon Test", "bot": true },
        });
        interaction
    }

    /// The command `/heysummon code:{code}` (type 2) typed by the user `user_id`.
    pub fn command_connect(&self, interaction_id: &str, user_id: &str, code: &str) -> Value {
        let mut interaction = self.interaction(interaction_id, user_id, 2);
        interaction["data"] = json!({
            "id": "1500000000000000001", "name": "heysummon", "type": 1,
            "options": [{ "name": "code", "type": 3, "value": code }],
        });
        interaction
    }

    fn interaction(&self, interaction_id: &str, user_id: &str, kind: u8) -> Value {
        json!({
            "id": interaction_id,
            "application_id": self.application_id,
            "type": kind,
            "token": format!("fake-interaction-token-{interaction_id}"),
            "version": 1,
            "guild_id": self.guild_id,
            "channel_id": self.channel_id,
            "channel": { "id": self.channel_id, "type": 0 },
            "member": {
                "user": { "id": user_id, "username": "tester", "global_name": "Tester" },
                "roles": [], "permissions": "2248473465835073",
            },
            "app_permissions": "2248473465835073",
            "locale": "en-US",
            "guild_locale": "en-US",
        })
    }
}

super::recorded_calls!(FakeDiscord, "Discord");
