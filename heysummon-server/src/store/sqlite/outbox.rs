//! A channel's outbox: turning the event log into items for the channels of each event's
//! expert, reminders, and delivering each channel's items in order.

use rusqlite::{Connection, Row, params};

use super::SqliteStore;
use super::error::SqlResult;
use crate::clock::Millis;
use crate::store::channels::ANY_CHANNEL;
use crate::store::statuses;
use crate::store::{Delivered, OutboxItem, OutboxKind, StoreError};

fn outbox_row(row: &Row<'_>) -> rusqlite::Result<(i64, String, String, String, u32, Millis)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
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

impl SqliteStore {
    pub(crate) async fn dispatch_events(
        &self,
        now: Millis,
        limit: u32,
    ) -> Result<(u64, u32), StoreError> {
        self.write(move |conn| dispatch(conn, now, limit)).await
    }

    pub(crate) async fn queue_reminders(
        &self,
        waited_since: Millis,
        now: Millis,
    ) -> Result<u64, StoreError> {
        self.write(move |conn| {
            let sql = format!(
                "INSERT OR IGNORE INTO channel_outbox
                 (channel_id, request_id, kind, next_attempt_at, created_at)
                 SELECT o.channel_id, o.request_id, 'reminder', ?2, ?2
                 FROM channel_outbox o
                 JOIN channels c ON c.id = o.channel_id AND c.paused = 0
                 JOIN requests r ON r.id = o.request_id
                 WHERE o.kind = 'new' AND o.created_at <= ?1 AND r.response_required = 1
                   AND r.responded_at IS NULL AND r.expires_at > ?2 AND r.status IN {}",
                statuses::waiting()
            );
            Ok(conn.execute(&sql, params![waited_since, now])? as u64)
        })
        .await
    }

    pub(crate) async fn channels_due(&self, now: Millis) -> Result<Vec<String>, StoreError> {
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT DISTINCT o.channel_id FROM channel_outbox o
                 JOIN channels c ON c.id = o.channel_id AND c.paused = 0
                 WHERE o.delivered_at IS NULL AND o.next_attempt_at <= ?1",
            )?;
            let rows = stmt.query_map([now], |row| row.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
        .await
    }

    pub(crate) async fn outbox_head(
        &self,
        channel_id: &str,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let channel_id = channel_id.to_owned();
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, channel_id, request_id, kind, attempts, next_attempt_at
                 FROM channel_outbox WHERE channel_id = ?1 AND delivered_at IS NULL
                 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![channel_id, limit], outbox_row)?;
            let mut items = Vec::new();
            for row in rows {
                let (id, channel_id, request_id, kind, attempts, next_attempt_at) = row?;
                let kind = OutboxKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("outbox kind {kind:?}")))?;
                items.push(OutboxItem {
                    id,
                    channel_id,
                    request_id,
                    kind,
                    attempts,
                    next_attempt_at,
                });
            }
            Ok(items)
        })
        .await
    }

    pub(crate) async fn record_deliveries(
        &self,
        channel_id: &str,
        delivered: Vec<Delivered>,
        failure: Option<(i64, String, Millis)>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let channel_id = channel_id.to_owned();
        self.write(move |conn| {
            for done in &delivered {
                conn.prepare_cached("UPDATE channel_outbox SET delivered_at = ?2 WHERE id = ?1")?
                    .execute(params![done.outbox_id, now])?;
                if let Some(external) = &done.external_id {
                    conn.prepare_cached(
                        "INSERT OR IGNORE INTO channel_messages
                         (channel_id, request_id, external_id, created_at)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![
                        channel_id,
                        done.request_id,
                        external,
                        now
                    ])?;
                }
            }
            if !delivered.is_empty() {
                conn.prepare_cached(
                    "UPDATE channels SET failures = 0, last_error = NULL, last_error_at = NULL,
                     last_delivered_at = ?2 WHERE id = ?1",
                )?
                .execute(params![channel_id, now])?;
            }
            if let Some((outbox_id, error, next_attempt_at)) = failure {
                conn.prepare_cached(
                    "UPDATE channel_outbox SET attempts = attempts + 1, next_attempt_at = ?2
                     WHERE id = ?1",
                )?
                .execute(params![outbox_id, next_attempt_at])?;
                note_failure(conn, &channel_id, &error, now)?;
            }
            Ok(())
        })
        .await
    }
}

/// Turns the events after the dispatch cursor into outbox items for the active channels of
/// each event's expert, and moves the cursor, in one transaction; returns how many items were
/// queued and how many events read.
fn dispatch(conn: &Connection, now: Millis, limit: u32) -> SqlResult<(u64, u32)> {
    if !conn.query_row(ANY_CHANNEL, [], |r| r.get::<_, bool>(0))? {
        return Ok((0, 0));
    }
    let cursor: i64 = conn.query_row("SELECT cursor FROM channel_dispatch", [], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, event_type, request_id, expert_id FROM events
         WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let events = stmt
        .query_map(params![cursor, limit], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let Some(last) = events.last().map(|e| e.0) else {
        return Ok((0, 0));
    };
    let mut queued = 0;
    for (_, event_type, request_id, expert_id) in &events {
        queued += match outbox_kind(event_type) {
            Some(OutboxKind::New) => conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO channel_outbox
                     (channel_id, request_id, kind, next_attempt_at, created_at)
                     SELECT id, ?2, 'new', ?3, ?3 FROM channels
                     WHERE expert_id = ?1 AND paused = 0",
                )?
                .execute(params![expert_id, request_id, now])?,
            // Only where the request was announced: the message there is brought up to date.
            // An update already delivered makes room for this one (a decision after an
            // answer, an expiry after a decision); one still waiting will show the latest state.
            Some(_) => {
                conn.prepare_cached(
                    "DELETE FROM channel_outbox
                     WHERE request_id = ?1 AND kind = 'update' AND delivered_at IS NOT NULL",
                )?
                .execute([request_id])?;
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO channel_outbox
                     (channel_id, request_id, kind, next_attempt_at, created_at)
                     SELECT o.channel_id, o.request_id, 'update', ?2, ?2 FROM channel_outbox o
                     JOIN channels c ON c.id = o.channel_id AND c.paused = 0
                     WHERE o.request_id = ?1 AND o.kind = 'new'",
                )?
                .execute(params![request_id, now])?
            }
            None => 0,
        } as u64;
    }
    conn.execute("UPDATE channel_dispatch SET cursor = ?1", [last])?;
    Ok((queued, u32::try_from(events.len()).unwrap_or(u32::MAX)))
}

pub(super) fn note_failure(
    conn: &Connection,
    channel_id: &str,
    error: &str,
    now: Millis,
) -> SqlResult<()> {
    conn.prepare_cached(
        "UPDATE channels SET failures = failures + 1, last_error = ?2, last_error_at = ?3
         WHERE id = ?1",
    )?
    .execute(params![channel_id, error, now])?;
    Ok(())
}
