//! The request state machine. Every status transition goes through [`perform`]; routes never
//! write a status themselves.
//!
//! ```text
//! pending ──review──▶ reviewing ──key exchange──▶ active ──expert message / decision──▶ responded
//!    │ (sealed questions start in active)                                                 │
//!    ├──────────────── expert message / decision (from any live status) ──────────────────┤
//!    ▼                                                                                    ▼
//! expired (TTL, any live status)   cancelled (expert/admin)   acknowledged (notifications)   closed
//! ```
//!
//! `closed`, `expired`, `cancelled` and `acknowledged` are terminal: nothing leaves them.

use heysummon_sdk::wire::{
    ApprovalDecision, EventType, RefCode, RequestId, Sender, Status, StreamEvent,
};

use crate::clock::{Millis, timestamp};
use crate::store::{
    ApplyOutcome, Change, MessageRecord, NewEvent, RequestPatch, RequestRecord, Store, StoreError,
};

/// Something that may change a request.
#[derive(Clone, Debug)]
pub enum Action {
    /// The TTL passed.
    Expire,
    /// An administrator expires a live request now, whatever its TTL.
    ExpireNow,
    /// The assigned expert opened the request.
    Review,
    /// The expert installed per-request keys.
    KeyExchange {
        /// Ed25519 key as sent.
        sign: String,
        /// X25519 key as sent.
        encrypt: String,
    },
    /// A message from the expert, optionally carrying a decision.
    ExpertMessage {
        /// The message row.
        message: MessageRecord,
        /// `approvalDecision` of the message.
        decision: Option<ApprovalDecision>,
    },
    /// A message from the consumer.
    ConsumerMessage {
        /// The message row.
        message: MessageRecord,
    },
    /// `POST /approve`: the decision and its marker message.
    Decide {
        /// The decision.
        decision: ApprovalDecision,
        /// The marker message row.
        marker: MessageRecord,
    },
    /// `POST /close`.
    Close,
    /// `POST /acknowledge`.
    Acknowledge,
    /// An expert or administrator cancelled it.
    Cancel,
    /// `POST /help/:id/timeout`.
    ClientTimeout,
    /// `POST /rate`.
    Rate {
        /// 1–5.
        rating: u8,
        /// Optional feedback.
        feedback: Option<String>,
    },
}

/// Why an action is not allowed in the request's state. Routes map each to its HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The request is closed or expired (or otherwise terminal).
    Terminal(Status),
    /// Notification requests take no messages.
    NoResponseRequired,
    /// The action does not apply to this kind of request (close on a notification, …).
    NotApplicable,
    /// `/approve` on a request that did not ask for approval.
    NotAnApproval,
    /// A decision exists.
    AlreadyDecided(ApprovalDecision),
    /// Expert keys are installed already.
    KeysAlreadyExchanged,
    /// Only answered requests can be rated.
    NotRateable(Status),
    /// Rated already.
    AlreadyRated(u8),
    /// The client reported a timeout already.
    AlreadyTimedOut,
}

/// What [`perform`] did.
#[derive(Clone, Debug)]
pub enum Performed {
    /// The request changed; this is it now. `previous` is the status before.
    Changed {
        /// The request after the step.
        request: Box<RequestRecord>,
        /// The status before the step.
        previous: Status,
    },
    /// Nothing needed changing (an idempotent repeat); the request as it is.
    Unchanged(Box<RequestRecord>),
    /// The message id was used before on this request; nothing happened.
    DuplicateMessage,
}

impl Performed {
    /// The request after the step, unless the message was a duplicate.
    pub fn request(&self) -> Option<&RequestRecord> {
        match self {
            Self::Changed { request, .. } | Self::Unchanged(request) => Some(request),
            Self::DuplicateMessage => None,
        }
    }
}

/// A lifecycle failure: a refusal, or the store.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The action is not allowed now.
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[allow(clippy::large_enum_variant)] // short-lived, never stored
enum Plan {
    Apply {
        patch: RequestPatch,
        message: Option<MessageRecord>,
        events: Vec<(EventType, Option<Sender>, Option<String>)>,
    },
    Nothing,
}

