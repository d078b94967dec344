//! Lifecycle steps, delivery marks and expiry.

use std::sync::LazyLock;

use deadpool_postgres::Transaction;
use heysummon_sdk::wire::{ApprovalDecision, Sender, Status};
use tokio_postgres::IsolationLevel;

use super::rows::{col, insert_message, request_row};
use super::{PgResult, PgStore, pg, sequencer};
use crate::clock::Millis;
use crate::store::audit::AuditAppend;
use crate::store::statuses;
use crate::store::{ApplyOutcome, Change, FeedSide, RequestRecord, StoreError};

impl PgStore {
    /// Applies a step in one read-committed transaction. The `UPDATE … WHERE version = $2`
    /// locks the request's row: a step of another instance on the same request waits for it,
    /// then finds the version moved and fails as [`StoreError::Conflict`]. A message id
    /// already stored on the request is a duplicate, whether found before the update or by the
    /// constraint on insert (a race); either way nothing changes.
    pub(crate) async fn apply(
        &self,
        change: Change,
        audit: Option<AuditAppend>,
    ) -> Result<ApplyOutcome, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await
            .map_err(pg)?;
        if let Some(message) = &change.message {
            let statement = tx
                .prepare_cached("SELECT 1 FROM messages WHERE request_id = $1 AND message_id = $2")
                .await
                .map_err(pg)?;
            let exists = tx
                .query_opt(&statement, &[&change.request_id, &message.message_id])
                .await
                .map_err(pg)?
                .is_some();
            if exists {
                tx.rollback().await.map_err(pg)?;
                return Ok(ApplyOutcome::DuplicateMessage);
            }
        }
        let status_changed = change
            .patch
            .status
            .as_ref()
            .is_some_and(|s| *s != change.expected_status);
        let Some(mut record) = update(&tx, &change, status_changed).await? else {
            tx.rollback().await.map_err(pg)?;
            return Err(StoreError::Conflict);
        };
        if let Some(message) = &change.message
            && !insert_message(&tx, message).await?
        {
            tx.rollback().await.map_err(pg)?;
            return Ok(ApplyOutcome::DuplicateMessage);
        }
        let stamps = sequencer::stage(&tx, &change.events).await.map_err(pg)?;
        let (expert, status) = positions(&change, status_changed, &stamps);
        if expert.is_some() || status.is_some() {
            let statement = tx
                .prepare_cached(
                    "UPDATE requests SET
                        last_expert_event = COALESCE($2, last_expert_event),
                        last_status_event = COALESCE($3, last_status_event)
                     WHERE id = $1 RETURNING *",
                )
                .await
                .map_err(pg)?;
            let row = tx
                .query_one(&statement, &[&change.request_id, &expert, &status])
                .await
                .map_err(pg)?;
            record = request_row(&row)?;
        }
        super::audit::append(&tx, audit.as_ref()).await?;
        super::commit(tx).await?;
        // Publishing reads the log on a connection of its own: this one goes back first, or
        // a full pool would wait on itself.
        drop(client);
        if !stamps.is_empty() {
            self.publish_appended().await;
        }
        Ok(ApplyOutcome::Applied(Box::new(record)))
    }

    pub(crate) async fn mark_delivered(
        &self,
        request_id: &str,
        side: FeedSide,
        at: Millis,
    ) -> Result<(), StoreError> {
        let sql = match side {
            FeedSide::Expert => "UPDATE requests SET expert_delivered_at = $2 WHERE id = $1",
            FeedSide::Consumer => {
                "UPDATE requests SET consumer_delivered_at = $2,
                    consumer_ack_event = GREATEST(COALESCE(last_expert_event, 0),
                                                  COALESCE(last_status_event, 0))
                 WHERE id = $1"
            }
        };
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(pg)?;
        client
            .execute(&statement, &[&request_id, &at])
            .await
            .map_err(pg)?;
        Ok(())
    }

    pub(crate) async fn due_for_expiry(
        &self,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(&DUE_FOR_EXPIRY).await.map_err(pg)?;
        let rows = client
            .query(&statement, &[&now, &i64::from(limit)])
            .await
            .map_err(pg)?;
        rows.iter().map(|row| col(row, 0)).collect()
    }

    /// Deletes in one transaction. The requests chosen are locked (`FOR UPDATE SKIP LOCKED`):
    /// a step racing the deletion waits and then finds no request (a conflict), and two
    /// deletions running at once share the work rather than count a request twice.
    pub(crate) async fn delete_finished_before(
        &self,
        before: Millis,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let statement = tx.prepare_cached(&FINISHED_BEFORE).await.map_err(pg)?;
        let ids = tx
            .query(&statement, &[&before, &i64::from(limit)])
            .await
            .map_err(pg)?
            .iter()
            .map(|row| col(row, 0))
            .collect::<PgResult<Vec<String>>>()?;
        if ids.is_empty() {
            return Ok(0);
        }
        let messages = tx
            .prepare_cached("DELETE FROM messages WHERE request_id = ANY($1)")
            .await
            .map_err(pg)?;
        tx.execute(&messages, &[&ids]).await.map_err(pg)?;
        let requests = tx
            .prepare_cached("DELETE FROM requests WHERE id = ANY($1)")
            .await
            .map_err(pg)?;
        let deleted = tx.execute(&requests, &[&ids]).await.map_err(pg)?;
        super::commit(tx).await?;
        Ok(deleted)
    }
}

