//! Lifecycle steps, delivery marks and expiry.

use std::sync::LazyLock;

use heysummon_sdk::wire::{ApprovalDecision, Sender, Status};
use rusqlite::params;

use super::SqliteStore;
use super::rows::{insert_event, insert_message, request_row};
use crate::clock::Millis;
use crate::store::audit::AuditAppend;
use crate::store::statuses;
use crate::store::{ApplyOutcome, Change, FeedSide, StoreError};

impl SqliteStore {
    pub(crate) async fn apply(
        &self,
        change: Change,
        audit: Option<AuditAppend>,
    ) -> Result<ApplyOutcome, StoreError> {
        self.write_logged(move |conn, appended| {
            if let Some(message) = &change.message {
                let exists = conn
                    .prepare_cached(
                        "SELECT 1 FROM messages WHERE request_id = ?1 AND message_id = ?2",
                    )?
                    .exists(params![change.request_id, message.message_id])?;
                if exists {
                    return Ok(ApplyOutcome::DuplicateMessage);
                }
            }
            let p = &change.patch;
            let status_changed = p
                .status
                .as_ref()
                .is_some_and(|s| *s != change.expected_status);
            let updated = conn
                .prepare_cached(
                    "UPDATE requests SET
                        status = COALESCE(?3, status),
                        status_changed_at = CASE WHEN ?4 THEN ?5 ELSE status_changed_at END,
                        approval_decision = COALESCE(?6, approval_decision),
                        expert_sign_key = COALESCE(?7, expert_sign_key),
                        expert_encrypt_key = COALESCE(?8, expert_encrypt_key),
                        responded_at = COALESCE(?9, responded_at),
                        closed_at = COALESCE(?10, closed_at),
                        acknowledged_at = COALESCE(?11, acknowledged_at),
                        client_timed_out_at = COALESCE(?12, client_timed_out_at),
                        latest_expert_message_at = COALESCE(?13, latest_expert_message_at),
                        rating = COALESCE(?14, rating),
                        rating_feedback = COALESCE(?15, rating_feedback),
                        rated_at = COALESCE(?16, rated_at),
                        message_count = message_count + ?17,
                        decision_signature = COALESCE(?18, decision_signature),
                        decided_at = COALESCE(?19, decided_at),
                        version = version + 1
                     WHERE id = ?1 AND version = ?2",
                )?
                .execute(params![
                    change.request_id,
                    change.expected_version,
                    p.status.as_ref().map(Status::as_str),
                    status_changed,
                    change.at,
                    p.approval_decision.map(ApprovalDecision::as_str),
                    p.expert_sign_key,
                    p.expert_encrypt_key,
                    p.responded_at,
                    p.closed_at,
                    p.acknowledged_at,
                    p.client_timed_out_at,
                    p.latest_expert_message_at,
                    p.rating,
                    p.rating_feedback,
                    p.rated_at,
                    u32::from(change.message.is_some()),
                    p.decision_signature,
                    p.decided_at,
                ])?;
            if updated != 1 {
                return Err(StoreError::Conflict.into());
            }
            if let Some(message) = &change.message {
                insert_message(conn, message)?;
            }
            for event in &change.events {
                let logged = insert_event(conn, event)?;
                let position = logged.id;
                appended.push(logged);
                let column = match event.event_type {
                    "new_message"
                        if change
                            .message
                            .as_ref()
                            .is_some_and(|m| m.sender == Sender::Expert) =>
                    {
                        Some("last_expert_event")
                    }
                    "new_message" => None,
                    _ if status_changed => Some("last_status_event"),
                    _ => None,
                };
                if let Some(column) = column {
                    conn.prepare_cached(&format!(
                        "UPDATE requests SET {column} = ?2 WHERE id = ?1"
                    ))?
                    .execute(params![change.request_id, position])?;
                }
            }
            super::audit::append(conn, audit.as_ref())?;
            let record = conn
                .prepare_cached("SELECT * FROM requests WHERE id = ?1")?
                .query_row([&change.request_id], request_row)??;
            Ok(ApplyOutcome::Applied(Box::new(record)))
        })
        .await
    }

    pub(crate) async fn mark_delivered(
        &self,
        request_id: &str,
        side: FeedSide,
        at: Millis,
    ) -> Result<(), StoreError> {
        let request_id = request_id.to_owned();
        self.write(move |conn| {
            let sql = match side {
                FeedSide::Expert => "UPDATE requests SET expert_delivered_at = ?2 WHERE id = ?1",
                FeedSide::Consumer => {
                    "UPDATE requests SET consumer_delivered_at = ?2,
                        consumer_ack_event = MAX(COALESCE(last_expert_event, 0),
                                                 COALESCE(last_status_event, 0))
                     WHERE id = ?1"
                }
            };
            conn.prepare_cached(sql)?.execute(params![request_id, at])?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn due_for_expiry(
        &self,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&DUE_FOR_EXPIRY)?;
            let ids = stmt.query_map(params![now, limit], |r| r.get(0))?;
            Ok(ids.collect::<Result<Vec<String>, _>>()?)
        })
        .await
    }
}

impl SqliteStore {
    pub(crate) async fn delete_finished_before(
        &self,
        before: Millis,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.write(move |conn| {
            let ids: Vec<String> = conn
                .prepare_cached(&FINISHED_BEFORE)?
                .query_map(params![before, limit], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for id in &ids {
                conn.prepare_cached("DELETE FROM messages WHERE request_id = ?1")?
                    .execute([id])?;
                conn.prepare_cached("DELETE FROM requests WHERE id = ?1")?
                    .execute([id])?;
            }
            Ok(ids.len() as u64)
        })
        .await
    }
}

/// Finished requests whose status last changed before `?1`, oldest first.
static FINISHED_BEFORE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id FROM requests
         WHERE status_changed_at < ?1 AND status IN {}
         ORDER BY status_changed_at LIMIT ?2",
        statuses::terminal()
    )
});

/// Live requests past their expiry, soonest first. `status NOT IN (terminal)` is also the
/// predicate of the partial index `requests_open_expiry`, which this query uses.
static DUE_FOR_EXPIRY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id FROM requests
         WHERE status NOT IN {} AND expires_at <= ?1
         ORDER BY expires_at LIMIT ?2",
        statuses::terminal()
    )
});

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rusqlite::Connection;

    use super::super::migrate::migrate;
    use super::*;

    #[test]
    fn expiry_uses_the_partial_index_of_live_requests() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", *DUE_FOR_EXPIRY))
            .unwrap();
        let plan: Vec<String> = stmt
            .query_map(params![0, 10], |row| row.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.contains("requests_open_expiry")),
            "{plan:?}"
        );
    }
}