fn is_live(status: &Status) -> bool {
    !status.is_terminal()
}

/// Decides what an action does to a request, without touching storage.
fn plan(r: &RequestRecord, action: &Action, now: Millis) -> Result<Plan, Refusal> {
    let status = &r.status;
    let to = |status: Status| RequestPatch {
        status: Some(status),
        ..RequestPatch::default()
    };
    let status_event = |t: EventType| vec![(t, None, None)];
    Ok(match action {
        Action::Expire => {
            if !is_live(status) || r.expires_at > now {
                Plan::Nothing
            } else {
                Plan::Apply {
                    patch: to(Status::Expired),
                    message: None,
                    events: status_event(EventType::Expired),
                }
            }
        }
        Action::ExpireNow => {
            if !is_live(status) {
                return Err(Refusal::Terminal(status.clone()));
            }
            Plan::Apply {
                patch: to(Status::Expired),
                message: None,
                events: status_event(EventType::Expired),
            }
        }
        Action::Review => {
            if *status == Status::Pending && r.response_required {
                Plan::Apply {
                    patch: to(Status::Reviewing),
                    message: None,
                    events: status_event(EventType::StatusChange),
                }
            } else {
                Plan::Nothing
            }
        }
        Action::KeyExchange { sign, encrypt } => {
            if !is_live(status) {
                return Err(Refusal::Terminal(status.clone()));
            }
            if r.expert_sign_key.is_some() || r.expert_encrypt_key.is_some() {
                return Err(Refusal::KeysAlreadyExchanged);
            }
            // Installing keys never moves an answered request backwards.
            let next = if *status == Status::Responded {
                Status::Responded
            } else {
                Status::Active
            };
            Plan::Apply {
                patch: RequestPatch {
                    status: Some(next),
                    expert_sign_key: Some(sign.clone()),
                    expert_encrypt_key: Some(encrypt.clone()),
                    ..RequestPatch::default()
                },
                message: None,
                events: status_event(EventType::KeysExchanged),
            }
        }
        Action::ExpertMessage { message, decision } => {
            if !r.response_required {
                return Err(Refusal::NoResponseRequired);
            }
            if !is_live(status) {
                return Err(Refusal::Terminal(status.clone()));
            }
            let first_answer = *status != Status::Responded;
            // A decision is one-shot: a later message cannot change it.
            let decision = if r.requires_approval && r.approval_decision.is_none() {
                *decision
            } else {
                None
            };
            let mut events = vec![(
                EventType::NewMessage,
                Some(Sender::Expert),
                Some(message.message_id.clone()),
            )];
            if first_answer || decision.is_some() {
                events.push((EventType::Responded, None, None));
            }
            Plan::Apply {
                patch: RequestPatch {
                    status: Some(Status::Responded),
                    responded_at: first_answer.then_some(now),
                    approval_decision: decision,
                    latest_expert_message_at: Some(now),
                    ..RequestPatch::default()
                },
                message: Some(message.clone()),
                events,
            }
        }
        Action::ConsumerMessage { message } => {
            if !r.response_required {
                return Err(Refusal::NoResponseRequired);
            }
            if !is_live(status) {
                return Err(Refusal::Terminal(status.clone()));
            }
            Plan::Apply {
                patch: RequestPatch::default(),
                message: Some(message.clone()),
                events: vec![(
                    EventType::NewMessage,
                    Some(Sender::Consumer),
                    Some(message.message_id.clone()),
                )],
            }
        }
        Action::Decide { decision, marker } => {
            if !r.requires_approval {
                return Err(Refusal::NotAnApproval);
            }
            if let Some(existing) = r.approval_decision {
                return Err(Refusal::AlreadyDecided(existing));
            }
            if !is_live(status) {
                return Err(Refusal::Terminal(status.clone()));
            }
            Plan::Apply {
                patch: RequestPatch {
                    status: Some(Status::Responded),
                    approval_decision: Some(*decision),
                    responded_at: (*status != Status::Responded).then_some(now),
                    latest_expert_message_at: Some(now),
                    ..RequestPatch::default()
                },
                message: Some(marker.clone()),
                // The marker is an expert message: it wakes the consumer's feed too.
                events: vec![
                    (
                        EventType::NewMessage,
                        Some(Sender::Expert),
                        Some(marker.message_id.clone()),
                    ),
                    (EventType::Responded, None, None),
                ],
            }
        }
        Action::Close => {
            if !r.response_required {
                // A notification ends by acknowledgement; closing one that already ended is a
                // harmless no-op.
                return if matches!(status, Status::Acknowledged | Status::Expired) {
                    Ok(Plan::Nothing)
                } else {
                    Err(Refusal::NotApplicable)
                };
            }
            if matches!(status, Status::Closed | Status::Expired | Status::Cancelled) {
                // Terminal already: closing is an idempotent no-op.
                Plan::Nothing
            } else if *status == Status::Acknowledged {
                return Err(Refusal::NotApplicable);
            } else {
                Plan::Apply {
                    patch: RequestPatch {
                        status: Some(Status::Closed),
                        closed_at: Some(now),
                        ..RequestPatch::default()
                    },
                    message: None,
                    events: status_event(EventType::Closed),
                }
            }
        }
        Action::Acknowledge => {
            if r.response_required {
                return Err(Refusal::NotApplicable);
            }
            match status {
                Status::Acknowledged => Plan::Nothing,
                s if is_live(s) => Plan::Apply {
                    patch: RequestPatch {
                        status: Some(Status::Acknowledged),
                        acknowledged_at: Some(now),
                        ..RequestPatch::default()
                    },
                    message: None,
                    events: status_event(EventType::NotificationAcknowledged),
                },
                other => return Err(Refusal::Terminal(other.clone())),
            }
        }
        Action::Cancel => {
            if !is_live(status) {
                return Err(Refusal::Terminal(status.clone()));
            }
            Plan::Apply {
                patch: RequestPatch {
                    status: Some(Status::Cancelled),
                    closed_at: Some(now),
                    ..RequestPatch::default()
                },
                message: None,
                events: status_event(EventType::Cancelled),
            }
        }
        Action::ClientTimeout => {
            if r.client_timed_out_at.is_some() {
                return Err(Refusal::AlreadyTimedOut);
            }
            Plan::Apply {
                patch: RequestPatch {
                    client_timed_out_at: Some(now),
                    ..RequestPatch::default()
                },
                message: None,
                events: Vec::new(),
            }
        }
        Action::Rate { rating, feedback } => {
            if let Some(existing) = r.rating {
                return Err(Refusal::AlreadyRated(existing));
            }
            if !matches!(status, Status::Responded | Status::Closed) || r.responded_at.is_none() {
                return Err(Refusal::NotRateable(status.clone()));
            }
            Plan::Apply {
                patch: RequestPatch {
                    rating: Some(*rating),
                    rating_feedback: feedback.clone(),
                    rated_at: Some(now),
                    ..RequestPatch::default()
                },
                message: None,
                events: Vec::new(),
            }
        }
    })
}

