//! `POST /api/channels/slack/{channelId}/interactions` (buttons and the Reply modal) and
//! `…/commands` (`/heysummon connect CODE`): verified with the app's signing secret (v0
//! HMAC-SHA256 over `v0:{timestamp}:{body}`, timestamps more than 5 minutes away refused);
//! a replayed request (same signature) is handled once.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{ChatAction, NOT_LINKED, act, connect, decision_of, done_text, is_linked, request_of};
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::notify::slack;
use crate::notify::spec::{ChannelKind, Stored};
use crate::state::AppState;
use crate::store::ChannelRecord;

/// Signed requests older or newer than this are refused, seconds.
const MAX_SKEW_SECS: u64 = 300;

#[utoipa::path(post, path = "/api/channels/slack/{channel_id}/interactions", tag = "channels",
    security(("slackSignature" = [])),
    params(("channel_id" = String, Path, description = "The channel id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "Slack's interaction payload (`payload`, JSON)"),
    responses((status = 200, description = "Taken; an ephemeral message for the user, if any"),
        crate::app::openapi::Failure),
)]
pub(crate) async fn interactions(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let (channel, fresh) = verified(&state, &channel_id, &req).await?;
    let payload: Value = form_field(&req.body, "payload")
        .and_then(|text| serde_json::from_str(&text).ok())
        .ok_or_else(|| ApiError::bad_request("payload is required"))?;
    if !fresh {
        return Ok(().into_response());
    }
    let user = payload["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match payload["type"].as_str() {
        Some("block_actions") => {
            let action = &payload["actions"][0];
            let verb = action["action_id"].as_str().unwrap_or_default();
            let request_id = action["value"].as_str().unwrap_or_default();
            let said = match (verb, decision_of(verb)) {
                (_, Some(decision)) => {
                    let action = ChatAction::Decide(decision);
                    match act(&state, &channel, &user, request_id, action.clone()).await {
                        Ok(request) => done_text(&request, &action),
                        Err(message) => message,
                    }
                }
                ("reply", None) => {
                    match open_reply(&state, &channel, &user, request_id, &payload).await {
                        Ok(()) => return Ok(().into_response()),
                        Err(message) => message,
                    }
                }
                _ => return Ok(().into_response()),
            };
            let channel_in_slack = payload["channel"]["id"].as_str().unwrap_or_default();
            let body = json!({ "channel": channel_in_slack, "user": user, "text": said });
            call(&state, &channel, "chat.postEphemeral", &body).await;
            Ok(().into_response())
        }
        Some("view_submission") if payload["view"]["callback_id"] == "heysummon_reply" => {
            let request_id = payload["view"]["private_metadata"]
                .as_str()
                .unwrap_or_default();
            let text = payload["view"]["state"]["values"]["answer"]["answer"]["value"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let view_id = payload["view"]["id"].as_str().unwrap_or_default();
            let action = ChatAction::Reply {
                text,
                message_id: format!("slack-view-{view_id}"),
            };
            match act(&state, &channel, &user, request_id, action).await {
                Ok(_) => Ok(().into_response()),
                Err(message) => Ok(axum::Json(json!({
                    "response_action": "errors",
                    "errors": { "answer": message },
                }))
                .into_response()),
            }
        }
        _ => Ok(().into_response()),
    }
}

#[utoipa::path(post, path = "/api/channels/slack/{channel_id}/commands", tag = "channels",
    security(("slackSignature" = [])),
    params(("channel_id" = String, Path, description = "The channel id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "A Slack slash command"),
    responses((status = 200, description = "An ephemeral message for the user", body = Object),
        crate::app::openapi::Failure),
)]
pub(crate) async fn commands(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let ephemeral = |text: &str| {
        axum::Json(json!({ "response_type": "ephemeral", "text": text })).into_response()
    };
    let (channel, fresh) = verified(&state, &channel_id, &req).await?;
    if !fresh {
        return Ok(ephemeral("Already handled."));
    }
    let text = form_field(&req.body, "text").unwrap_or_default();
    let user = form_field(&req.body, "user_id").unwrap_or_default();
    let name = form_field(&req.body, "user_name");
    let said = match text.trim().split_once(char::is_whitespace) {
        Some(("connect", code)) => connect(&state, &channel, &user, name, code.trim()).await,
        _ => "Usage: /heysummon connect CODE (the code comes from the HeySummon dashboard)."
            .to_owned(),
    };
    Ok(ephemeral(&said))
}

/// Opens the Reply modal for a linked user.
async fn open_reply(
    state: &AppState,
    channel: &ChannelRecord,
    user: &str,
    request_id: &str,
    payload: &Value,
) -> Result<(), String> {
    if !is_linked(state, channel, user).await {
        return Err(NOT_LINKED.to_owned());
    }
    let request = request_of(state, channel, request_id)
        .await
        .ok_or_else(|| "This request no longer exists.".to_owned())?;
    let body = json!({
        "trigger_id": payload["trigger_id"],
        "view": slack::reply_modal(&request.id, &request.ref_code),
    });
    call(state, channel, "views.open", &body).await;
    Ok(())
}

async fn call(state: &AppState, channel: &ChannelRecord, method: &str, body: &Value) {
    let stored = Stored::parse(&channel.settings, &channel.secrets);
    let api_base = &state.config.channels.slack.api_base;
    if let Err(error) = slack::call(
        &state.outbound,
        api_base,
        stored.secret("botToken"),
        method,
        body,
    )
    .await
    {
        tracing::warn!(error = %error.message, "could not answer in Slack");
    }
}

/// The channel, if the request carries a valid signature of its signing secret and a fresh
/// timestamp; with whether this exact request is new (`false`: a replay, already handled).
/// Every failure is one 401, an unknown channel's included.
async fn verified(
    state: &AppState,
    channel_id: &str,
    req: &ApiRequest,
) -> ApiResult<(ChannelRecord, bool)> {
    let refused = || ApiError::unauthorized("Invalid Slack signature");
    let channel = state
        .store
        .channel(channel_id)
        .await
        .map_err(|_| ApiError::internal())?
        .filter(|c| c.kind == ChannelKind::Slack.as_str())
        .ok_or_else(refused)?;
    let timestamp = req.header("x-slack-request-timestamp").unwrap_or_default();
    let signature = req.header("x-slack-signature").unwrap_or_default();
    let sent: i64 = timestamp.parse().map_err(|_| refused())?;
    if (state.clock.now() / 1000).abs_diff(sent) > MAX_SKEW_SECS {
        return Err(refused());
    }
    let stored = Stored::parse(&channel.settings, &channel.secrets);
    let Some(expected) = signature
        .strip_prefix("v0=")
        .and_then(|hex_sig| hex::decode(hex_sig).ok())
    else {
        return Err(refused());
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(stored.secret("signingSecret").as_bytes())
        .map_err(|_| refused())?;
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(&req.body);
    mac.verify_slice(&expected).map_err(|_| refused())?;
    let fresh = state
        .store
        .record_inbound(
            &channel.id,
            &format!("slack:{signature}"),
            state.clock.now(),
        )
        .await
        .map_err(|_| ApiError::internal())?;
    Ok((channel, fresh))
}

/// A field of a form-encoded body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}
