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
//! their WAL flushes). A sequencer pass then moves what the inbox holds into `events`, in stamp
//! order, in one transaction under an advisory lock: positions are handed out only there, and
//! passes commit one after the other, so positions become visible in order. A pass moves every
//! event committed before it began, so its cost is shared by all of them. The pass commits
//! synchronously: were it lost in a crash, the sequence could hand out again positions that
//! readers saw.
//!
//! Each instance's event listener runs a pass before each scan of the log, and at least every
//! second; so writers wait for one pass (see `events.rs`), and what an instance that died left
//! in the inbox is moved by the others. An inbox row's stamp comes from the log's own counter:
//! it orders a request's events, and is what the request records as its latest status and
//! expert events.

use crate::store::NewEvent;

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
/// instances; returns how many. One statement (the function `heysummon_sequence_events` of
/// migration 0003, its lock key `0x4845_5953_554d_0002`), so the pass commits or rolls back on
/// its own, whatever becomes of the caller: a connection never goes back to a pool inside a
/// pass. Cheap when the inbox is empty (one read, no lock).
pub(crate) async fn sequence(
    client: &tokio_postgres::Client,
) -> Result<u64, tokio_postgres::Error> {
    let began = std::time::Instant::now();
    let moved: i64 = client
        .query_one("SELECT heysummon_sequence_events()", &[])
        .await?
        .get(0);
    if moved > 0 {
        crate::telemetry::commit(began.elapsed());
    }
    Ok(u64::try_from(moved).unwrap_or(0))
}