fn event(
    r: &RequestRecord,
    patch: &RequestPatch,
    (event_type, from, message_id): (EventType, Option<Sender>, Option<String>),
    now: Millis,
) -> NewEvent {
    let status = patch.status.clone().unwrap_or_else(|| r.status.clone());
    let mut payload = StreamEvent::new(event_type.clone(), RequestId::new(&r.id), timestamp(now))
        .with_status(status)
        .with_expert_id(r.expert_id.as_str().into());
    if let Some(code) = RefCode::parse(&r.ref_code) {
        payload = payload.with_ref_code(code);
    }
    if let (Some(from), Some(id)) = (from, message_id) {
        payload = payload.with_message(from, id.into());
    }
    NewEvent {
        event_type: event_name(&event_type),
        request_id: r.id.clone(),
        client_key_id: r.client_key_id.clone(),
        expert_id: r.expert_id.clone(),
        payload: serde_json::to_string(&payload).unwrap_or_else(|_| "{}".to_owned()),
        created_at: now,
    }
}

fn event_name(event_type: &EventType) -> &'static str {
    match event_type {
        EventType::NewRequest => "new_request",
        EventType::NewNotification => "new_notification",
        EventType::NewMessage => "new_message",
        EventType::KeysExchanged => "keys_exchanged",
        EventType::Responded => "responded",
        EventType::StatusChange => "status_change",
        EventType::Closed => "closed",
        EventType::Cancelled => "cancelled",
        EventType::Expired => "expired",
        EventType::NotificationAcknowledged => "notification_acknowledged",
        _ => "status_change",
    }
}

