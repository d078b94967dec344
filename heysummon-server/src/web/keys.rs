//! The expert's client API keys in the dashboard (PROTOCOL E3): list (never the key strings),
//! create (the key shown once), rotate, revoke. Another expert's key answers exactly like a
//! missing one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use heysummon_sdk::wire::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::session::SignedIn;
use crate::app::openapi::{Csrf, Failure};
use crate::audit::Actor;
use crate::clock::timestamp;
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::provision::{self, ClientOptions, ProvisionError};
use crate::routes::ok;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct KeyView {
    id: String,
    name: Option<String>,
    /// `active` or `revoked`.
    status: &'static str,
    created_at: Timestamp,
    last_used_at: Option<Timestamp>,
}

/// The expert's client keys.
#[derive(Serialize, ToSchema)]
struct Keys {
    keys: Vec<KeyView>,
}

/// `GET /api/keys`: this expert's client keys, newest first.
#[utoipa::path(get, path = "/api/keys", tag = "dashboard", security(("session" = [])),
    responses((status = 200, description = "The expert's client keys, never their strings", body = Keys), Failure),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> ApiResult<Response> {
    let keys: Vec<KeyView> = state
        .store
        .client_keys_of(&signed_in.expert.id)
        .await?
        .into_iter()
        .map(|key| KeyView {
            id: key.id,
            name: key.name,
            status: if key.is_active { "active" } else { "revoked" },
            created_at: timestamp(key.created_at),
            last_used_at: key.last_used_at.map(timestamp),
        })
        .collect();
    Ok(ok(Keys { keys }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    /// 1 to 100 characters, no control characters.
    name: String,
}

/// `POST /api/keys` `{"name"}`: a new client key linked to this expert; the key string is in
/// this answer and nowhere else, ever.
#[utoipa::path(post, path = "/api/keys", tag = "dashboard", security(("session" = [])),
    params(Csrf), request_body = NewKey,
    responses((status = 201, description = "The new key; its string is shown here only", body = heysummon_sdk::wire::ClientAdded), Failure),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    signed_in: SignedIn,
    req: ApiRequest,
) -> ApiResult<Response> {
    req.require_json_content_type()?;
    let body: NewKey = req.json()?;
    let name = super::display_name(&body.name)?;
    let options = ClientOptions {
        name: Some(name.to_owned()),
        created_by: Actor::Expert(signed_in.expert.id.clone()),
        ..ClientOptions::default()
    };
    let added = provision::add_client(&state.store, &state.clock, &signed_in.expert.id, options)
        .await
        .map_err(provision_error)?;
    Ok((StatusCode::CREATED, axum::Json(added)).into_response())
}

/// `POST /api/keys/{id}/rotate`: a new key string; the old one keeps working for 24 h.
#[utoipa::path(post, path = "/api/keys/{id}/rotate", tag = "dashboard", security(("session" = [])),
    params(("id" = String, Path, description = "The key id"), Csrf),
    responses((status = 200, description = "The new key string, shown here only", body = heysummon_sdk::wire::ClientRotated), Failure),
)]
pub(crate) async fn rotate(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    own_key(&state, &signed_in, &id).await?;
    let actor = Actor::Expert(signed_in.expert.id.clone());
    let rotated = provision::rotate_client(&state.store, &state.clock, actor, &id)
        .await
        .map_err(provision_error)?;
    Ok(ok(rotated))
}

/// `DELETE /api/keys/{id}`: revokes a key.
#[utoipa::path(delete, path = "/api/keys/{id}", tag = "dashboard", security(("session" = [])),
    params(("id" = String, Path, description = "The key id"), Csrf),
    responses((status = 200, description = "Revoked", body = heysummon_sdk::wire::ClientRevoked), Failure),
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    own_key(&state, &signed_in, &id).await?;
    let actor = Actor::Expert(signed_in.expert.id.clone());
    let revoked = provision::revoke_client(&state.store, &state.clock, actor, &id)
        .await
        .map_err(provision_error)?;
    Ok(ok(revoked))
}

/// 404 unless the key is one of this expert's.
async fn own_key(state: &AppState, signed_in: &SignedIn, id: &str) -> ApiResult<()> {
    let keys = state.store.client_keys_of(&signed_in.expert.id).await?;
    if keys.iter().any(|key| key.id == id) {
        Ok(())
    } else {
        Err(ApiError::not_found("Key not found"))
    }
}

fn provision_error(error: ProvisionError) -> ApiError {
    match error {
        ProvisionError::NotFound(_) => ApiError::not_found("Key not found"),
        ProvisionError::Invalid(message) => ApiError::bad_request(message),
        ProvisionError::Store(error) => error.into(),
    }
}
