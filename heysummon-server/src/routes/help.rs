//! `POST /api/v1/help`, `GET /api/v1/help/:id`, `POST /api/v1/help/:id/timeout`.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use heysummon_sdk::safety;
use heysummon_sdk::wire::{
    CreateHelpRequest, HelpStatusResponse, IDEMPOTENCY_KEY_HEADER, MessageKind, RefCode, RequestId,
    Sender, Status, TimeoutResponse,
};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;

use super::messages::item_of;
use super::{ok, request_or_404};
use crate::auth::CLIENT_MESSAGES;
use crate::clock::timestamp;
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::lifecycle::{self, Action, Creation, LifecycleError, Lifetimes, SealedQuestion, Viewer};
use crate::state::AppState;
use crate::store::{EventScope, Feed, RequestRecord};

const FALLBACK_INSTRUCTION: &str = "No expert answered in time. Proceed cautiously: take only \
    reversible, low-risk steps, state your assumptions, and ask again before anything destructive.";

mod checks;

use checks::{check_sealed, validate};

/// `POST /api/v1/help`.
#[utoipa::path(
    post,
    path = "/help",
    tag = "agents",
    request_body = heysummon_sdk::wire::CreateHelpRequest,
    security(()),
    responses((status = 200, description = "The request was created (or an idempotent repeat: the original answer)", body = heysummon_sdk::wire::CreateHelpResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn create(State(state): State<AppState>, req: ApiRequest) -> ApiResult<Response> {
    req.require_json_content_type()?;
    let body: CreateHelpRequest = req.json().map_err(|mut error| {
        if error.body.error != "Malformed JSON body" {
            error.body.error = "Validation failed".into();
        }
        error
    })?;
    validate(&body)?;
    let has_pair = body.sign_public_key.is_some() && body.encrypt_public_key.is_some();
    if !has_pair && body.public_key.is_none() {
        return Err(ApiError::bad_request("Missing required encryption keys"));
    }
    let key = state
        .authenticate_client(&req, Some(body.api_key.as_str()), CLIENT_MESSAGES)
        .await?;
    let idempotency_key = match req.headers.get(IDEMPOTENCY_KEY_HEADER) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(text) if !text.is_empty() && text.len() <= 255 => Some(text.to_owned()),
            _ => {
                return Err(ApiError::bad_request(
                    "Idempotency-Key must be 1 to 255 visible ASCII characters",
                ));
            }
        },
    };
    // A retry gets the original answer, whatever changed since (PROTOCOL B2).
    if let Some(idem) = &idempotency_key
        && let Some(original) = state.store.idempotent_response(&key.id, idem).await?
    {
        return Ok(json_response(original));
    }
    let expert = state
        .store
        .expert(&key.expert_id)
        .await?
        .filter(|e| e.is_active)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The expert linked to this client is currently inactive.",
            )
        })?;
    let expert_keys = match &body.sealed_question {
        Some(_) => Some(check_sealed(&body, &expert)?),
        None => None,
    };

    let report = safety::scan_help_request(body.question.as_deref(), body.messages.as_deref());
    let action_report = body.action.as_ref().map(safety::scan_action);
    for scanned in std::iter::once(&report).chain(action_report.as_ref()) {
        if scanned.blocked() {
            return Err(
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, safety::BLOCKED_ERROR)
                    .member("flags", json!(scanned.flags)),
            );
        }
    }
    let content_flags = (!report.flags.is_empty())
        .then(|| serde_json::to_string(&report.flags).unwrap_or_default());

    let (action_json, action_hash) = super::decisions::action_of(&body)?;
    let mut messages = body.messages.clone();
    if let (Some(list), Some(keep)) = (messages.as_mut(), body.message_count) {
        let keep = keep as usize;
        if list.len() > keep {
            list.drain(..list.len() - keep);
        }
    }
    let messages_json = messages
        .filter(|m| !m.is_empty())
        .map(|m| serde_json::Value::Array(m).to_string());

    let creation = Creation {
        client_key_id: key.id.clone(),
        expert_id: key.expert_id.clone(),
        response_required: body.response_expected(),
        requires_approval: body.approval_requested(),
        question: body.question.clone(),
        messages_json,
        action_json,
        action_hash,
        content_flags,
        consumer_sign_key: body.sign_public_key.clone(),
        consumer_encrypt_key: body.encrypt_public_key.clone(),
        legacy_public_key: body.public_key.clone(),
        sealed: body.sealed_question.clone().zip(expert_keys).map(
            |(envelope, (expert_sign_key, expert_encrypt_key))| SealedQuestion {
                envelope,
                expert_sign_key,
                expert_encrypt_key,
            },
        ),
        idempotency_key,
    };
    let lifetimes = Lifetimes {
        request_secs: state.config.request_ttl_secs,
        notification_secs: state.config.notification_ttl_secs,
    };
    let created = lifecycle::create(&state.store, creation, lifetimes, state.clock.now())
        .await
        .map_err(super::lifecycle_error)?;
    Ok(json_response(created.response_json().to_owned()))
}

