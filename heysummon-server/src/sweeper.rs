//! The background sweeper: expires requests whose TTL passed and prunes nonces, old
//! idempotency records, events past their retention, and finished requests (with their
//! messages) past theirs. Reads expire lazily too; the sweeper makes expiry visible to feeds and
//! listings without anyone reading the request.

use std::time::Duration;

use crate::lifecycle::{self, Action};
use crate::state::AppState;

/// Idempotency records are kept at least this long (PROTOCOL B2 promises 24 h).
const IDEMPOTENCY_RETENTION_MS: i64 = 48 * 3600 * 1000;
const BATCH: u32 = 200;
/// At most this many batches of finished requests are deleted per sweep.
const RETENTION_BATCHES_PER_SWEEP: usize = 10;

/// One sweep; returns how many requests it expired.
pub async fn sweep_once(state: &AppState) -> Result<usize, crate::store::StoreError> {
    let now = state.clock.now();
    let mut expired = 0;
    loop {
        let due = state.store.due_for_expiry(now, BATCH).await?;
        let batch_len = due.len();
        for id in due {
            if let Some(request) = state.store.request(&id).await? {
                match lifecycle::perform(&state.store, request, Action::Expire, now).await {
                    Ok(lifecycle::Performed::Changed { .. }) => expired += 1,
                    Ok(_) => {}
                    Err(lifecycle::LifecycleError::Store(error)) => return Err(error),
                    Err(lifecycle::LifecycleError::Refused(_)) => {}
                }
            }
        }
        if batch_len < BATCH as usize {
            break;
        }
    }
    state
        .store
        .prune(now, now - IDEMPOTENCY_RETENTION_MS)
        .await?;
    state.store.prune_sign_ins(now).await?;
    state
        .store
        .prune_rate_windows(crate::ratelimit::window_start(now).saturating_sub(60_000))
        .await?;
    let millis = |secs: u64| i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    // Delivered notifications are kept as long as events: an edit after a decision finds the
    // message it edits.
    state
        .store
        .prune_channels(
            now.saturating_sub(millis(state.config.events.retention_secs)),
            now,
        )
        .await?;
    state
        .store
        .prune_events(now.saturating_sub(millis(state.config.events.retention_secs)))
        .await?;
    // A bounded number of batches per sweep, so the writer is never held for long; what is
    // left goes in the next sweep.
    let finished_before = now.saturating_sub(millis(state.config.finished_retention_secs));
    for _ in 0..RETENTION_BATCHES_PER_SWEEP {
        let deleted = state
            .store
            .delete_finished_before(finished_before, BATCH)
            .await?;
        if deleted < u64::from(BATCH) || state.shutdown.is_cancelled() {
            break;
        }
    }
    Ok(expired)
}

/// How often the write-ahead log is checkpointed.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Store upkeep while the server serves, until shutdown: checkpoints the write-ahead log
/// (so commits never pay for a checkpoint themselves) and publishes to live subscribers the
/// events other processes appended (a CLI command run against the same database).
pub async fn run_checkpoints(state: AppState) {
    loop {
        if let Err(error) = state.store.checkpoint().await {
            tracing::warn!(%error, "checkpoint failed");
        }
        if let Err(error) = state.store.catch_up().await {
            tracing::warn!(%error, "publishing external events failed");
        }
        tokio::select! {
            () = state.shutdown.cancelled() => break,
            () = tokio::time::sleep(CHECKPOINT_EVERY) => {}
        }
    }
    // The last checkpoint is the application's, once every background task has written its
    // last (see `Application::run_until_stopped`).
}

/// How often recorded metrics are folded (see [`crate::telemetry::upkeep`]).
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Folds recorded metrics periodically until shutdown.
pub async fn run_metrics_upkeep(shutdown: tokio_util::sync::CancellationToken) {
    loop {
        crate::telemetry::upkeep();
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(METRICS_UPKEEP_EVERY) => {}
        }
    }
}

/// The lease that makes one instance at a time the sweeper.
const SWEEPER_LEASE: &str = "sweeper";

/// Runs sweeps at the configured interval until shutdown, while this instance holds the
/// sweeper's lease (several instances on one database: one sweeps; another takes over within
/// two intervals of its end).
pub async fn run(state: AppState) {
    let interval = Duration::from_secs(state.config.sweep_interval_secs);
    let lease_ms = i64::try_from(interval.as_millis().saturating_mul(2)).unwrap_or(i64::MAX);
    loop {
        let now = state.clock.now();
        let held = state
            .store
            .take_lease(
                SWEEPER_LEASE,
                &state.instance_id,
                now.saturating_add(lease_ms),
                now,
            )
            .await;
        match held {
            Ok(true) => match sweep_once(&state).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "expired requests"),
                Err(error) => tracing::warn!(%error, "sweep failed"),
            },
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "cannot take the sweeper's lease"),
        }
        tokio::select! {
            () = state.shutdown.cancelled() => break,
            () = tokio::time::sleep(interval) => {}
        }
    }
    if let Err(error) = state
        .store
        .release_lease(SWEEPER_LEASE, &state.instance_id)
        .await
    {
        tracing::warn!(%error, "cannot give the sweeper's lease up");
    }
}
