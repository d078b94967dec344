//! Planning a step: what an action does to a request in its current state (pure, no storage),
//! and the events the step appends to the log.

use heysummon_sdk::wire::{EventType, RefCode, RequestId, Sender, Status, StreamEvent};

use super::{Action, Refusal};
use crate::clock::{Millis, timestamp};
use crate::store::{MessageRecord, NewEvent, RequestPatch, RequestRecord};

#[allow(clippy::large_enum_variant)] // short-lived, never stored
pub(super) enum Plan {
    Apply {
        patch: RequestPatch,
        message: Option<MessageRecord>,
        events: Vec<(EventType, Option<Sender>, Option<String>)>,
    },
    Nothing,
}

pub(super) fn is_live(status: &Status) -> bool {
    !status.is_terminal()
}

/// Decides what an action does to a request, without touching storage.
pub(super) fn plan(r: &RequestRecord, action: &Action, now: Millis) -> Result<Plan, Refusal> {
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
            // A notification takes no messages: keys for them would only move it to `active`.
            if !r.response_required {
                return Err(Refusal::NoResponseRequired);
            }
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
        Action::Decide {
            decision,
            marker,
            signed,
        } => {
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
                    decision_signature: signed.as_ref().map(|s| s.signature.clone()),
                    decided_at: signed.as_ref().map(|s| s.decided_at),
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
        Action::Close { .. } => {
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
        Action::Acknowledge { .. } => {
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
        Action::Cancel { .. } => {
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

pub(super) fn event(
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
