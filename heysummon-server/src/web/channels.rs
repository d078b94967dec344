//! The expert's notification channels in the dashboard (PROTOCOL F1): list, add (a generated
//! webhook secret shown once), pause and resume, remove, send a test, and issue connect codes
//! for chat users and unlink them. Secrets are write-only; another expert's channel answers
//! exactly like a missing one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::session::SignedIn;
use crate::app::openapi::{Csrf, Failure};
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::notify::manage::{self, ChannelView, ConnectCode, ManageError};
use crate::notify::{ChannelKind, ChannelOptions};
use crate::routes::ok;
use crate::state::AppState;
use crate::store::ChannelRecord;

/// The expert's channels.
#[derive(Serialize, ToSchema)]
struct Channels {
    channels: Vec<ChannelView>,
}

/// `GET /api/channels`: this expert's channels, oldest first.
#[utoipa::path(get, path = "/api/channels", tag = "channels", security(("session" = [])),
    responses((status = 200, description = "The expert's channels, never a secret", body = Channels), Failure),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> ApiResult<Response> {
    let mut views = Vec::new();
    for channel in state.store.channels_of(Some(&signed_in.expert.id)).await? {
        views.push(view(&state, &channel).await?);
    }
    Ok(ok(Channels { channels: views }))
}

/// A channel to add: its kind and the kind's options (name, url, secret, botToken, chatId,
/// channel, signingSecret, channelId, publicKey, to).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewChannel {
    /// `webhook`, `slack`, `telegram`, `discord` or `email`.
    kind: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    options: Value,
}

/// An added channel; a generated webhook secret is shown here only.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AddedChannel {
    channel_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

/// `POST /api/channels` `{"kind", …options}` → 201 `{"channelId","secret"?}`.
#[utoipa::path(post, path = "/api/channels", tag = "channels", security(("session" = [])),
    params(Csrf), request_body = NewChannel,
    responses((status = 201, description = "Added", body = AddedChannel), Failure),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    signed_in: SignedIn,
    req: ApiRequest,
) -> ApiResult<Response> {
    req.require_json_content_type()?;
    let body: NewChannel = req.json()?;
    let kind = ChannelKind::parse(&body.kind).ok_or_else(|| {
        ApiError::bad_request("Invalid channel").member(
            "details",
            json!("kind must be webhook, slack, telegram, discord or email"),
        )
    })?;
    let options: ChannelOptions = serde_json::from_value(body.options).map_err(|e| {
        ApiError::bad_request("Invalid channel").member("details", json!(e.to_string()))
    })?;
    let added = manage::add(&state, &signed_in.expert.id, kind, &options)
        .await
        .map_err(manage_error)?;
    let answer = AddedChannel {
        channel_id: added.channel_id,
        secret: added.secret,
    };
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChannelPatch {
    paused: bool,
}

/// `PATCH /api/channels/{id}` `{"paused"}`: pauses or resumes; the channel as it is now.
#[utoipa::path(patch, path = "/api/channels/{id}", tag = "channels", security(("session" = [])),
    params(("id" = String, Path, description = "The channel id"), Csrf), request_body = ChannelPatch,
    responses((status = 200, description = "The channel as it is now", body = ChannelView), Failure),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    req.require_json_content_type()?;
    let patch: ChannelPatch = req.json()?;
    let channel = own_channel(&state, &signed_in, &id).await?;
    state
        .store
        .set_channel_paused(&channel.id, patch.paused)
        .await?;
    let channel = own_channel(&state, &signed_in, &id).await?;
    Ok(ok(view(&state, &channel).await?))
}

/// Done.
#[derive(Serialize, ToSchema)]
struct Success {
    success: bool,
}

/// `DELETE /api/channels/{id}`.
#[utoipa::path(delete, path = "/api/channels/{id}", tag = "channels", security(("session" = [])),
    params(("id" = String, Path, description = "The channel id"), Csrf),
    responses((status = 200, description = "Removed", body = Success), Failure),
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let channel = own_channel(&state, &signed_in, &id).await?;
    manage::remove(&state, &channel)
        .await
        .map_err(manage_error)?;
    Ok(ok(Success { success: true }))
}

/// A test notification was delivered.
#[derive(Serialize, ToSchema)]
struct Delivered {
    delivered: bool,
}

/// `POST /api/channels/{id}/test`: sends a test notification now.
#[utoipa::path(post, path = "/api/channels/{id}/test", tag = "channels", security(("session" = [])),
    params(("id" = String, Path, description = "The channel id"), Csrf),
    responses((status = 200, description = "Delivered", body = Delivered), Failure),
)]
pub(crate) async fn test(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let channel = own_channel(&state, &signed_in, &id).await?;
    manage::test(&state, &channel)
        .await
        .map_err(|error| match error {
            ManageError::Upstream(details) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "Test notification not delivered")
                    .member("details", json!(details))
            }
            other => manage_error(other),
        })?;
    Ok(ok(Delivered { delivered: true }))
}

/// `POST /api/channels/{id}/connect`: a one-time code linking a chat user to this expert.
#[utoipa::path(post, path = "/api/channels/{id}/connect", tag = "channels", security(("session" = [])),
    params(("id" = String, Path, description = "The channel id"), Csrf),
    responses((status = 200, description = "The code and how to use it", body = ConnectCode), Failure),
)]
pub(crate) async fn connect(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let channel = own_channel(&state, &signed_in, &id).await?;
    let code = manage::connect_code(&state, &channel)
        .await
        .map_err(manage_error)?;
    Ok(ok(code))
}

/// `DELETE /api/channels/{id}/links/{userId}`: a chat user may no longer answer as this expert.
#[utoipa::path(delete, path = "/api/channels/{id}/links/{user_id}", tag = "channels", security(("session" = [])),
    params(("id" = String, Path, description = "The channel id"), ("user_id" = String, Path, description = "The chat's user id"), Csrf),
    responses((status = 200, description = "The channel as it is now", body = ChannelView), Failure),
)]
pub(crate) async fn unlink(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let channel = own_channel(&state, &signed_in, &id).await?;
    if !state.store.unlink_chat_user(&channel.id, &user_id).await? {
        return Err(ApiError::not_found("Linked user not found"));
    }
    Ok(ok(view(&state, &channel).await?))
}

async fn view(state: &AppState, channel: &ChannelRecord) -> ApiResult<ChannelView> {
    let links = state.store.channel_links(&channel.id).await?;
    Ok(manage::view(
        channel,
        &links,
        state.config.channels.failing_after,
    ))
}

/// 404 unless the channel is one of this expert's.
async fn own_channel(state: &AppState, signed_in: &SignedIn, id: &str) -> ApiResult<ChannelRecord> {
    state
        .store
        .channel(id)
        .await?
        .filter(|channel| channel.expert_id == signed_in.expert.id)
        .ok_or_else(|| ApiError::not_found("Channel not found"))
}

fn manage_error(error: ManageError) -> ApiError {
    match error {
        ManageError::Invalid(details) => {
            ApiError::bad_request("Invalid channel").member("details", json!(details))
        }
        ManageError::Upstream(details) => {
            ApiError::new(StatusCode::BAD_GATEWAY, "The channel's service refused")
                .member("details", json!(details))
        }
        ManageError::Store(error) => error.into(),
    }
}
