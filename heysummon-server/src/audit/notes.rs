//! The entries a lifecycle step records: its decision, and the request's arrival at a final
//! status (closed, expired, cancelled, acknowledged), each with who caused it.

use heysummon_sdk::wire::Status;

use super::{Actor, AuditKind, AuditNote};
use crate::clock::Millis;
use crate::lifecycle::Action;
use crate::store::{RequestPatch, RequestRecord};

/// What a step planned from `before` records: nothing for steps that neither decide nor end
/// the request (a message, a review, a rating, …).
pub(crate) fn lifecycle_notes(
    before: &RequestRecord,
    action: &Action,
    patch: &RequestPatch,
    now: Millis,
) -> Vec<AuditNote> {
    let mut notes = Vec::new();
    if let Some(decision) = patch.approval_decision {
        // Only the assigned expert decides (from the API, the dashboard or a chat channel).
        let expert = Actor::Expert(before.expert_id.clone());
        notes.push(
            AuditNote::new(AuditKind::Decision, expert, &before.id, now)
                .with("decision", decision.as_str()),
        );
    }
    let ended = patch
        .status
        .as_ref()
        .filter(|status| status.is_terminal() && **status != before.status);
    if let Some(status) = ended
        && let Some(kind) = ending_kind(status)
    {
        notes.push(
            AuditNote::new(kind, actor_of(action), &before.id, now)
                .with("previousStatus", before.status.as_str()),
        );
    }
    notes
}

fn ending_kind(status: &Status) -> Option<AuditKind> {
    match status {
        Status::Closed => Some(AuditKind::Closed),
        Status::Expired => Some(AuditKind::Expired),
        Status::Cancelled => Some(AuditKind::Cancelled),
        Status::Acknowledged => Some(AuditKind::Acknowledged),
        _ => None,
    }
}

/// Who performs an action that ends a request.
fn actor_of(action: &Action) -> Actor {
    match action {
        Action::Close { by } | Action::Acknowledge { by } | Action::Cancel { by } => by.clone(),
        Action::ExpireNow => Actor::Admin,
        _ => Actor::System,
    }
}