fn json_response(body: String) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// The newest plaintext expert answer, for `response`.
pub(crate) async fn plaintext_response(
    state: &AppState,
    request: &RequestRecord,
) -> ApiResult<Option<String>> {
    if request.latest_expert_message_at.is_none() || request.sealed {
        return Ok(None);
    }
    let messages = state.store.messages(&request.id).await?;
    Ok(messages
        .iter()
        .rev()
        .filter(|m| m.sender == Sender::Expert)
        .find_map(|m| match item_of(m).kind() {
            Some(MessageKind::Plaintext(text)) => Some(text),
            _ => None,
        }))
}

/// The status body of `GET /help/:id`.
pub(crate) async fn status_body(
    state: &AppState,
    request: &RequestRecord,
) -> ApiResult<HelpStatusResponse> {
    Ok(HelpStatusResponse {
        request_id: RequestId::new(&request.id),
        ref_code: RefCode::parse(&request.ref_code).ok_or_else(ApiError::internal)?,
        status: request.status.clone(),
        created_at: Some(timestamp(request.created_at)),
        expires_at: Some(timestamp(request.expires_at)),
        approval_decision: request.approval_decision,
        responded_at: request.responded_at.map(timestamp),
        decision_signature: request.decision_signature.clone(),
        decided_at: request.decided_at.map(timestamp),
        response: plaintext_response(state, request).await?,
    })
}

/// The query of `GET /api/v1/help/:id`.
#[derive(Debug, Deserialize)]
pub(crate) struct StatusQuery {
    wait: Option<String>,
}

/// The longest a long-poll holds (PROTOCOL B1).
const MAX_WAIT_SECS: u64 = 50;

/// `GET /api/v1/help/:id`, with the long-poll of PROTOCOL B1: `?wait=N` (seconds, capped at
/// 50) answers as soon as the status leaves pending/reviewing/active or a new expert message
/// arrives, else after N seconds with the unchanged status.
#[utoipa::path(
    get,
    path = "/help/{id}",
    tag = "agents",
    params(("id" = String, Path, description = "The request id"), ("wait" = Option<u32>, Query, maximum = 50, description = "Long-poll: hold up to this many seconds (at most 50) for a change")),
    security(("apiKey" = [])),
    responses((status = 200, description = "The request's status and the newest answer", body = heysummon_sdk::wire::HelpStatusResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<StatusQuery>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let wait = match query.wait.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(text) => text
            .parse::<u64>()
            .map_err(|_| ApiError::bad_request("wait must be a whole number of seconds"))?
            .min(MAX_WAIT_SECS),
    };
    let key = state
        .authenticate_client(&req, req.api_key(), CLIENT_MESSAGES)
        .await?;
    let mut request = request_or_404(&state, Viewer::Client(&key.id), &id).await?;
    if wait > 0 && request.status.is_waiting() {
        // Subscribe (only to a request that is ours), then read again, so nothing that
        // happens in between is missed.
        let mut live = state.store.subscribe(&EventScope::Client {
            client_key_id: key.id.clone(),
            request_id: Some(id.clone()),
        });
        request = request_or_404(&state, Viewer::Client(&key.id), &id).await?;
        if request.status.is_waiting() {
            let _open = crate::telemetry::Open::long_poll();
            request = wait_for_change(&state, request, &mut live, wait).await?;
        }
    }
    Ok(ok(status_body(&state, &request).await?))
}

