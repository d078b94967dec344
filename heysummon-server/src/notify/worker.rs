//! One channel's worker: it sends the channel's outbox items in order and marks them delivered
//! after the service accepted them, a few at a time, so a crash (kill -9 included) sends an
//! item again rather than never: at least once, in order per channel. A failed item holds its
//! channel back until a retry succeeds, with the one backoff of the workspace (full jitter,
//! never sooner than the service's own `retry_after`). An update or a reminder the service
//! refuses for good (the message was deleted, say) is given up, not retried forever: it must
//! not hold back the notifications behind it.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use super::delivery::{Deliverer, notice_about};
use super::outbound::SendError;
use super::spec::{ChannelKind, Stored};
use super::transport;
use crate::clock::Millis;
use crate::store::{ChannelRecord, Delivered, OutboxItem, OutboxKind, StoreError};

/// Items a worker reads and marks delivered at a time: after a crash, at most this many are
/// sent again.
const BATCH: u32 = 16;

/// A worker renews its channel's lease this often while it sends.
const RENEW_EVERY_MS: Millis = 10_000;

/// The lease that makes one instance at a time deliver a channel (several instances on one
/// database): its name, and how long it lasts (longer than one call can take).
fn lease(deliverer: &Deliverer, channel_id: &str) -> (String, Millis) {
    let call_ms = deliverer
        .state
        .config
        .channels
        .timeout_secs
        .saturating_mul(1000);
    let ms = i64::try_from(call_ms.saturating_mul(2))
        .unwrap_or(i64::MAX)
        .max(30_000);
    (format!("channel:{channel_id}"), ms)
}

/// Takes or renews the channel's lease for this instance; `false` when another holds it.
/// Without other instances (SQLite), there is nothing to take.
async fn hold(deliverer: &Deliverer, channel_id: &str) -> Result<bool, StoreError> {
    let state = &deliverer.state;
    if !state.store.is_shared() {
        return Ok(true);
    }
    let (name, ms) = lease(deliverer, channel_id);
    let now = state.clock.now();
    state
        .store
        .take_lease(&name, &state.instance_id, now.saturating_add(ms), now)
        .await
}

/// Takes the channel off the running list when the worker ends, however it ends (a panic
/// included), so the supervisor starts a new one for what comes next.
struct Running<'a> {
    deliverer: &'a Deliverer,
    channel_id: &'a str,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.deliverer
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(self.channel_id);
    }
}

