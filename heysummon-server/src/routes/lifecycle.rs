//! The lifecycle verbs: `POST /api/v1/key-exchange/:id`, `/close/:id`, `/acknowledge/:id`,
//! `/approve/:id`, `/rate/:id`. Each asks the lifecycle module to act; none writes a status.

use axum::extract::{Path, State};
use axum::response::Response;
use heysummon_sdk::keys::PublicKeys;
use heysummon_sdk::wire::{
    AcknowledgeResponse, ApproveRequest, ApproveResponse, CloseResponse, KeyExchangeRequest,
    KeyExchangeResponse, RateRequest, RateResponse, RefCode, Status,
};
use serde_json::json;

use super::{lifecycle_error, ok};
use super::{request_or_404, visible_request};
use crate::auth::{CLIENT_MESSAGES, EXPERT_MESSAGES};
use crate::clock::timestamp;
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::lifecycle::{self, Action, Performed, Viewer};
use crate::state::AppState;
use crate::store::RequestRecord;

const MAX_KEY_CHARS: usize = 2048;
const MAX_FEEDBACK_CHARS: usize = 2000;

fn after(performed: &Performed) -> ApiResult<&RequestRecord> {
    performed.request().ok_or_else(ApiError::internal)
}

/// `POST /api/v1/key-exchange/:id` (the assigned expert).
#[utoipa::path(
    post,
    path = "/key-exchange/{id}",
    tag = "experts",
    params(("id" = String, Path, description = "The request id")),
    request_body = heysummon_sdk::wire::KeyExchangeRequest,
    security(("apiKey" = []), ("session" = [])),
    responses((status = 200, description = "The expert's keys are installed", body = heysummon_sdk::wire::KeyExchangeResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn key_exchange(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let expert = state.authenticate_expert(&req, EXPERT_MESSAGES).await?;
    let body: KeyExchangeRequest = req.json()?;
    let bad = |k: &str| k.is_empty() || k.len() > MAX_KEY_CHARS;
    if bad(&body.sign_public_key) || bad(&body.encrypt_public_key) {
        return Err(ApiError::bad_request("Validation failed")
            .member("details", json!("keys must be 1 to 2048 characters")));
    }
    let request = request_or_404(&state, Viewer::Expert(&expert.id), &id).await?;
    // Keys the consumer could never use are refused, as `PUT /expert/keys` refuses them.
    PublicKeys::parse(&body.sign_public_key, &body.encrypt_public_key).map_err(|e| {
        ApiError::bad_request("Invalid public key").member("details", json!(e.to_string()))
    })?;
    let action = Action::KeyExchange {
        sign: body.sign_public_key,
        encrypt: body.encrypt_public_key,
    };
    let performed = lifecycle::perform(&state.store, request, action, state.clock.now())
        .await
        .map_err(|error| match error {
            lifecycle::LifecycleError::Refused(lifecycle::Refusal::Terminal(_)) => {
                ApiError::bad_request("Request is already closed or expired")
            }
            other => lifecycle_error(other),
        })?;
    Ok(ok(KeyExchangeResponse {
        success: true,
        status: after(&performed)?.status.clone(),
    }))
}

/// `POST /api/v1/close/:id` (the creator or the assigned expert).
#[utoipa::path(
    post,
    path = "/close/{id}",
    tag = "agents",
    params(("id" = String, Path, description = "The request id")),
    security(("apiKey" = []), ("session" = [])),
    responses((status = 200, description = "Closed", body = heysummon_sdk::wire::CloseResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn close(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let caller = state.authenticate_any(&req, CLIENT_MESSAGES).await?;
    let request = visible_request(&state, caller.viewer(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Request not found"))?;
    let action = Action::Close { by: caller.actor() };
    let performed = lifecycle::perform(&state.store, request, action, state.clock.now())
        .await
        .map_err(lifecycle_error)?;
    let (request, previous) = match &performed {
        Performed::Changed { request, previous } => (request.as_ref(), previous.clone()),
        Performed::Unchanged(request) => (request.as_ref(), request.status.clone()),
        Performed::DuplicateMessage => return Err(ApiError::internal()),
    };
    Ok(ok(CloseResponse {
        success: true,
        status: request.status.clone(),
        previous_status: Some(previous),
        closed_at: request.closed_at.map(timestamp),
        acknowledged_at: request.acknowledged_at.map(timestamp),
    }))
}

/// `POST /api/v1/acknowledge/:id` (the creator or the assigned expert, who has read it;
/// notifications only).
#[utoipa::path(
    post,
    path = "/acknowledge/{id}",
    tag = "experts",
    params(("id" = String, Path, description = "The request id")),
    security(("apiKey" = []), ("session" = [])),
    responses((status = 200, description = "Acknowledged", body = heysummon_sdk::wire::AcknowledgeResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let caller = state.authenticate_any(&req, CLIENT_MESSAGES).await?;
    let request = request_or_404(&state, caller.viewer(), &id).await?;
    let performed = lifecycle::perform(
        &state.store,
        request,
        Action::Acknowledge { by: caller.actor() },
        state.clock.now(),
    )
    .await
    .map_err(lifecycle_error)?;
    let request = after(&performed)?;
    Ok(ok(AcknowledgeResponse {
        success: true,
        status: Status::Acknowledged,
        acknowledged_at: timestamp(request.acknowledged_at.unwrap_or(request.status_changed_at)),
    }))
}

/// `POST /api/v1/approve/:id` (the assigned expert).
#[utoipa::path(
    post,
    path = "/approve/{id}",
    tag = "experts",
    params(("id" = String, Path, description = "The request id")),
    request_body = heysummon_sdk::wire::ApproveRequest,
    security(("apiKey" = []), ("session" = [])),
    responses((status = 200, description = "The decision is recorded", body = heysummon_sdk::wire::ApproveResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let expert = state.authenticate_expert(&req, EXPERT_MESSAGES).await?;
    let body: ApproveRequest = req.json()?;
    let request = request_or_404(&state, Viewer::Expert(&expert.id), &id).await?;
    let now = state.clock.now();
    let signed = super::decisions::checked(&expert, &request, &body, now)?;
    let marker = lifecycle::decision_marker(&request.id, body.decision, now);
    let action = Action::Decide {
        decision: body.decision,
        marker,
        signed,
    };
    let performed = lifecycle::perform(&state.store, request, action, now)
        .await
        .map_err(lifecycle_error)?;
    let request = after(&performed)?;
    Ok(ok(ApproveResponse {
        success: true,
        decision: body.decision,
        ref_code: RefCode::parse(&request.ref_code).ok_or_else(ApiError::internal)?,
    }))
}

/// `POST /api/v1/rate/:id` (the creator).
#[utoipa::path(
    post,
    path = "/rate/{id}",
    tag = "agents",
    params(("id" = String, Path, description = "The request id")),
    request_body = heysummon_sdk::wire::RateRequest,
    security(("apiKey" = [])),
    responses((status = 200, description = "The rating is recorded", body = heysummon_sdk::wire::RateResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn rate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let key = state
        .authenticate_client(&req, req.api_key(), CLIENT_MESSAGES)
        .await?;
    let body: RateRequest = req.json()?;
    if !(1..=5).contains(&body.rating) {
        return Err(ApiError::bad_request(
            "Rating must be an integer from 1 to 5",
        ));
    }
    if body
        .feedback
        .as_deref()
        .is_some_and(|f| f.chars().count() > MAX_FEEDBACK_CHARS)
    {
        return Err(ApiError::bad_request(
            "Feedback must be at most 2000 characters",
        ));
    }
    let request = request_or_404(&state, Viewer::Client(&key.id), &id).await?;
    let action = Action::Rate {
        rating: body.rating,
        feedback: body.feedback,
    };
    let performed = lifecycle::perform(&state.store, request, action, state.clock.now())
        .await
        .map_err(lifecycle_error)?;
    let request = after(&performed)?;
    Ok(ok(RateResponse {
        success: true,
        rating: body.rating,
        rated_at: timestamp(request.rated_at.unwrap_or(request.status_changed_at)),
    }))
}
