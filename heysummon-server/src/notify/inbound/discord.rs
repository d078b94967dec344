//! `POST /api/channels/discord/{channelId}/interactions`: Discord's interactions, verified
//! with the application's Ed25519 public key over `timestamp || body` (401 otherwise, as
//! Discord requires), each interaction id handled once. Buttons approve or deny (the message is
//! updated in the answer) or open a Reply modal; `/heysummon code:CODE` links the user.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{
    ChatAction, NOT_LINKED, act, connect, decision_of, is_linked, parse_button, request_of,
};
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::notify::content::Occasion;
use crate::notify::delivery::notice_about;
use crate::notify::discord;
use crate::notify::spec::{ChannelKind, Stored};
use crate::state::AppState;
use crate::store::ChannelRecord;

/// Discord's interaction and response types.
const PING: i64 = 1;
const COMMAND: i64 = 2;
const COMPONENT: i64 = 3;
const MODAL_SUBMIT: i64 = 5;
const PONG: u8 = 1;
const MESSAGE: u8 = 4;
const UPDATE_MESSAGE: u8 = 7;
const MODAL: u8 = 9;
/// Signed requests older or newer than this are refused, seconds.
const MAX_SKEW_SECS: u64 = 300;
/// Only the user who acted sees the message.
const EPHEMERAL: u32 = 64;

#[utoipa::path(post, path = "/api/channels/discord/{channel_id}/interactions", tag = "channels",
    security(("discordSignature" = [])),
    params(("channel_id" = String, Path, description = "The channel id")),
    request_body(content = Object, description = "A Discord interaction"),
    responses((status = 200, description = "Discord's interaction response", body = Object),
        crate::app::openapi::Failure),
)]
pub(crate) async fn interactions(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let channel = verified(&state, &channel_id, &req).await?;
    let interaction: Value = req.json()?;
    let kind = interaction["type"].as_i64().unwrap_or_default();
    if kind == PING {
        return Ok(reply(json!({ "type": PONG })));
    }
    let id = interaction["id"].as_str().unwrap_or_default();
    let fresh = state
        .store
        .record_inbound(&channel.id, &format!("discord:{id}"), state.clock.now())
        .await
        .map_err(|_| ApiError::internal())?;
    if !fresh {
        return Ok(say("Already handled."));
    }
    let user = interaction["member"]["user"]["id"]
        .as_str()
        .or_else(|| interaction["user"]["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let data = &interaction["data"];
    Ok(match kind {
        COMMAND => {
            let code = data["options"]
                .as_array()
                .and_then(|options| options.iter().find(|o| o["name"] == "code"))
                .and_then(|option| option["value"].as_str())
                .unwrap_or_default();
            let name = interaction["member"]["user"]["username"]
                .as_str()
                .or_else(|| interaction["user"]["username"].as_str())
                .map(str::to_owned);
            say(&connect(&state, &channel, &user, name, code).await)
        }
        COMPONENT => {
            let Some((verb, request_id)) = data["custom_id"].as_str().and_then(parse_button) else {
                return Ok(say("Unknown action."));
            };
            match decision_of(verb) {
                Some(decision) => {
                    match act(
                        &state,
                        &channel,
                        &user,
                        request_id,
                        ChatAction::Decide(decision),
                    )
                    .await
                    {
                        Ok(request) => updated_message(&state, &request).await,
                        Err(message) => say(&message),
                    }
                }
                None => reply_modal(&state, &channel, &user, request_id).await,
            }
        }
        MODAL_SUBMIT => {
            let request_id = data["custom_id"]
                .as_str()
                .and_then(parse_button)
                .map(|(_, id)| id)
                .unwrap_or_default();
            let text = data["components"][0]["components"][0]["value"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let action = ChatAction::Reply {
                text,
                message_id: format!("discord-{id}"),
            };
            match act(&state, &channel, &user, request_id, action.clone()).await {
                Ok(request) => say(&super::done_text(&request, &action)),
                Err(message) => say(&message),
            }
        }
        _ => say("Unknown interaction."),
    })
}

/// The channel, if the signature is its application's; one 401 for every failure.
async fn verified(
    state: &AppState,
    channel_id: &str,
    req: &ApiRequest,
) -> ApiResult<ChannelRecord> {
    let refused = || ApiError::unauthorized("invalid request signature");
    let channel = state
        .store
        .channel(channel_id)
        .await
        .map_err(|_| ApiError::internal())?
        .filter(|c| c.kind == ChannelKind::Discord.as_str())
        .ok_or_else(refused)?;
    let stored = Stored::parse(&channel.settings, &channel.secrets);
    let signature = req.header("x-signature-ed25519").unwrap_or_default();
    let timestamp = req.header("x-signature-timestamp").unwrap_or_default();
    // Fresh only: a captured interaction cannot be replayed once its id is forgotten.
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|sent| (state.clock.now() / 1000).abs_diff(sent) <= MAX_SKEW_SECS);
    if fresh && discord::verify(stored.setting("publicKey"), signature, timestamp, &req.body) {
        Ok(channel)
    } else {
        Err(refused())
    }
}

/// The message brought up to date after a decision, without its buttons.
async fn updated_message(state: &AppState, request: &crate::store::RequestRecord) -> Response {
    match notice_about(state, request, Occasion::Update, String::new()).await {
        Ok(notice) => reply(json!({
            "type": UPDATE_MESSAGE,
            "data": { "content": discord::content(&notice), "components": [],
                      "allowed_mentions": { "parse": [] } },
        })),
        Err(_) => say("Done."),
    }
}

async fn reply_modal(
    state: &AppState,
    channel: &ChannelRecord,
    user: &str,
    request_id: &str,
) -> Response {
    if !is_linked(state, channel, user).await {
        return say(NOT_LINKED);
    }
    let Some(request) = request_of(state, channel, request_id).await else {
        return say("This request no longer exists.");
    };
    reply(json!({
        "type": MODAL,
        "data": {
            "custom_id": format!("reply:{}", request.id),
            "title": format!("Answer {}", request.ref_code),
            "components": [{ "type": 1, "components": [{
                "type": 4, "custom_id": "answer", "style": 2, "label": "Your answer",
                "required": true, "max_length": 4000,
            }]}],
        },
    }))
}

fn say(text: &str) -> Response {
    reply(json!({
        "type": MESSAGE,
        "data": { "content": text, "flags": EPHEMERAL, "allowed_mentions": { "parse": [] } },
    }))
}

fn reply(body: Value) -> Response {
    axum::Json(body).into_response()
}
