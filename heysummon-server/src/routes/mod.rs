//! HTTP routes, one module per resource.

pub(crate) mod account;
pub(crate) mod decisions;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod help;
pub(crate) mod lifecycle;
pub(crate) mod messages;
pub(crate) mod metrics;
pub(crate) mod stream;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::lifecycle::{LifecycleError, Refusal, Viewer};
use crate::state::AppState;
use crate::store::RequestRecord;

/// Loads a request the viewer may see, lazily expired: the one way routes read a request.
/// `None` for an unknown id and for someone else's request alike.
pub(crate) async fn visible_request(
    state: &AppState,
    viewer: Viewer<'_>,
    id: &str,
) -> ApiResult<Option<RequestRecord>> {
    Ok(crate::lifecycle::load(&state.store, viewer, id, state.clock.now()).await?)
}

/// Like [`visible_request`], with absence answered 404 `Request not found`.
pub(crate) async fn request_or_404(
    state: &AppState,
    viewer: Viewer<'_>,
    id: &str,
) -> ApiResult<RequestRecord> {
    visible_request(state, viewer, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Request not found"))
}

/// A 200 JSON answer.
pub(crate) fn ok<T: Serialize>(body: T) -> Response {
    Json(body).into_response()
}

/// Maps a lifecycle failure to an HTTP answer with PROTOCOL's bodies.
pub(crate) fn lifecycle_error(error: LifecycleError) -> ApiError {
    match error {
        LifecycleError::Store(error) => error.into(),
        LifecycleError::Refused(refusal) => match refusal {
            Refusal::Terminal(_) => ApiError::bad_request("Request is closed or expired"),
            Refusal::NoResponseRequired => {
                ApiError::conflict("This request is notification-mode; messages are not accepted")
                    .code("NO_RESPONSE_REQUIRED")
            }
            Refusal::NotApplicable => {
                ApiError::conflict("This action does not apply to this request")
                    .code("NOT_APPLICABLE")
            }
            Refusal::NotAnApproval => {
                ApiError::bad_request("This request does not require approval")
            }
            Refusal::AlreadyDecided(decision) => ApiError::conflict("Decision already made")
                .member(
                    "decision",
                    serde_json::Value::String(decision.as_str().into()),
                ),
            Refusal::KeysAlreadyExchanged => {
                ApiError::bad_request("Expert keys already exchanged for this request")
            }
            Refusal::NotRateable(_) => ApiError::bad_request("Only answered requests can be rated"),
            Refusal::AlreadyRated(rating) => ApiError::conflict("Request already rated")
                .member("existingRating", serde_json::Value::from(rating)),
            Refusal::AlreadyTimedOut => ApiError::bad_request("Timeout already reported"),
        },
    }
}
