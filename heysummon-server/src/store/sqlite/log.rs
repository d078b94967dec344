//! The event log: paging through it by scope, pruning it, and catching up on what other
//! processes appended.

use rusqlite::{Connection, params};

use super::SqliteStore;
use super::error::SqlResult;
use super::rows::{EVENT_SELECT, event_row};
use crate::clock::Millis;
use crate::store::{EventScope, LoggedEvent, StoreError};

impl SqliteStore {
    /// Events in `scope` after a log position, in order, reading at most `limit` rows of the
    /// log; also returns the last position read (`None` when nothing was left), which is where
    /// the next page starts even if filtering dropped every row of this one.
    pub(crate) async fn events_after(
        &self,
        after: i64,
        scope: EventScope,
        limit: u32,
    ) -> Result<(Vec<LoggedEvent>, Option<i64>), StoreError> {
        self.read(move |conn| {
            let (sql, first, second) = match &scope {
                EventScope::Client {
                    client_key_id,
                    request_id: Some(request_id),
                } => (
                    "WHERE request_id = ?3 AND client_key_id = ?4 AND id > ?1",
                    Some(request_id.clone()),
                    Some(client_key_id.clone()),
                ),
                EventScope::Client { client_key_id, .. } => (
                    "WHERE client_key_id = ?3 AND id > ?1 AND ?4 IS NULL",
                    Some(client_key_id.clone()),
                    None,
                ),
                EventScope::Expert { expert_id } => (
                    "WHERE expert_id = ?3 AND id > ?1 AND ?4 IS NULL",
                    Some(expert_id.clone()),
                    None,
                ),
                EventScope::All => ("WHERE id > ?1 AND ?3 IS NULL AND ?4 IS NULL", None, None),
            };
            let mut stmt =
                conn.prepare_cached(&format!("{EVENT_SELECT} {sql} ORDER BY id LIMIT ?2"))?;
            let rows = stmt.query_map(params![after, limit, first, second], event_row)?;
            let mut events = Vec::new();
            let mut scanned = None;
            for row in rows {
                let event = row?;
                scanned = Some(event.id);
                if scope.contains(&event) {
                    events.push(event);
                }
            }
            Ok((events, scanned))
        })
        .await
    }

    /// The highest log position pruned by retention (0 when nothing was).
    pub(crate) async fn pruned_through(&self) -> Result<i64, StoreError> {
        self.read_point(|conn| {
            Ok(conn.query_row("SELECT pruned_through FROM event_log", [], |r| r.get(0))?)
        })
        .await
    }

    /// Deletes events appended before `before` and records how far the log was pruned.
    pub(crate) async fn prune_events(&self, before: Millis) -> Result<u64, StoreError> {
        self.write(move |conn| {
            let through: Option<i64> = conn.query_row(
                "SELECT MAX(id) FROM events WHERE created_at < ?1",
                [before],
                |r| r.get(0),
            )?;
            let Some(through) = through else {
                return Ok(0);
            };
            let deleted = conn.execute("DELETE FROM events WHERE id <= ?1", [through])?;
            conn.execute(
                "UPDATE event_log SET pruned_through = MAX(pruned_through, ?1)",
                [through],
            )?;
            Ok(deleted as u64)
        })
        .await
    }

    /// Publishes on the bus the events other processes appended to the log (a CLI command on
    /// the same database) since the bus's cursor, in log order; returns how many. Holding the
    /// bus's publisher keeps this in order with the writer's own publications.
    pub(crate) async fn catch_up(&self) -> Result<usize, StoreError> {
        let mut publisher = self.inner.bus.publisher().await;
        let mut published = 0;
        loop {
            let after = publisher.cursor();
            let page = self
                .read_point(move |conn| {
                    let mut page = Vec::new();
                    log_after(conn, after, Some(CATCH_UP_PAGE), |event| page.push(event))?;
                    Ok(page)
                })
                .await?;
            let more = page.len() == CATCH_UP_PAGE as usize;
            for event in page {
                published += usize::from(publisher.publish(event));
            }
            if !more {
                return Ok(published);
            }
        }
    }
}

/// Events read per query when catching up.
const CATCH_UP_PAGE: u32 = 1024;

/// Hands every event after `after` to `each`, in log order, at most `limit` of them.
pub(super) fn log_after(
    conn: &Connection,
    after: i64,
    limit: Option<u32>,
    mut each: impl FnMut(LoggedEvent),
) -> SqlResult<()> {
    let mut stmt = conn.prepare_cached(&format!(
        "{EVENT_SELECT} WHERE id > ?1 ORDER BY id LIMIT ?2"
    ))?;
    // A negative limit is no limit.
    let limit = limit.map_or(-1, i64::from);
    for row in stmt.query_map(params![after, limit], event_row)? {
        each(row?);
    }
    Ok(())
}
