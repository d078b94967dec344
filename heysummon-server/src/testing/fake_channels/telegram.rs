//! A fake of the Telegram Bot API: `POST {api_base}/bot{token}/{method}` with JSON bodies, for
//! `setWebhook`, `deleteWebhook`, `getMe`, `sendMessage`, `editMessageText` and
//! `answerCallbackQuery`; and the updates Telegram posts to a bot's webhook.
//!
//! It checks what Telegram checks and the server could get wrong: the required fields, the
//! HTML of `parse_mode: "HTML"` texts (unsupported or unbalanced tags: a `<` left unescaped),
//! the 4096-character limit, edits of messages it never sent, edits that change nothing, and
//! the characters of a webhook's `secret_token`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Value, json};

use super::{Call, Failure, Recorder, Serving, answer, json_reply, telegram_html};

/// The `date` of every message the fake makes.
const DATE: i64 = 1_700_000_000;

/// A running fake Bot API. Dropping it stops it.
#[derive(Debug)]
pub struct FakeTelegram {
    serving: Serving,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    recorder: Recorder,
    state: Mutex<Bot>,
}

/// What the fake remembers: the messages it sent (by chat and id: text and keyboard) and the
/// last webhook registered.
#[derive(Debug, Default)]
struct Bot {
    sent: u64,
    messages: HashMap<(String, i64), (String, Value)>,
    webhook: Option<(String, String, Option<String>)>,
}

impl FakeTelegram {
    /// Starts a fake on 127.0.0.1 (a free port).
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let router = Router::new()
            .route("/{bot}/{method}", post(handle))
            .with_state(shared.clone());
        Self {
            serving: Serving::start(router, "Telegram").await,
            shared,
        }
    }

    /// `http://127.0.0.1:PORT`: the `[channels.telegram] api_base` that reaches this fake.
    pub fn api_base(&self) -> String {
        format!("http://{}", self.serving.addr)
    }

    /// The `secret_token` of the webhook registered last (`None`: none, or deleted since).
    pub fn webhook_secret(&self) -> Option<String> {
        self.bot()
            .webhook
            .as_ref()
            .and_then(|(_, _, secret)| secret.clone())
    }

    /// The `url` of the webhook registered last (`None`: none, or deleted since).
    pub fn webhook_url(&self) -> Option<String> {
        self.bot().webhook.as_ref().map(|(_, url, _)| url.clone())
    }

    /// The bot token the webhook registered last was registered with.
    pub fn webhook_token(&self) -> Option<String> {
        self.bot()
            .webhook
            .as_ref()
            .map(|(token, _, _)| token.clone())
    }

    fn bot(&self) -> MutexGuard<'_, Bot> {
        self.shared.state.lock().expect("the fake Telegram's state")
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(token) = bot.strip_prefix("bot") else {
        return error(404, "Not Found");
    };
    let call = Call {
        method,
        token: Some(token.to_owned()),
        headers,
        body,
        failed: false,
    };
    answer(&shared.recorder, call, refusal, |call| {
        let mut bot = shared.state.lock().expect("the fake Telegram's state");
        match serve(&mut bot, call) {
            Ok(result) => Ok((200, json!({ "ok": true, "result": result }))),
            Err(description) => Err((
                400,
                json!({
                    "ok": false, "error_code": 400,
                    "description": format!("Bad Request: {description}"),
                }),
            )),
        }
    })
    .await
}

/// Telegram's error answer.
fn error(code: u16, description: &str) -> Response {
    json_reply(
        code,
        json!({ "ok": false, "error_code": code, "description": description }),
    )
}

fn refusal(failure: &Failure) -> Response {
    match failure {
        Failure::RateLimited { retry_after_secs } => json_reply(
            429,
            json!({
                "ok": false,
                "error_code": 429,
                "description": format!("Too Many Requests: retry after {retry_after_secs}"),
                "parameters": { "retry_after": retry_after_secs },
            }),
        ),
        Failure::ApiError(description) => error(400, description),
        Failure::Status(code) => error(*code, status_description(*code)),
        Failure::Hang(_) => error(500, status_description(500)),
    }
}

fn status_description(code: u16) -> &'static str {
    match code {
        400 => "Bad Request: chat not found",
        401 => "Unauthorized",
        403 => "Forbidden: bot was blocked by the user",
        404 => "Not Found",
        409 => "Conflict: terminated by other getUpdates request",
        502 => "Bad Gateway",
        _ => "Internal Server Error",
    }
}

