//! The expert's notification channels in the dashboard (PROTOCOL F1): list, add (a generated
//! webhook secret shown once), pause and resume, remove, send a test, and issue connect codes
//! for chat users and unlink them. Secrets are write-only; another expert's channel answers
//! exactly like a missing one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::session::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::notify::manage::{self, ManageError};
use crate::notify::{ChannelKind, ChannelOptions};
use crate::routes::ok;
use crate::state::AppState;
use crate::store::ChannelRecord;

/// `GET /api/channels`: this expert's channels, oldest first.
pub(crate) async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> ApiResult<Response> {
    let mut views = Vec::new();
    for channel in state.store.channels_of(Some(&signed_in.expert.id)).await? {
        views.push(view(&state, &channel).await?);
    }
    Ok(ok(json!({ "channels": views })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewChannel {
    kind: String,
    #[serde(flatten)]
    options: Value,
}

/// `POST /api/channels` `{"kind", …options}` → 201 `{"channelId","secret"?}`.
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
    let mut answer = json!({ "channelId": added.channel_id });
    if let Some(secret) = added.secret {
        answer["secret"] = json!(secret);
    }
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelPatch {
    paused: bool,
}

/// `PATCH /api/channels/{id}` `{"paused"}`: pauses or resumes; the channel as it is now.
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

/// `DELETE /api/channels/{id}`.
pub(crate) async fn remove(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let channel = own_channel(&state, &signed_in, &id).await?;
    manage::remove(&state, &channel)
        .await
        .map_err(manage_error)?;
    Ok(ok(json!({ "success": true })))
}

/// `POST /api/channels/{id}/test`: sends a test notification now.
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
    Ok(ok(json!({ "delivered": true })))
}

/// `POST /api/channels/{id}/connect`: a one-time code linking a chat user to this expert.
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

async fn view(state: &AppState, channel: &ChannelRecord) -> ApiResult<Value> {
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
