//! The hub's task: connects while there are subscribers, reads the shared stream and hands each
//! item to whom it concerns, ends every subscription when the connection fails, and stops when
//! nobody has subscribed for [`LINGER`].

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use serde::Deserialize;
use tokio::time::{Instant, timeout_at};

use super::failure::Failure;
use super::{LINGER, Link, Shared};
use crate::Error;
use crate::client::WaitOptions;
use crate::client::http::network;
use crate::client::sse::SseStream;
use crate::client::transport::{SseEvent, SseItem, resumable_event_id};
use crate::error::NetworkErrorKind;
use crate::wire::RequestId;

/// Runs until nobody has subscribed for [`LINGER`]. If the task is dropped instead (its runtime
/// shut down, even before it first ran), the guard ends every subscription so that its wait
/// reconnects through a new task.
pub(super) async fn drive(mut guard: Guard) {
    let shared = Arc::clone(&guard.shared);
    // After a connection closed for want of subscribers, the linger is over.
    let mut patience = LINGER;
    loop {
        if !demand(&shared, patience).await {
            guard.done = true;
            return;
        }
        let (resume, idle) = {
            let mut state = shared.lock();
            state.link = Link::Connecting;
            let idle = state
                .idle_timeout
                .unwrap_or_else(|| WaitOptions::default().sse_idle_timeout);
            (state.last_event_id.clone(), idle)
        };
        let stream = (shared.connect)(resume.as_deref());
        let failure = read(&shared, stream, idle).await;
        let mut state = shared.lock();
        state.link = Link::Down;
        match failure {
            Some(failure) => {
                state.fail_all(shared.heard(), || failure.copy());
                patience = LINGER;
            }
            None => patience = Duration::ZERO,
        }
    }
}

/// Waits for a subscriber: `true` once there is one, `false` (and the task is over) after
/// `patience` without.
async fn demand(shared: &Shared, patience: Duration) -> bool {
    let give_up = Instant::now() + patience;
    loop {
        let changed = shared.changed.notified();
        {
            let mut state = shared.lock();
            if state.count > 0 {
                return true;
            }
            if Instant::now() >= give_up {
                state.retire();
                return false;
            }
        }
        let _ = timeout_at(give_up, changed).await;
    }
}

/// Reads one connection until it fails (the failure every subscriber gets) or has had no
/// subscriber for [`LINGER`] (`None`).
async fn read(shared: &Shared, mut stream: SseStream, idle: Duration) -> Option<Failure> {
    let mut heard = Instant::now();
    let mut alone_since = None;
    loop {
        let changed = shared.changed.notified();
        alone_since = match (shared.lock().count, alone_since) {
            (0, None) => Some(Instant::now()),
            (0, since) => since,
            _ => None,
        };
        let silent_at = far(heard, idle);
        let until = alone_since.map_or(silent_at, |since| silent_at.min(far(since, LINGER)));
        let item = tokio::select! {
            item = timeout_at(until, stream.next()) => item,
            () = changed => continue,
        };
        let item = match item {
            Ok(Some(item)) => item,
            Ok(None) => Err(network(
                NetworkErrorKind::Interrupted,
                "the event stream ended",
            )),
            Err(_) if Instant::now() >= silent_at => Err(network(
                NetworkErrorKind::Timeout,
                "nothing on the event stream, not even a keep-alive",
            )),
            // Nobody has subscribed for a while: close quietly.
            Err(_) => return None,
        };
        heard = Instant::now();
        shared.hear();
        match item {
            Ok(item) => {
                if let Some(failure) = hand_out(shared, item) {
                    return Some(failure);
                }
            }
            Err(error) => return Some(Failure::new(error)),
        }
    }
}

/// Hands one item to the subscribers it concerns; a failure when the item ends the connection.
fn hand_out(shared: &Shared, item: SseItem) -> Option<Failure> {
    let heard = shared.heard();
    let mut state = shared.lock();
    match item {
        SseItem::Connected { event_stream: true } => {
            state.link = Link::Up;
            state.broadcast(heard, || Ok(SseItem::Connected { event_stream: true }));
        }
        SseItem::Connected {
            event_stream: false,
        } => {
            state.broadcast(heard, || {
                Ok(SseItem::Connected {
                    event_stream: false,
                })
            });
            return Some(Failure::new(Error::Protocol(
                "the event stream endpoint did not answer text/event-stream".into(),
            )));
        }
        // Recorded as a sign of life by the caller; each subscription passes it on when it looks.
        SseItem::Comment => {}
        SseItem::Event(event) => {
            if let Some(id) = event.id.as_deref().filter(|id| resumable_event_id(id)) {
                state.last_event_id = Some(id.to_owned());
            }
            match request_of(&event) {
                Some(request) => {
                    if let Some(list) = state.waits.get(&request) {
                        for (_, mailbox) in list {
                            mailbox.push(heard, Ok(SseItem::Event(event.clone())));
                        }
                    }
                }
                // An event we cannot read may concern anyone: their status checks settle it.
                None => state.broadcast(heard, || Ok(SseItem::Event(event.clone()))),
            }
        }
    }
    None
}

/// `at + by`, or a year after `at` when that overflows.
fn far(at: Instant, by: Duration) -> Instant {
    at.checked_add(by)
        .unwrap_or_else(|| at + Duration::from_secs(365 * 24 * 60 * 60))
}

/// The request an event is about, read from its JSON data.
fn request_of(event: &SseEvent) -> Option<RequestId> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct About {
        request_id: RequestId,
    }
    serde_json::from_str::<About>(&event.data)
        .ok()
        .map(|about| about.request_id)
}

/// Ends every subscription if the task is dropped before it is done.
pub(super) struct Guard {
    shared: Arc<Shared>,
    done: bool,
}

impl Guard {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            done: false,
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut state = self.shared.lock();
        state.retire();
        state.fail_all(self.shared.heard(), || {
            network(
                NetworkErrorKind::Interrupted,
                "the event stream task stopped",
            )
        });
    }
}