/// Delivers one channel's items until its outbox is empty (or the channel is paused or gone).
pub(super) async fn work(deliverer: Arc<Deliverer>, channel_id: String, wake: Arc<Notify>) {
    let _running = Running {
        deliverer: &deliverer,
        channel_id: &channel_id,
    };
    let state = &deliverer.state;
    let shutdown = state.shutdown.clone();
    loop {
        let round = async {
            let channel = match state.store.channel(&channel_id).await? {
                Some(channel) if !channel.paused => channel,
                _ => return Ok::<_, StoreError>(None),
            };
            // Another instance delivers this channel now: leave it to that one.
            if !hold(&deliverer, &channel_id).await? {
                return Ok(None);
            }
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
        // A round is not abandoned at shutdown: it stops between items and records what was
        // sent (see `send_batch`).
        match round.await {
            Ok(Some(wait)) if wait.is_zero() => {}
            Ok(Some(wait)) => {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                    () = wake.notified() => {}
                }
            }
            Ok(None) if !state.store.is_shared() => return,
            Ok(None) => {
                let (name, _) = lease(&deliverer, &channel_id);
                // Given up at once, so another instance can take new items without waiting.
                if let Err(error) = state.store.release_lease(&name, &state.instance_id).await {
                    tracing::warn!(%error, "cannot give a channel's lease up");
                }
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
        if shutdown.is_cancelled() {
            return;
        }
    }
}

/// Sends items in order until one fails, the store fails or the server stops; then records
/// what was delivered and the failure, whatever happened.
async fn send_batch(
    deliverer: &Deliverer,
    channel: &ChannelRecord,
    items: Vec<OutboxItem>,
) -> Result<(), StoreError> {
    let state = &deliverer.state;
    let shutdown = &state.shutdown;
    let mut delivered = Vec::new();
    let mut failure = None;
    let mut outcome = Ok(());
    // The messages this batch created: an update later in the batch edits them.
    let mut sent_now: HashMap<String, String> = HashMap::new();
    let mut renewed = state.clock.now();
    for item in items {
        if state.clock.now().saturating_sub(renewed) >= RENEW_EVERY_MS {
            match hold(deliverer, &channel.id).await {
                Ok(true) => renewed = state.clock.now(),
                // Lost to another instance (this one stalled): stop, it delivers from here.
                Ok(false) => break,
                Err(error) => {
                    outcome = Err(error);
                    break;
                }
            }
        }
        let sent = tokio::select! {
            // Stopping mid-send: that item goes again after the restart.
            () = shutdown.cancelled() => break,
            sent = deliver_item(deliverer, channel, &item, &sent_now) => sent,
        };
        match sent {
            Err(error) => {
                outcome = Err(error);
                break;
            }
            Ok(Ok(external_id)) => {
                crate::telemetry::channel_delivery(&channel.kind, "delivered");
                if let Some(id) = &external_id {
                    sent_now.insert(item.request_id.clone(), id.clone());
                }
                delivered.push(Delivered {
                    outbox_id: item.id,
                    request_id: item.request_id,
                    external_id,
                });
            }
            Ok(Err(error)) if error.permanent && item.kind != OutboxKind::New => {
                crate::telemetry::channel_delivery(&channel.kind, "given_up");
                tracing::warn!(channel = %channel.id, kind = %channel.kind, error = %error.message,
                    "a channel refused an update or reminder for good; it is not retried");
                delivered.push(Delivered {
                    outbox_id: item.id,
                    request_id: item.request_id,
                    external_id: None,
                });
            }
            Ok(Err(error)) => {
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
        if shutdown.is_cancelled() {
            break;
        }
    }
    state
        .store
        .record_deliveries(&channel.id, delivered, failure, state.clock.now())
        .await?;
    outcome
}

/// Sends one item: `Ok(Ok(message id))` when delivered or when there was nothing left to
/// send (the request is gone, or ended before a reminder), `Ok(Err(_))` when the channel
/// failed.
async fn deliver_item(
    deliverer: &Deliverer,
    channel: &ChannelRecord,
    item: &OutboxItem,
    sent_now: &HashMap<String, String>,
) -> Result<Result<Option<String>, SendError>, StoreError> {
    let store = &deliverer.state.store;
    let Some(request) = store.request(&item.request_id).await? else {
        return Ok(Ok(None));
    };
    // Only what the channel's own expert may see.
    if request.expert_id != channel.expert_id {
        return Ok(Ok(None));
    }
    let stale = item.kind == OutboxKind::Reminder
        && (request.responded_at.is_some() || request.status.is_terminal());
    let Some(kind) = ChannelKind::parse(&channel.kind).filter(|_| !stale) else {
        return Ok(Ok(None));
    };
    let existing = match (item.kind, sent_now.get(&request.id)) {
        (OutboxKind::Update, Some(id)) => Some(id.clone()),
        (OutboxKind::Update, None) => store.channel_message(&channel.id, &request.id).await?,
        _ => None,
    };
    let delivery_id = format!("{}_{}", channel.id, item.id);
    let notice = notice_about(&deliverer.state, &request, item.kind.into(), delivery_id).await?;
    let stored = Stored::parse(&channel.settings, &channel.secrets);
    let senders = deliverer.senders();
    let sent = transport::deliver(senders, kind, &stored, &notice, existing.as_deref()).await;
    Ok(sent.map(|sent| match item.kind {
        OutboxKind::New => sent.and_then(|s| s.external_id),
        _ => None,
    }))
}
