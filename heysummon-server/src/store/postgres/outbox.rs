//! A channel's outbox: turning the event log into items for the channels of each event's
//! expert, reminders, and delivering each channel's items in order.
//!
//! With several instances on one database, dispatching locks the cursor's row for its
//! transaction: instances take turns, each starting where the last one committed; the
//! outbox's uniqueness (`ON CONFLICT DO NOTHING`) absorbs any duplicate all the same.

use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use super::rows::{col, count_col};
use super::{PgResult, PgStore, pg};
use crate::clock::Millis;
use crate::store::channels::ANY_CHANNEL;
use crate::store::statuses;
use crate::store::{Delivered, OutboxItem, OutboxKind, StoreError};

fn outbox_row(row: &Row) -> PgResult<OutboxItem> {
    let kind: String = col(row, 3)?;
    Ok(OutboxItem {
        id: col(row, 0)?,
        channel_id: col(row, 1)?,
        request_id: col(row, 2)?,
        kind: OutboxKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("outbox kind {kind:?}")))?,
        attempts: count_col(row, 4)?,
        next_attempt_at: col(row, 5)?,
    })
}

/// The kind of outbox item an event of the log makes, if any.
fn outbox_kind(event_type: &str) -> Option<OutboxKind> {
    match event_type {
        "new_request" | "new_notification" => Some(OutboxKind::New),
        "responded" | "closed" | "expired" | "cancelled" | "notification_acknowledged" => {
            Some(OutboxKind::Update)
        }
        _ => None,
    }
}

impl PgStore {
    pub(crate) async fn dispatch_events(
        &self,
        now: Millis,
        limit: u32,
    ) -> Result<(u64, u32), StoreError> {
        let mut client = self.client().await?;
        let any: bool = col(&client.query_one(ANY_CHANNEL, &[]).await.map_err(pg)?, 0)?;
        if !any {
            return Ok((0, 0));
        }
        let tx = client.transaction().await.map_err(pg)?;
        let dispatched = dispatch(&tx, now, limit).await?;
        super::commit(tx).await?;
        Ok(dispatched)
    }

    pub(crate) async fn queue_reminders(
        &self,
        waited_since: Millis,
        now: Millis,
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "INSERT INTO channel_outbox
                 (channel_id, request_id, kind, next_attempt_at, created_at)
                 SELECT o.channel_id, o.request_id, 'reminder', $2, $2
                 FROM channel_outbox o
                 JOIN channels c ON c.id = o.channel_id AND NOT c.paused
                 JOIN requests r ON r.id = o.request_id
                 WHERE o.kind = 'new' AND o.created_at <= $1 AND r.response_required
                   AND r.responded_at IS NULL AND r.expires_at > $2 AND r.status IN {}
                 ORDER BY o.id
                 ON CONFLICT DO NOTHING",
                statuses::waiting()
            ))
            .await
            .map_err(pg)?;
        client
            .execute(&statement, &[&waited_since, &now])
            .await
            .map_err(pg)
    }

    pub(crate) async fn channels_due(&self, now: Millis) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT DISTINCT o.channel_id FROM channel_outbox o
                 JOIN channels c ON c.id = o.channel_id AND NOT c.paused
                 WHERE o.delivered_at IS NULL AND o.next_attempt_at <= $1",
            )
            .await
            .map_err(pg)?;
        let rows = client.query(&statement, &[&now]).await.map_err(pg)?;
        rows.iter().map(|row| col(row, 0)).collect()
    }

    pub(crate) async fn outbox_head(
        &self,
        channel_id: &str,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT id, channel_id, request_id, kind, attempts, next_attempt_at
                 FROM channel_outbox WHERE channel_id = $1 AND delivered_at IS NULL
                 ORDER BY id LIMIT $2",
            )
            .await
            .map_err(pg)?;
        let rows = client
            .query(&statement, &[&channel_id, &i64::from(limit)])
            .await
            .map_err(pg)?;
        rows.iter().map(outbox_row).collect()
    }

    pub(crate) async fn record_deliveries(
        &self,
        channel_id: &str,
        delivered: Vec<Delivered>,
        failure: Option<(i64, String, Millis)>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        for done in &delivered {
            let mark = tx
                .prepare_cached("UPDATE channel_outbox SET delivered_at = $2 WHERE id = $1")
                .await
                .map_err(pg)?;
            tx.execute(&mark, &[&done.outbox_id, &now])
                .await
                .map_err(pg)?;
            if let Some(external) = &done.external_id {
                let remember = tx
                    .prepare_cached(
                        "INSERT INTO channel_messages
                         (channel_id, request_id, external_id, created_at)
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    )
                    .await
                    .map_err(pg)?;
                tx.execute(&remember, &[&channel_id, &done.request_id, external, &now])
                    .await
                    .map_err(pg)?;
            }
        }
        if !delivered.is_empty() {
            let reset = tx
                .prepare_cached(
                    "UPDATE channels SET failures = 0, last_error = NULL, last_error_at = NULL,
                     last_delivered_at = $2 WHERE id = $1",
                )
                .await
                .map_err(pg)?;
            tx.execute(&reset, &[&channel_id, &now]).await.map_err(pg)?;
        }
        if let Some((outbox_id, error, next_attempt_at)) = failure {
            let retry = tx
                .prepare_cached(
                    "UPDATE channel_outbox SET attempts = attempts + 1, next_attempt_at = $2
                     WHERE id = $1",
                )
                .await
                .map_err(pg)?;
            tx.execute(&retry, &[&outbox_id, &next_attempt_at])
                .await
                .map_err(pg)?;
            note_failure(&tx, channel_id, &error, now).await?;
        }
        super::commit(tx).await
    }
}

