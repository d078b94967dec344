//! `POST /api/channels/telegram/{channelId}`: the updates Telegram sends to the webhook the
//! server registered. The secret token header must match the one set with `setWebhook`
//! (compared as hashes, in constant time); each `update_id` is handled once.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::{ChatAction, act, connect, decision_of, done_text, parse_button};
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::ids::hash_secret;
use crate::notify::spec::{ChannelKind, Stored};
use crate::notify::telegram;
use crate::state::AppState;
use crate::store::ChannelRecord;

/// The header Telegram sends the secret token in.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

#[utoipa::path(post, path = "/api/channels/telegram/{channel_id}", tag = "channels",
    security(("telegramSecret" = [])),
    params(("channel_id" = String, Path, description = "The channel id")),
    request_body(content = Object, description = "A Telegram update"),
    responses((status = 200, description = "Taken", body = Object), crate::app::openapi::Failure),
)]
pub(crate) async fn webhook(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let channel = authenticated(&state, &channel_id, &req).await?;
    let update: Value = req.json()?;
    let Some(update_id) = update["update_id"].as_i64() else {
        return Err(ApiError::bad_request("update_id is required"));
    };
    let fresh = state
        .store
        .record_inbound(&channel.id, &format!("tg:{update_id}"), state.clock.now())
        .await
        .map_err(|_| ApiError::internal())?;
    if fresh {
        handle(&state, &channel, &update).await;
    }
    Ok(axum::Json(json!({ "ok": true })).into_response())
}

/// The channel, if the call carries its secret token; one answer for every failure.
async fn authenticated(
    state: &AppState,
    channel_id: &str,
    req: &ApiRequest,
) -> ApiResult<ChannelRecord> {
    let refused = || ApiError::unauthorized("Invalid secret token");
    let channel = state
        .store
        .channel(channel_id)
        .await
        .map_err(|_| ApiError::internal())?
        .filter(|c| c.kind == ChannelKind::Telegram.as_str())
        .ok_or_else(refused)?;
    let given = hash_secret(req.header(SECRET_HEADER).unwrap_or_default());
    let expected = channel.inbound_token_hash.ok_or_else(refused)?;
    if bool::from(given.ct_eq(&expected)) {
        Ok(channel)
    } else {
        Err(refused())
    }
}

async fn handle(state: &AppState, channel: &ChannelRecord, update: &Value) {
    let bot = Bot::new(state, channel);
    if let Some(query) = update.get("callback_query") {
        if !is_channel_chat(&bot.stored, &query["message"]["chat"]) {
            return;
        }
        let user = id_text(&query["from"]["id"]);
        let answer = match query["data"].as_str().and_then(parse_button) {
            Some((verb, request_id)) => match decision_of(verb) {
                Some(decision) => {
                    let action = ChatAction::Decide(decision);
                    match act(state, channel, &user, request_id, action.clone()).await {
                        Ok(request) => done_text(&request, &action),
                        Err(message) => message,
                    }
                }
                None => "Reply to the message to answer.".to_owned(),
            },
            None => "Unknown action.".to_owned(),
        };
        bot.call(
            "answerCallbackQuery",
            json!({ "callback_query_id": query["id"], "text": answer, "show_alert": false }),
        )
        .await;
        return;
    }
    let Some(message) = update.get("message") else {
        return;
    };
    // Anonymous group admins and posts as a channel share one sender id: nobody in particular.
    if message.get("sender_chat").is_some() {
        return;
    }
    let user = id_text(&message["from"]["id"]);
    let chat = message["chat"]["id"].clone();
    let text = message["text"].as_str().unwrap_or_default();
    let said = if let Some(code) = connect_code(text) {
        let name = message["from"]["username"]
            .as_str()
            .or_else(|| message["from"]["first_name"].as_str())
            .map(str::to_owned);
        connect(state, channel, &user, name, code).await
    } else if let Some(replied) = message["reply_to_message"]["message_id"].as_i64() {
        // Message ids count per chat: only a reply in the channel's own chat is to its message.
        if !is_channel_chat(&bot.stored, &message["chat"]) {
            return;
        }
        let request_id = state
            .store
            .request_of_message(&channel.id, &replied.to_string())
            .await
            .ok()
            .flatten();
        let Some(request_id) = request_id else {
            return;
        };
        let action = ChatAction::Reply {
            text: text.to_owned(),
            message_id: format!(
                "telegram-{}-{}",
                message["chat"]["id"], message["message_id"]
            ),
        };
        match act(state, channel, &user, &request_id, action.clone()).await {
            Ok(request) => done_text(&request, &action),
            Err(message) => message,
        }
    } else {
        return;
    };
    bot.call(
        "sendMessage",
        json!({ "chat_id": chat, "text": said, "reply_parameters": {
            "message_id": message["message_id"], "allow_sending_without_reply": true } }),
    )
    .await;
}

/// Whether a chat is the channel's own (`chatId` is its number, or `@username`).
fn is_channel_chat(stored: &Stored, chat: &Value) -> bool {
    let configured = stored.setting("chatId");
    match configured.parse::<i64>() {
        Ok(id) => chat["id"].as_i64() == Some(id),
        Err(_) => chat["username"].as_str().is_some_and(|name| {
            configured
                .trim_start_matches('@')
                .eq_ignore_ascii_case(name)
        }),
    }
}

/// The code of `/connect CODE` or `/start CODE` (`/connect@bot CODE` too).
fn connect_code(text: &str) -> Option<&str> {
    let (command, rest) = text.trim().split_once(char::is_whitespace)?;
    let command = command.split('@').next()?;
    matches!(command, "/connect" | "/start").then(|| rest.trim())
}

/// A Telegram id (a number) as text.
fn id_text(value: &Value) -> String {
    value.as_i64().map(|id| id.to_string()).unwrap_or_default()
}

/// Calls the channel's bot, logging a failure (an answer to an action is best effort: the
/// edited message tells the outcome too).
struct Bot<'a> {
    state: &'a AppState,
    stored: Stored,
}

impl<'a> Bot<'a> {
    fn new(state: &'a AppState, channel: &ChannelRecord) -> Self {
        Self {
            state,
            stored: Stored::parse(&channel.settings, &channel.secrets),
        }
    }

    async fn call(&self, method: &str, body: Value) {
        let out = &self.state.outbound;
        let api_base = &self.state.config.channels.telegram.api_base;
        if let Err(error) =
            telegram::call(out, api_base, self.stored.secret("botToken"), method, &body).await
        {
            tracing::warn!(error = %error.message, "could not answer in Telegram");
        }
    }
}
