//! The event log: paging through it by scope, pruning it, and publishing on the bus what any
//! instance appended.

use super::rows::{EVENT_SELECT, event_row};
use super::{PgStore, pg};
use crate::clock::Millis;
use crate::store::{EventScope, LoggedEvent, StoreError};

/// Events read per query when catching up.
const CATCH_UP_PAGE: i64 = 1024;

impl PgStore {
    pub(crate) async fn events_after(
        &self,
        after: i64,
        scope: EventScope,
        limit: u32,
    ) -> Result<(Vec<LoggedEvent>, Option<i64>), StoreError> {
        let (filter, value) = match &scope {
            EventScope::Client {
                request_id: Some(request_id),
                ..
            } => ("AND request_id = $3", Some(request_id.clone())),
            EventScope::Client { client_key_id, .. } => {
                ("AND client_key_id = $3", Some(client_key_id.clone()))
            }
            EventScope::Expert { expert_id } => ("AND expert_id = $3", Some(expert_id.clone())),
            EventScope::All => ("AND $3::TEXT IS NULL", None),
        };
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "{EVENT_SELECT} WHERE id > $1 {filter} ORDER BY id LIMIT $2"
            ))
            .await
            .map_err(pg)?;
        let rows = client
            .query(&statement, &[&after, &i64::from(limit), &value])
            .await
            .map_err(pg)?;
        let mut events = Vec::new();
        let mut scanned = None;
        for row in rows {
            let event = event_row(&row);
            scanned = Some(event.id);
            if scope.contains(&event) {
                events.push(event);
            }
        }
        Ok((events, scanned))
    }

    pub(crate) async fn pruned_through(&self) -> Result<i64, StoreError> {
        let row = self
            .client()
            .await?
            .query_one("SELECT pruned_through FROM event_log", &[])
            .await
            .map_err(pg)?;
        Ok(row.get(0))
    }

    pub(crate) async fn prune_events(&self, before: Millis) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let row = tx
            .query_one(
                "SELECT MAX(id) FROM events WHERE created_at < $1",
                &[&before],
            )
            .await
            .map_err(pg)?;
        let Some(through) = row.get::<_, Option<i64>>(0) else {
            return Ok(0);
        };
        let deleted = tx
            .execute("DELETE FROM events WHERE id <= $1", &[&through])
            .await
            .map_err(pg)?;
        tx.execute(
            "UPDATE event_log SET pruned_through = GREATEST(pruned_through, $1)",
            &[&through],
        )
        .await
        .map_err(pg)?;
        super::commit(tx).await?;
        Ok(deleted)
    }

    /// Publishes on the bus, in log order, what the log holds past the bus's cursor; returns
    /// how many. Holding the bus's publisher keeps concurrent catch-ups in order.
    pub(crate) async fn catch_up(&self) -> Result<usize, StoreError> {
        let client = self.client().await?;
        catch_up_on(self, &client).await
    }
}

/// [`PgStore::catch_up`] on a given connection (the listener's own, so publishing never waits
/// for the pool).
pub(super) async fn catch_up_on(
    store: &PgStore,
    client: &tokio_postgres::Client,
) -> Result<usize, StoreError> {
    let statement = client
        .prepare(&format!(
            "{EVENT_SELECT} WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .await
        .map_err(pg)?;
    let mut publisher = store.bus().publisher().await;
    let mut published = 0;
    loop {
        let rows = client
            .query(&statement, &[&publisher.cursor(), &CATCH_UP_PAGE])
            .await
            .map_err(pg)?;
        let more = rows.len() as i64 == CATCH_UP_PAGE;
        for row in rows {
            published += usize::from(publisher.publish(event_row(&row)));
        }
        if !more {
            crate::telemetry::events_appended(published);
            return Ok(published);
        }
    }
}
