//! The delivery task (PROTOCOL F2), owned by the [`crate::Application`]: it turns the event log
//! into outbox items (from a persisted cursor, in the same transaction that moves it), queues
//! reminders, and runs one worker per channel with due items. A worker sends its channel's items
//! in outbox order and marks them delivered after they were sent, so a crash (kill -9 included)
//! sends an item again rather than never: at least once, in order per channel. A failed item
//! holds its channel back until a retry succeeds, with the one backoff of the workspace (full
//! jitter, never sooner than the channel's own `retry_after`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use heysummon_sdk::backoff::BackoffPolicy;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::content::{Notice, Occasion};
use super::outbound::SendError;
use super::spec::{ChannelKind, Stored};
use super::transport::{self, Senders};
use crate::clock::Millis;
use crate::state::AppState;
use crate::store::{ChannelRecord, Delivered, EventScope, OutboxItem, OutboxKind, StoreError};

/// Items a worker reads (and marks delivered) at a time.
const BATCH: u32 = 64;
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
    state: AppState,
    policy: BackoffPolicy,
    /// The channels with a running worker, and how to wake each.
    running: Mutex<HashMap<String, Arc<Notify>>>,
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

    fn senders(&self) -> Senders<'_> {
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
    workers.spawn(work(Arc::clone(deliverer), channel_id, wake));
}

/// Delivers one channel's items until its outbox is empty (or the channel is paused or gone).
async fn work(deliverer: Arc<Deliverer>, channel_id: String, wake: Arc<Notify>) {
    let state = &deliverer.state;
    let shutdown = state.shutdown.clone();
    loop {
        let round = async {
            let channel = match state.store.channel(&channel_id).await? {
                Some(channel) if !channel.paused => channel,
                _ => return Ok::<_, StoreError>(None),
            };
            let items = state.store.outbox_head(&channel_id, BATCH).await?;
            let Some(head) = items.first() else {
                return Ok(None);
            };
            let wait = head.next_attempt_at.saturating_sub(state.clock.now());
            if wait > 0 {
                return Ok(Some(Duration::from_millis(wait.unsigned_abs())));
            }
            send_batch(&deliverer, &channel, items).await?;
            Ok(Some(Duration::ZERO))
        };
        let next = tokio::select! {
            () = shutdown.cancelled() => return,
            next = round => next,
        };
        match next {
            Ok(Some(wait)) if wait.is_zero() => {}
            Ok(Some(wait)) => {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                    () = wake.notified() => {}
                }
            }
            Ok(None) => {
                // Done: let the supervisor start a new worker for what comes next.
                deliverer
                    .running
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&channel_id);
                return;
            }
            Err(error) => {
                tracing::warn!(%error, channel = %channel_id, "channel delivery could not read or record");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

/// Sends items in order until one fails; records what was delivered and the failure.
async fn send_batch(
    deliverer: &Deliverer,
    channel: &ChannelRecord,
    items: Vec<OutboxItem>,
) -> Result<(), StoreError> {
    let state = &deliverer.state;
    let mut delivered = Vec::new();
    let mut failure = None;
    for item in items {
        match deliver_item(deliverer, channel, &item).await? {
            Ok(external_id) => {
                crate::telemetry::channel_delivery(&channel.kind, "delivered");
                delivered.push(Delivered {
                    outbox_id: item.id,
                    request_id: item.request_id,
                    external_id,
                });
            }
            Err(error) => {
                crate::telemetry::channel_delivery(&channel.kind, "failed");
                let delay = deliverer.policy.delay(item.attempts, error.retry_after);
                let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
                tracing::warn!(channel = %channel.id, kind = %channel.kind,
                    attempt = item.attempts + 1, error = %error.message, "channel delivery failed");
                failure = Some((
                    item.id,
                    error.message,
                    state.clock.now().saturating_add(delay_ms),
                ));
                break;
            }
        }
    }
    state
        .store
        .record_deliveries(&channel.id, delivered, failure, state.clock.now())
        .await
}

/// Sends one item: `Ok(Ok(message id))` when delivered or when there was nothing left to
/// send (the request is gone, or ended before a reminder), `Ok(Err(_))` when the channel
/// failed.
async fn deliver_item(
    deliverer: &Deliverer,
    channel: &ChannelRecord,
    item: &OutboxItem,
) -> Result<Result<Option<String>, SendError>, StoreError> {
    let store = &deliverer.state.store;
    let Some(request) = store.request(&item.request_id).await? else {
        return Ok(Ok(None));
    };
    // Only what the channel's own expert may see.
    if request.expert_id != channel.expert_id {
        return Ok(Ok(None));
    }
    let stale = match item.kind {
        OutboxKind::New => false,
        OutboxKind::Reminder => request.responded_at.is_some() || request.status.is_terminal(),
        OutboxKind::Update => false,
    };
    let Some(kind) = ChannelKind::parse(&channel.kind).filter(|_| !stale) else {
        return Ok(Ok(None));
    };
    let existing = match item.kind {
        OutboxKind::Update => store.channel_message(&channel.id, &request.id).await?,
        _ => None,
    };
    let notice = notice_about(
        &deliverer.state,
        &request,
        item.kind.into(),
        format!("{}_{}", channel.id, item.id),
    )
    .await?;
    let stored = Stored::parse(&channel.settings, &channel.secrets);
    let sent = transport::deliver(
        deliverer.senders(),
        kind,
        &stored,
        &notice,
        existing.as_deref(),
    )
    .await;
    Ok(sent.map(|sent| match item.kind {
        OutboxKind::New => sent.and_then(|s| s.external_id),
        _ => None,
    }))
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