/// Waits up to `wait` seconds (and never past the request's expiry) for the request to leave
/// the waiting statuses or get a new expert message; returns the request as it is then.
async fn wait_for_change(
    state: &AppState,
    start: RequestRecord,
    live: &mut Feed,
    wait: u64,
) -> ApiResult<RequestRecord> {
    let until_expiry = start.expires_at.saturating_sub(state.clock.now()).max(0);
    let limit = Duration::from_secs(wait).min(Duration::from_millis(until_expiry as u64 + 1));
    let deadline = tokio::time::Instant::now() + limit;
    let changed = |r: &RequestRecord| {
        !r.status.is_waiting() || r.last_expert_event != start.last_expert_event
    };
    loop {
        let look = tokio::select! {
            () = tokio::time::sleep_until(deadline) => break,
            () = state.shutdown.cancelled() => {
                // Not an answer: the client should come back (to this instance after a restart,
                // or to another), not conclude that long-polls are not held.
                return Err(ApiError {
                    retry_after: Some(1),
                    ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Server is shutting down")
                });
            }
            received = live.recv() => match received {
                Ok(event) => event.request_id == start.id,
                Err(broadcast::error::RecvError::Lagged(_)) => true,
                Err(broadcast::error::RecvError::Closed) => break,
            },
        };
        if look {
            let current =
                request_or_404(state, Viewer::Client(&start.client_key_id), &start.id).await?;
            if changed(&current) {
                return Ok(current);
            }
        }
    }
    request_or_404(state, Viewer::Client(&start.client_key_id), &start.id).await
}

fn timeout_answer(already: bool, status: Option<Status>, fallback: bool) -> Response {
    ok(TimeoutResponse {
        ok: true,
        timeout_fallback: fallback.then(|| "proceed_cautiously".to_owned()),
        fallback_instruction: fallback.then(|| FALLBACK_INSTRUCTION.to_owned()),
        already_timed_out: already.then_some(true),
        status,
    })
}

/// `POST /api/v1/help/:id/timeout`: records that the client gave up waiting and tells it how
/// to proceed. The request stays open for the expert.
#[utoipa::path(
    post,
    path = "/help/{id}/timeout",
    tag = "agents",
    params(("id" = String, Path, description = "The request id")),
    security(("apiKey" = [])),
    responses((status = 200, description = "Recorded; what to do now", body = heysummon_sdk::wire::TimeoutResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn timeout(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let key = state
        .authenticate_client(&req, req.api_key(), CLIENT_MESSAGES)
        .await?;
    let request = request_or_404(&state, Viewer::Client(&key.id), &id).await?;
    if request.client_timed_out_at.is_some() {
        return Ok(timeout_answer(true, None, false));
    }
    if !request.status.is_waiting() {
        return Ok(timeout_answer(false, Some(request.status), false));
    }
    match lifecycle::perform(
        &state.store,
        request,
        Action::ClientTimeout,
        state.clock.now(),
    )
    .await
    {
        Ok(_) => Ok(timeout_answer(false, None, true)),
        // A concurrent report got there first.
        Err(LifecycleError::Refused(_)) => Ok(timeout_answer(true, None, false)),
        Err(error) => Err(super::lifecycle_error(error)),
    }
}
