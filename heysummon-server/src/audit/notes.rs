//! The entries a lifecycle step records (its decision, and the request's arrival at a final
//! status: closed, expired, cancelled, acknowledged, each with who caused it), and a device
//! enrollment's.

use heysummon_sdk::wire::Status;

use super::{Actor, AuditKind, AuditNote};
use crate::clock::Millis;
use crate::lifecycle::Action;
use crate::store::{DeviceRecord, RequestPatch, RequestRecord};

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
                .with("decision", decision.as_str())
                // Whether the expert signed it (PROTOCOL H4): the signature is in the request.
                .with("signed", patch.decision_signature.is_some()),
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

/// The entry of a device enrolled for a client key (the subject) by `actor`.
pub(crate) fn device_note(actor: Actor, device: &DeviceRecord) -> AuditNote {
    AuditNote::new(
        AuditKind::DeviceEnrolled,
        actor,
        &device.client_key_id,
        device.created_at,
    )
    .with("deviceId", device.id.as_str())
}

#[cfg(test)]
mod tests {
    use heysummon_sdk::wire::ApprovalDecision;

    use super::*;

    fn request(status: Status) -> RequestRecord {
        RequestRecord {
            status,
            ..RequestRecord::new(
                "r1".into(),
                "HS-AAAAAAAA".into(),
                "k1".into(),
                "e1".into(),
                0,
                1_000,
            )
        }
    }

    fn kinds(notes: &[AuditNote]) -> Vec<(&'static str, String)> {
        notes
            .iter()
            .map(|n| (n.kind.as_str(), n.actor.to_string()))
            .collect()
    }

    #[test]
    fn a_decision_is_the_assigned_experts() {
        let patch = RequestPatch {
            status: Some(Status::Responded),
            approval_decision: Some(ApprovalDecision::Approved),
            ..RequestPatch::default()
        };
        let action = Action::Review;
        let notes = lifecycle_notes(&request(Status::Pending), &action, &patch, 5);
        assert_eq!(kinds(&notes), [("decision", "expert:e1".to_owned())]);
        assert_eq!(notes[0].details["decision"], "approved");
        assert_eq!(notes[0].at, 5);
    }

    #[test]
    fn an_end_names_who_caused_it_and_the_status_before() {
        let to = |status| RequestPatch {
            status: Some(status),
            ..RequestPatch::default()
        };
        let pending = request(Status::Pending);
        let by_client = Action::Close {
            by: Actor::Client("k1".into()),
        };
        let closed = lifecycle_notes(&pending, &by_client, &to(Status::Closed), 5);
        assert_eq!(kinds(&closed), [("closed", "client:k1".to_owned())]);
        assert_eq!(closed[0].details["previousStatus"], "pending");
        let expired = lifecycle_notes(&pending, &Action::Expire, &to(Status::Expired), 5);
        assert_eq!(kinds(&expired), [("expired", "system".to_owned())]);
        let forced = lifecycle_notes(&pending, &Action::ExpireNow, &to(Status::Expired), 5);
        assert_eq!(kinds(&forced), [("expired", "admin".to_owned())]);
    }

    #[test]
    fn other_steps_record_nothing() {
        let reviewing = RequestPatch {
            status: Some(Status::Reviewing),
            ..RequestPatch::default()
        };
        let pending = request(Status::Pending);
        assert!(lifecycle_notes(&pending, &Action::Review, &reviewing, 5).is_empty());
        // Already closed: a repeated close changes nothing and records nothing.
        let closed = request(Status::Closed);
        let again = RequestPatch {
            status: Some(Status::Closed),
            ..RequestPatch::default()
        };
        let close = Action::Close { by: Actor::Admin };
        assert!(lifecycle_notes(&closed, &close, &again, 5).is_empty());
    }
}
