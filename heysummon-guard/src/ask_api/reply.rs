//! The core's results as HTTP answers: an [`AskOutcome`] or a [`Submitted`] as JSON, and an
//! [`AskError`] as a [`Refusal`] (the one place the guard turns an error into a status).

use std::time::Duration;

use hyper::StatusCode;
use serde_json::{Map, Value, json};

use crate::ask::{AskError, AskKind, AskOutcome, Submitted};
use crate::response::Refusal;

/// An outcome as `/v1/ask` answers it: `{"status", "requestId", "refCode", …}`, with
/// `"approved"` on every answer about an approval request (`true` only when approved).
pub(crate) fn outcome(outcome: &AskOutcome) -> Value {
    let ticket = outcome.ticket();
    let mut answer = Map::new();
    answer.insert("requestId".into(), json!(ticket.request_id));
    answer.insert("refCode".into(), json!(ticket.ref_code));
    let (status, members) = match outcome {
        AskOutcome::Answered {
            text, end_to_end, ..
        } => (
            "responded",
            json!({ "answer": text, "endToEnd": end_to_end }),
        ),
        AskOutcome::Approved { comment, .. } => ("approved", json!({ "comment": comment })),
        AskOutcome::Denied { comment, .. } => ("denied", json!({ "comment": comment })),
        AskOutcome::Pending { retry_after, .. } => {
            ("pending", json!({ "retryAfter": retry_after.as_secs() }))
        }
        AskOutcome::Timeout { .. } => ("timeout", json!({})),
        AskOutcome::Ended { status, .. } => (status.as_str(), json!({})),
        AskOutcome::Notified { .. } => ("notified", json!({})),
    };
    answer.insert("status".into(), json!(status));
    if let Value::Object(members) = members {
        answer.extend(members.into_iter().filter(|(_, value)| !value.is_null()));
    }
    if ticket.kind == AskKind::Approval {
        // Fail closed: anything but an explicit approval is not approved.
        answer.insert("approved".into(), json!(outcome.is_approved()));
    }
    Value::Object(answer)
}

/// A request the guard created for a plaintext `POST /api/v1/help`, in the server's shape.
pub(crate) fn submitted(submitted: &Submitted) -> Value {
    let ticket = &submitted.ticket;
    let mut answer = json!({
        "requestId": ticket.request_id,
        "refCode": ticket.ref_code,
        "status": if submitted.sealed { "active" } else { "pending" },
        "expiresAt": submitted.expires_at,
        "sealed": submitted.sealed,
    });
    if ticket.kind == AskKind::Notification
        && let Value::Object(map) = &mut answer
    {
        map.insert("responseRequired".into(), Value::Bool(false));
    }
    answer
}

impl From<AskError> for Refusal {
    fn from(error: AskError) -> Self {
        match error {
            AskError::InvalidInput(details) => {
                Refusal::new(StatusCode::BAD_REQUEST, "Validation failed")
                    .with("details", json!(details))
            }
            AskError::ContentBlocked { flags } => Refusal::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                heysummon_sdk::safety::BLOCKED_ERROR,
            )
            .with("flags", json!(flags)),
            AskError::Unauthorized { status, body } | AskError::Rejected { status, body } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                match body.and_then(|body| serde_json::to_value(*body).ok()) {
                    Some(body) => Refusal { status, body },
                    None => Refusal::new(status, "The HeySummon server refused the request"),
                }
            }
            AskError::ExpertKeyChanged { pinned, published } => Refusal::new(
                StatusCode::CONFLICT,
                "The expert's key changed since it was pinned; nothing was sent",
            )
            .with("code", json!("EXPERT_KEY_CHANGED"))
            .with("pinned", json!(pinned))
            .with("published", json!(published)),
            AskError::EncryptionUnavailable(why) => Refusal::new(
                StatusCode::CONFLICT,
                "End-to-end encryption is required but not available; nothing was sent",
            )
            .with("code", json!("ENCRYPTION_UNAVAILABLE"))
            .with("details", json!(why)),
            AskError::NotFound => Refusal::new(StatusCode::NOT_FOUND, "Request not found"),
            AskError::Unreachable(_) => Refusal::new(
                StatusCode::BAD_GATEWAY,
                "Could not reach the HeySummon server",
            ),
            AskError::ServerTimeout { waited } => Refusal::new(
                StatusCode::GATEWAY_TIMEOUT,
                "The HeySummon server did not answer in time",
            )
            .with("waitedMs", json!(millis(waited))),
            AskError::DecisionUnverified(reason) => Refusal::new(
                StatusCode::BAD_GATEWAY,
                "The approval is not signed by the expert for this request and action; not acting on it",
            )
            .with("code", json!("DECISION_UNVERIFIED"))
            .with("details", json!(reason)),
            AskError::Unauthenticated => Refusal::new(
                StatusCode::BAD_GATEWAY,
                "message could not be authenticated",
            ),
            AskError::KeyStore(error) => {
                tracing::error!(%error, "key store failure");
                Refusal::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The guard's key store failed",
                )
            }
            AskError::Failed(error) => {
                tracing::warn!(%error, "end-to-end step failed");
                Refusal::new(
                    StatusCode::BAD_GATEWAY,
                    "The request could not be completed",
                )
            }
        }
    }
}

impl From<heysummon_sdk::Error> for Refusal {
    fn from(error: heysummon_sdk::Error) -> Self {
        AskError::from(error).into()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
