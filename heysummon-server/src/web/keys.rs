//! The expert's client API keys in the dashboard (PROTOCOL E3): list (never the key strings),
//! create (the key shown once), rotate, revoke. Another expert's key answers exactly like a
//! missing one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use heysummon_sdk::wire::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::session::SignedIn;
use crate::audit::Actor;
use crate::clock::timestamp;
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::provision::{self, ClientOptions, ProvisionError};
use crate::routes::ok;
use crate::state::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyView {
    id: String,
    name: Option<String>,
    status: &'static str,
    created_at: Timestamp,
    last_used_at: Option<Timestamp>,
}

/// `GET /api/keys`: this expert's client keys, newest first.
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
    Ok(ok(json!({ "keys": keys })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
}

/// `POST /api/keys` `{"name"}`: a new client key linked to this expert; the key string is in
/// this answer and nowhere else, ever.
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