/// Turns the events after the dispatch cursor into outbox items for the active channels of
/// each event's expert, and moves the cursor, inside `tx`; returns how many items were queued
/// and how many events read. The cursor's row stays locked until `tx` ends.
async fn dispatch(tx: &Transaction<'_>, now: Millis, limit: u32) -> PgResult<(u64, u32)> {
    let cursor: i64 = col(
        &tx.query_one("SELECT cursor FROM channel_dispatch FOR UPDATE", &[])
            .await
            .map_err(pg)?,
        0,
    )?;
    let read = tx
        .prepare_cached(
            "SELECT id, event_type, request_id, expert_id FROM events
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .await
        .map_err(pg)?;
    let rows = tx
        .query(&read, &[&cursor, &i64::from(limit)])
        .await
        .map_err(pg)?;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        events.push((
            col::<_, i64>(row, 0)?,
            col::<_, String>(row, 1)?,
            col::<_, String>(row, 2)?,
            col::<_, String>(row, 3)?,
        ));
    }
    let Some(last) = events.last().map(|e| e.0) else {
        return Ok((0, 0));
    };
    let mut queued = 0;
    for (_, event_type, request_id, expert_id) in &events {
        queued += match outbox_kind(event_type) {
            Some(OutboxKind::New) => {
                let announce = tx
                    .prepare_cached(
                        "INSERT INTO channel_outbox
                         (channel_id, request_id, kind, next_attempt_at, created_at)
                         SELECT id, $2, 'new', $3, $3 FROM channels
                         WHERE expert_id = $1 AND NOT paused
                         ON CONFLICT DO NOTHING",
                    )
                    .await
                    .map_err(pg)?;
                tx.execute(&announce, &[expert_id, request_id, &now])
                    .await
                    .map_err(pg)?
            }
            // Only where the request was announced: the message there is brought up to date.
            // An update already delivered makes room for this one (a decision after an
            // answer, an expiry after a decision); one still waiting will show the latest state.
            Some(_) => {
                let clear = tx
                    .prepare_cached(
                        "DELETE FROM channel_outbox
                         WHERE request_id = $1 AND kind = 'update' AND delivered_at IS NOT NULL",
                    )
                    .await
                    .map_err(pg)?;
                tx.execute(&clear, &[request_id]).await.map_err(pg)?;
                let update = tx
                    .prepare_cached(
                        "INSERT INTO channel_outbox
                         (channel_id, request_id, kind, next_attempt_at, created_at)
                         SELECT o.channel_id, o.request_id, 'update', $2, $2
                         FROM channel_outbox o
                         JOIN channels c ON c.id = o.channel_id AND NOT c.paused
                         WHERE o.request_id = $1 AND o.kind = 'new'
                         ON CONFLICT DO NOTHING",
                    )
                    .await
                    .map_err(pg)?;
                tx.execute(&update, &[request_id, &now]).await.map_err(pg)?
            }
            None => 0,
        };
    }
    tx.execute("UPDATE channel_dispatch SET cursor = $1", &[&last])
        .await
        .map_err(pg)?;
    Ok((queued, u32::try_from(events.len()).unwrap_or(u32::MAX)))
}

/// Notes a failed attempt on the channel: one more failure in a row, and its error.
pub(super) async fn note_failure(
    client: &impl deadpool_postgres::GenericClient,
    channel_id: &str,
    error: &str,
    now: Millis,
) -> PgResult<()> {
    let statement = client
        .prepare_cached(
            "UPDATE channels SET failures = failures + 1, last_error = $2, last_error_at = $3
             WHERE id = $1",
        )
        .await
        .map_err(pg)?;
    client
        .execute(&statement, &[&channel_id, &error, &now])
        .await
        .map_err(pg)?;
    Ok(())
}
