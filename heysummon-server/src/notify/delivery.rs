//! The delivery task (PROTOCOL F2), owned by the [`crate::Application`]: it turns the event log
//! into outbox items (from a persisted cursor, in the same transaction that moves it), queues
//! reminders, and runs one worker per channel with due items (see [`super::worker`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use heysummon_sdk::backoff::BackoffPolicy;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::content::{Notice, Occasion};
use super::transport::Senders;
use crate::clock::Millis;
use crate::state::AppState;
use crate::store::{EventScope, StoreError};

/// Events turned into outbox items per transaction.
const DISPATCH_PAGE: u32 = 512;
/// How often the task looks again without being woken (what other processes queued,
/// retries that came due, reminders).
const TICK: Duration = Duration::from_millis(500);
/// How often reminders are looked for.
const REMINDER_EVERY_MS: Millis = 10_000;

/// The shared part of the delivery task.
#[derive(Debug)]
pub(crate) struct Deliverer {
    pub(super) state: AppState,
    pub(super) policy: BackoffPolicy,
    /// The channels with a running worker, and how to wake each.
    pub(super) running: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Deliverer {
    pub(crate) fn new(state: AppState) -> Self {
        let config = &state.config.channels;
        let policy = BackoffPolicy::new(
            Duration::from_millis(config.retry_initial_ms),
            Duration::from_secs(config.retry_max_secs),
            2,
        );
        Self {
            policy,
            running: Mutex::default(),
            state,
        }
    }

    pub(super) fn senders(&self) -> Senders<'_> {
        Senders {
            out: &self.state.outbound,
            config: &self.state.config.channels,
            now_secs: self.state.clock.now() / 1000,
        }
    }
}

/// Runs the delivery task until shutdown.
pub(crate) async fn run(state: AppState) {
    let deliverer = Arc::new(Deliverer::new(state.clone()));
    let shutdown = state.shutdown.clone();
    let mut feed = state.store.subscribe(&EventScope::All);
    let mut workers = JoinSet::new();
    let mut reminded_at: Millis = 0;
    loop {
        if let Err(error) = dispatch(&state).await {
            tracing::warn!(%error, "could not queue channel notifications");
        }
        let now = state.clock.now();
        let reminder_ms = state
            .config
            .channels
            .reminder_after_secs
            .saturating_mul(1000);
        if reminder_ms > 0 && now.saturating_sub(reminded_at) >= REMINDER_EVERY_MS {
            reminded_at = now;
            let since = now.saturating_sub(i64::try_from(reminder_ms).unwrap_or(i64::MAX));
            if let Err(error) = state.store.queue_reminders(since, now).await {
                tracing::warn!(%error, "could not queue reminders");
            }
        }
        match state.store.channels_due(now).await {
            Ok(due) => {
                for channel_id in due {
                    start_or_wake(&deliverer, &mut workers, channel_id);
                }
            }
            Err(error) => tracing::warn!(%error, "could not read the channels' outboxes"),
        }
        while workers.try_join_next().is_some() {}
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = feed.recv() => {}
            () = tokio::time::sleep(TICK) => {}
        }
    }
    while workers.join_next().await.is_some() {}
}

/// Turns everything the log has into outbox items.
async fn dispatch(state: &AppState) -> Result<(), StoreError> {
    loop {
        let (_, read) = state
            .store
            .dispatch_events(state.clock.now(), DISPATCH_PAGE)
            .await?;
        if read < DISPATCH_PAGE {
            return Ok(());
        }
    }
}

fn start_or_wake(deliverer: &Arc<Deliverer>, workers: &mut JoinSet<()>, channel_id: String) {
    let mut running = deliverer
        .running
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(wake) = running.get(&channel_id) {
        wake.notify_one();
        return;
    }
    let wake = Arc::new(Notify::new());
    running.insert(channel_id.clone(), Arc::clone(&wake));
    workers.spawn(super::worker::work(Arc::clone(deliverer), channel_id, wake));
}

/// The notice about a request, with its client key's and expert's names.
pub(crate) async fn notice_about(
    state: &AppState,
    request: &crate::store::RequestRecord,
    occasion: Occasion,
    delivery_id: String,
) -> Result<Notice, StoreError> {
    let store = &state.store;
    let key_name = store
        .client_keys_of(&request.expert_id)
        .await?
        .into_iter()
        .find(|key| key.id == request.client_key_id)
        .and_then(|key| key.name)
        .unwrap_or_else(|| "an agent".to_owned());
    let expert_name = store
        .expert(&request.expert_id)
        .await?
        .map(|expert| expert.name)
        .unwrap_or_default();
    Ok(Notice::about(
        request,
        occasion,
        delivery_id,
        key_name,
        expert_name,
        &state.config.base_url(),
    ))
}