/// The patch of a step, applied only at the expected version; the request as it is then, or
/// `None` when the version moved (or there is no such request).
async fn update(
    tx: &Transaction<'_>,
    change: &Change,
    status_changed: bool,
) -> PgResult<Option<RequestRecord>> {
    let p = &change.patch;
    let statement = tx
        .prepare_cached(
            "UPDATE requests SET
                status = COALESCE($3, status),
                status_changed_at = CASE WHEN $4::BOOLEAN THEN $5 ELSE status_changed_at END,
                approval_decision = COALESCE($6, approval_decision),
                expert_sign_key = COALESCE($7, expert_sign_key),
                expert_encrypt_key = COALESCE($8, expert_encrypt_key),
                responded_at = COALESCE($9, responded_at),
                closed_at = COALESCE($10, closed_at),
                acknowledged_at = COALESCE($11, acknowledged_at),
                client_timed_out_at = COALESCE($12, client_timed_out_at),
                latest_expert_message_at = COALESCE($13, latest_expert_message_at),
                rating = COALESCE($14, rating),
                rating_feedback = COALESCE($15, rating_feedback),
                rated_at = COALESCE($16, rated_at),
                message_count = message_count + $17,
                decision_signature = COALESCE($18, decision_signature),
                decided_at = COALESCE($19, decided_at),
                version = version + 1
             WHERE id = $1 AND version = $2
             RETURNING *",
        )
        .await
        .map_err(pg)?;
    let row = tx
        .query_opt(
            &statement,
            &[
                &change.request_id,
                &change.expected_version,
                &p.status.as_ref().map(Status::as_str),
                &status_changed,
                &change.at,
                &p.approval_decision.map(ApprovalDecision::as_str),
                &p.expert_sign_key,
                &p.expert_encrypt_key,
                &p.responded_at,
                &p.closed_at,
                &p.acknowledged_at,
                &p.client_timed_out_at,
                &p.latest_expert_message_at,
                &p.rating.map(i64::from),
                &p.rating_feedback,
                &p.rated_at,
                &i64::from(change.message.is_some()),
                &p.decision_signature,
                &p.decided_at,
            ],
        )
        .await
        .map_err(pg)?;
    row.as_ref().map(request_row).transpose()
}

/// The event stamps a step records on its request, as SQLite records log positions event by
/// event (the last one of each kind wins): an expert's message announced as `new_message` is
/// the newest expert event; any other event of a step that changed the status is the newest
/// status event. Stamps grow with each step of a request, as positions do (`sequencer.rs`).
fn positions(change: &Change, status_changed: bool, stamps: &[i64]) -> (Option<i64>, Option<i64>) {
    let expert_message = change
        .message
        .as_ref()
        .is_some_and(|m| m.sender == Sender::Expert);
    let mut expert = None;
    let mut status = None;
    for (event, stamp) in change.events.iter().zip(stamps) {
        match event.event_type {
            "new_message" if expert_message => expert = Some(*stamp),
            "new_message" => {}
            _ if status_changed => status = Some(*stamp),
            _ => {}
        }
    }
    (expert, status)
}

/// Finished requests whose status last changed before `$1`, oldest first, locked for the
/// deletion (those another transaction holds are left for the next round).
static FINISHED_BEFORE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id FROM requests
         WHERE status_changed_at < $1 AND status IN {}
         ORDER BY status_changed_at LIMIT $2
         FOR UPDATE SKIP LOCKED",
        statuses::terminal()
    )
});

/// Live requests past their expiry, soonest first. `status NOT IN (terminal)` is also the
/// predicate of the partial index `requests_open_expiry`, which this query can use.
static DUE_FOR_EXPIRY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id FROM requests
         WHERE status NOT IN {} AND expires_at <= $1
         ORDER BY expires_at LIMIT $2",
        statuses::terminal()
    )
});