/// Serves one method: its `result`, or why Telegram refuses it.
fn serve(bot: &mut Bot, call: &Call) -> Result<Value, String> {
    let Ok(body) = serde_json::from_slice::<Value>(&call.body) else {
        return Err("can't parse JSON request body".to_owned());
    };
    let token = call.token.clone().unwrap_or_default();
    match call.method.as_str() {
        "getMe" => Ok(json!({
            "id": 7_000_000_001_i64, "is_bot": true, "first_name": "HeySummon Test",
            "username": "heysummon_test_bot",
        })),
        "setWebhook" => {
            let url = body["url"].as_str().ok_or("url is empty")?;
            let secret = body["secret_token"].as_str();
            if secret.is_some_and(|s| {
                s.is_empty()
                    || s.len() > 256
                    || !s
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            }) {
                return Err("secret token contains unallowed characters".to_owned());
            }
            bot.webhook = Some((token, url.to_owned(), secret.map(str::to_owned)));
            Ok(json!(true))
        }
        "deleteWebhook" => {
            if bot.webhook.as_ref().is_some_and(|(t, _, _)| *t == token) {
                bot.webhook = None;
            }
            Ok(json!(true))
        }
        "sendMessage" => {
            let chat = chat_id(&body)?;
            let text = checked_text(&body)?;
            bot.sent += 1;
            let message_id = 99 + i64::try_from(bot.sent).unwrap_or(i64::MAX - 99);
            let keyboard = body["reply_markup"].clone();
            bot.messages
                .insert((chat, message_id), (text.to_owned(), keyboard.clone()));
            Ok(message(&body, message_id, text, &keyboard))
        }
        "editMessageText" => {
            let chat = chat_id(&body)?;
            let message_id = body["message_id"]
                .as_i64()
                .ok_or("message identifier is not specified")?;
            let text = checked_text(&body)?;
            let keyboard = body["reply_markup"].clone();
            let stored = bot
                .messages
                .get_mut(&(chat, message_id))
                .ok_or("message to edit not found")?;
            if stored.0 == text && stored.1 == keyboard {
                return Err(
                    "message is not modified: specified new message content and reply \
                            markup are exactly the same as a current content and reply markup \
                            of the message"
                        .to_owned(),
                );
            }
            *stored = (text.to_owned(), keyboard.clone());
            Ok(message(&body, message_id, text, &keyboard))
        }
        "answerCallbackQuery" => {
            body["callback_query_id"]
                .as_str()
                .filter(|id| !id.is_empty())
                .ok_or("query is too old and response timeout expired or query ID is invalid")?;
            Ok(json!(true))
        }
        _ => Err("method not found".to_owned()),
    }
}

/// `chat_id` (a number or an `@channel` name) as a key.
fn chat_id(body: &Value) -> Result<String, String> {
    match &body["chat_id"] {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        _ => Err("chat_id is empty".to_owned()),
    }
}

/// `text`, checked: present, at most 4096 characters, valid HTML when `parse_mode` is HTML.
fn checked_text(body: &Value) -> Result<&str, String> {
    let text = body["text"]
        .as_str()
        .filter(|t| !t.trim().is_empty())
        .ok_or("message text is empty")?;
    if body["parse_mode"].as_str() == Some("HTML") {
        telegram_html::check(text).map_err(|e| format!("can't parse entities: {e}"))?;
    }
    if text.encode_utf16().count() > 4096 {
        return Err("message is too long".to_owned());
    }
    Ok(text)
}

/// The `Message` Telegram answers with.
fn message(body: &Value, message_id: i64, text: &str, keyboard: &Value) -> Value {
    let mut message = json!({
        "message_id": message_id,
        "from": { "id": 7_000_000_001_i64, "is_bot": true, "first_name": "HeySummon Test" },
        "chat": { "id": body["chat_id"], "type": "private" },
        "date": DATE,
        "text": text,
    });
    if !keyboard.is_null() {
        message["reply_markup"] = keyboard.clone();
    }
    message
}

/// An `Update` carrying a text message, as Telegram posts it to the webhook: from the user
/// `from_id` in the chat `chat_id` (private when they are equal), replying to the message
/// `reply_to` if given. A leading `/command` gets its `bot_command` entity.
pub fn message_update(
    update_id: i64,
    chat_id: i64,
    from_id: i64,
    text: &str,
    reply_to: Option<i64>,
) -> Value {
    let chat_type = if chat_id == from_id {
        "private"
    } else {
        "group"
    };
    let chat = json!({ "id": chat_id, "type": chat_type });
    let mut message = json!({
        "message_id": 10_000 + update_id,
        "from": { "id": from_id, "is_bot": false, "first_name": "Tester", "username": "tester" },
        "chat": chat,
        "date": DATE,
        "text": text,
    });
    if text.starts_with('/') {
        let command = text.split_whitespace().next().unwrap_or(text);
        message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": command.encode_utf16().count() }]);
    }
    if let Some(replied) = reply_to {
        message["reply_to_message"] = json!({
            "message_id": replied,
            "from": { "id": 7_000_000_001_i64, "is_bot": true, "first_name": "HeySummon Test" },
            "chat": chat,
            "date": DATE,
            "text": "…",
        });
    }
    json!({ "update_id": update_id, "message": message })
}

/// An `Update` carrying a callback query: the user `from_id` pressed an inline keyboard
/// button (`data`) of the message `message_id` in the chat `chat_id`.
pub fn callback_update(
    update_id: i64,
    callback_id: &str,
    chat_id: i64,
    from_id: i64,
    message_id: i64,
    data: &str,
) -> Value {
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": callback_id,
            "from": { "id": from_id, "is_bot": false, "first_name": "Tester", "username": "tester" },
            "message": {
                "message_id": message_id,
                "from": { "id": 7_000_000_001_i64, "is_bot": true, "first_name": "HeySummon Test" },
                "chat": { "id": chat_id, "type": if chat_id == from_id { "private" } else { "group" } },
                "date": DATE,
                "text": "…",
            },
            "chat_instance": "-4000000000000000001",
            "data": data,
        },
    })
}

super::recorded_calls!(FakeTelegram, "Telegram");
