//! The polling feed: `GET /api/v1/events/pending` and `POST /api/v1/events/ack/:id`. Events are
//! computed from the requests' state on every poll; an ack hides a request from that side's
//! feed until something new happens.

use axum::extract::{Path, State};
use axum::response::Response;
use heysummon_sdk::wire::{
    CancelledEvent, EventAckResponse, ExpertRequestEvent, NewMessageEvent,
    NotificationAcknowledgedEvent, NotificationExpiredEvent, PendingEvent, PendingEventsResponse,
    RefCode, RequestId, Sender, Status,
};

use super::ok;
use super::visible_request;
use crate::auth::{ANY_KEY_MESSAGES, Caller};
use crate::clock::{Millis, timestamp};
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::ids::hash_secret;
use crate::state::AppState;
use crate::store::{FeedSide, RequestRecord};

/// A request pending longer than this without an expert ack is reported as escalated.
const ESCALATE_AFTER_MS: Millis = 30 * 60 * 1000;

/// The per-key limit of the events endpoints (polling feed and streams).
pub(crate) fn events_limit(state: &AppState, req: &ApiRequest) -> ApiResult<()> {
    match req.api_key() {
        Some(key) => events_budget(state, key),
        None => Ok(()),
    }
}

/// The events limit of one credential (an API key, a subscriber token), by its hash.
pub(crate) fn events_budget(state: &AppState, credential: &str) -> ApiResult<()> {
    let bucket = format!("events:{}", hex::encode(&hash_secret(credential)[..12]));
    if state.limiter.hit(
        &bucket,
        state.config.rate_limits.events_per_key,
        state.clock.now(),
    ) {
        Ok(())
    } else {
        crate::telemetry::rate_limited("events");
        Err(ApiError::too_many_requests(
            "Too many requests. Please try again later.",
        ))
    }
}

fn ref_code(r: &RequestRecord) -> ApiResult<RefCode> {
    RefCode::parse(&r.ref_code).ok_or_else(ApiError::internal)
}

fn expert_event(r: &RequestRecord, now: Millis) -> ApiResult<PendingEvent> {
    let event = ExpertRequestEvent {
        request_id: RequestId::new(&r.id),
        ref_code: ref_code(r)?,
        question: r
            .question
            .as_deref()
            .map(|q| crate::views::displayable(q).into_owned()),
        requires_approval: r.requires_approval,
        approval_decision: r.approval_decision,
        message_count: r.message_count,
        consumer_sign_pub_key: r.consumer_sign_key.clone(),
        consumer_encrypt_pub_key: r.consumer_encrypt_key.clone(),
        escalated: r.status == Status::Pending && now - r.created_at > ESCALATE_AFTER_MS,
        created_at: timestamp(r.created_at),
        expires_at: timestamp(r.expires_at),
    };
    Ok(if r.response_required {
        PendingEvent::NewRequest(event)
    } else {
        PendingEvent::NewNotification(event)
    })
}

fn consumer_events(r: &RequestRecord, out: &mut Vec<PendingEvent>) -> ApiResult<()> {
    let acked = r.consumer_ack_event.unwrap_or(0);
    let unseen = |position: Option<i64>| position.is_some_and(|p| p > acked);
    if let (true, Some(latest)) = (unseen(r.last_expert_event), r.latest_expert_message_at) {
        out.push(PendingEvent::NewMessage(NewMessageEvent {
            request_id: RequestId::new(&r.id),
            ref_code: ref_code(r)?,
            from: Sender::Expert,
            message_count: r.message_count,
            responded_at: r.responded_at.map(timestamp),
            latest_message_at: Some(timestamp(latest)),
        }));
    }
    if !unseen(r.last_status_event) {
        return Ok(());
    }
    let at = Some(timestamp(r.status_changed_at));
    match r.status {
        Status::Cancelled => out.push(PendingEvent::Cancelled(CancelledEvent {
            request_id: RequestId::new(&r.id),
            ref_code: ref_code(r)?,
            cancelled_at: at,
        })),
        Status::Acknowledged => out.push(PendingEvent::NotificationAcknowledged(
            NotificationAcknowledgedEvent {
                request_id: RequestId::new(&r.id),
                ref_code: ref_code(r)?,
                acknowledged_at: at,
            },
        )),
        Status::Expired if !r.response_required => {
            out.push(PendingEvent::NotificationExpired(
                NotificationExpiredEvent {
                    request_id: RequestId::new(&r.id),
                    ref_code: ref_code(r)?,
                    expired_at: at,
                },
            ));
        }
        _ => {}
    }
    Ok(())
}

/// `GET /api/v1/events/pending`.
#[utoipa::path(
    get,
    path = "/events/pending",
    tag = "events",
    security(("apiKey" = []), ("session" = [])),
    responses((status = 200, description = "Events not yet acknowledged", body = heysummon_sdk::wire::PendingEventsResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn pending(State(state): State<AppState>, req: ApiRequest) -> ApiResult<Response> {
    events_limit(&state, &req)?;
    let caller = state.authenticate_any(&req, ANY_KEY_MESSAGES).await?;
    let now = state.clock.now();
    let mut events = Vec::new();
    match &caller {
        Caller::Expert(expert) => {
            for request in state.store.expert_pending(&expert.id, now).await? {
                events.push(expert_event(&request, now)?);
            }
        }
        Caller::Client(key) => {
            for request in state.store.consumer_pending(&key.id).await? {
                consumer_events(&request, &mut events)?;
            }
        }
    }
    Ok(ok(PendingEventsResponse {
        events,
        quiet_hours: None,
    }))
}

/// `POST /api/v1/events/ack/:id`.
#[utoipa::path(
    post,
    path = "/events/ack/{id}",
    tag = "events",
    params(("id" = String, Path, description = "The request id")),
    security(("apiKey" = []), ("session" = [])),
    responses((status = 200, description = "The request's events are acknowledged", body = heysummon_sdk::wire::EventAckResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn ack(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    events_limit(&state, &req)?;
    let caller = state.authenticate_any(&req, ANY_KEY_MESSAGES).await?;
    let request = visible_request(&state, caller.viewer(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Request not found"))?;
    let side = match caller {
        Caller::Expert(_) => FeedSide::Expert,
        Caller::Client(_) => FeedSide::Consumer,
    };
    let now = state.clock.now();
    state.store.mark_delivered(&request.id, side, now).await?;
    Ok(ok(EventAckResponse {
        ok: true,
        delivered_at: timestamp(now),
    }))
}
