//! Positions in the event log, in commit order, without serialising the writers.
//!
//! A reader at position N must never later find a smaller position committed: an SSE stream
//! resumed with `Last-Event-ID: N` would miss it. Identity values are handed out when a row is
//! inserted, not when its transaction commits, so a writer that appended straight to `events`
//! had to hold a lock from its insert through its commit (WAL flush included): one writer at a
//! time, about a millisecond each.
//!
//! Instead a writer inserts its events into `event_inbox`, like any other row of its
//! transaction, and commits side by side with the others (PostgreSQL's group commit shares
//! their WAL flushes). A sequencer then moves what the inbox holds into `events`, in stamp
//! order, in one transaction under the append lock: positions are handed out only there, and
//! sequencer transactions commit one after the other, so positions become visible in order. A
//! pass moves every event committed before it began, so its cost is shared by all of them.
//!
//! Each instance's event listener runs a pass before each scan of the log, and at least every
//! second; so writers wait for one pass (see `events.rs`), and what an instance that died left
//! in the inbox is moved by the others. An inbox row's stamp comes from the log's own counter:
//! it orders a request's events, and is what the request records as its latest status and
//! expert events.

use super::events::CHANNEL;
use crate::store::NewEvent;

/// The advisory lock key that serialises sequencer passes (any constant unique to this use).
const SEQUENCER_LOCK: i64 = 0x4845_5953_554d_0002;

/// Moves the inbox into the log, oldest stamp first.
const MOVE: &str = "WITH moved AS (
        DELETE FROM event_inbox
        RETURNING seq, event_type, request_id, client_key_id, expert_id, payload, created_at
    )
    INSERT INTO events (event_type, request_id, client_key_id, expert_id, payload, created_at)
    SELECT event_type, request_id, client_key_id, expert_id, payload, created_at
    FROM moved ORDER BY seq";

/// Inserts `events` into the inbox within the writer's transaction; returns their stamps, in
/// order.
pub(super) async fn stage(
    tx: &deadpool_postgres::Transaction<'_>,
    events: &[NewEvent],
) -> Result<Vec<i64>, tokio_postgres::Error> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let insert = tx
        .prepare_cached(
            "INSERT INTO event_inbox
               (event_type, request_id, client_key_id, expert_id, payload, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
        )
        .await?;
    let mut stamps = Vec::with_capacity(events.len());
    for e in events {
        let row = tx
            .query_one(
                &insert,
                &[
                    &e.event_type,
                    &e.request_id,
                    &e.client_key_id,
                    &e.expert_id,
                    &e.payload,
                    &e.created_at,
                ],
            )
            .await?;
        stamps.push(row.get(0));
    }
    Ok(stamps)
}

/// One pass: moves every event committed to the inbox into the log and notifies the listening
/// instances; returns how many. Cheap when the inbox is empty (one read, no lock).
pub(crate) async fn sequence(
    client: &tokio_postgres::Client,
) -> Result<u64, tokio_postgres::Error> {
    let pending: bool = client
        .query_one("SELECT EXISTS (SELECT 1 FROM event_inbox)", &[])
        .await?
        .get(0);
    if !pending {
        return Ok(0);
    }
    let began = std::time::Instant::now();
    client.batch_execute("BEGIN").await?;
    let pass = async {
        client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCER_LOCK])
            .await?;
        let moved = client.execute(MOVE, &[]).await?;
        if moved > 0 {
            client
                .execute("SELECT pg_notify($1, '')", &[&CHANNEL])
                .await?;
        }
        client.batch_execute("COMMIT").await?;
        Ok::<u64, tokio_postgres::Error>(moved)
    };
    let moved = pass.await;
    if moved.is_err() {
        // Leaves the connection usable; if it is broken, the caller finds out.
        let _ = client.batch_execute("ROLLBACK").await;
    } else {
        crate::telemetry::commit(began.elapsed());
    }
    moved
}