/// The creation event of a new request (`new_request` or `new_notification`).
pub fn creation_event(r: &RequestRecord) -> NewEvent {
    let kind = if r.response_required {
        EventType::NewRequest
    } else {
        EventType::NewNotification
    };
    event(
        r,
        &RequestPatch::default(),
        (kind, None, None),
        r.created_at,
    )
}

/// Performs an action on a request: plans it against the current row and applies it
/// atomically, re-reading and re-planning when the row changed in between.
pub async fn perform(
    store: &Store,
    request: RequestRecord,
    action: Action,
    now: Millis,
) -> Result<Performed, LifecycleError> {
    let mut current = request;
    for _ in 0..8 {
        // An action on a request whose TTL passed acts on the expired request.
        if !matches!(action, Action::Expire | Action::ExpireNow)
            && is_live(&current.status)
            && current.expires_at <= now
            && let Performed::Changed { request, .. } =
                Box::pin(perform(store, current.clone(), Action::Expire, now)).await?
        {
            current = *request;
        }
        let (patch, message, events) =
            match plan(&current, &action, now).map_err(LifecycleError::Refused)? {
                Plan::Nothing => return Ok(Performed::Unchanged(Box::new(current))),
                Plan::Apply {
                    patch,
                    message,
                    events,
                } => (patch, message, events),
            };
        let events = events
            .into_iter()
            .map(|spec| event(&current, &patch, spec, now))
            .collect();
        let change = Change {
            request_id: current.id.clone(),
            expected_status: current.status.clone(),
            expected_version: current.version,
            patch,
            message,
            events,
            at: now,
        };
        match store.apply(change).await {
            Ok(ApplyOutcome::Applied(request)) => {
                return Ok(Performed::Changed {
                    request,
                    previous: current.status,
                });
            }
            Ok(ApplyOutcome::DuplicateMessage) => return Ok(Performed::DuplicateMessage),
            Err(StoreError::Conflict) => {
                current = store
                    .request(&current.id)
                    .await?
                    .ok_or(StoreError::Conflict)?;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// Reads a request, expiring it first when its TTL has passed (lazy expiry).
pub async fn load(
    store: &Store,
    id: &str,
    now: Millis,
) -> Result<Option<RequestRecord>, StoreError> {
    load_if(store, id, now, |_| true).await
}

/// Like [`load`], for a caller that may only see some requests: a request `visible` refuses is
/// reported as absent, and is not touched (no lazy expiry on someone else's request).
pub async fn load_if(
    store: &Store,
    id: &str,
    now: Millis,
    visible: impl Fn(&RequestRecord) -> bool,
) -> Result<Option<RequestRecord>, StoreError> {
    let Some(request) = store.request(id).await?.filter(|r| visible(r)) else {
        return Ok(None);
    };
    if is_live(&request.status) && request.expires_at <= now {
        return match perform(store, request, Action::Expire, now).await {
            Ok(done) => Ok(done.request().cloned()),
            Err(LifecycleError::Store(error)) => Err(error),
            Err(LifecycleError::Refused(_)) => store.request(id).await,
        };
    }
    Ok(Some(request))
}

#[cfg(test)]
mod tests;
