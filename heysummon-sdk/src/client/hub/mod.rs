//! One event stream per client, shared by all its waits.
//!
//! A wait used to open `GET /api/v1/events/stream?requestId=ID` for itself: a connection, its
//! buffers and a parser for every waiting ask. Now the waits of a client (and of its clones)
//! subscribe to one stream of the client key, which carries the events of all the key's requests
//! (PROTOCOL A), and a task of the hub reads it and hands each event to the waits of its request.
//!
//! A subscription behaves like a connection of its own, so the waiting logic in [`super::wait`]
//! decides exactly as before:
//! - it starts with `Connected` once the shared connection is up (at once when it already is);
//! - it gets the events of its request (and any event whose request cannot be read), and a
//!   keep-alive whenever it looks and the shared connection has shown signs of life since it
//!   last looked (see [`Subscription`]);
//! - it gets the error that ends the shared connection, and then ends. A failure at connect
//!   reaches it as a failure at connect (a 404 still means "no stream here, fall back").
//!
//! Reconnecting stays the waits' decision, with their backoff: after a failure, the next
//! subscription makes the hub connect again, resuming after the last event id it saw. The hub
//! also ends a connection that has been silent for longer than the longest liveness window its
//! subscribers asked for (each wait judges its own window from the connection's signs of life).
//! With no subscriber left the connection is kept for [`LINGER`] (a loop that asks and waits
//! reuses it), then closed, and the task ends until the next subscription.
//!
//! `driver.rs` is the task that reads the stream; `mailbox.rs` a subscription's queue;
//! `failure.rs` how one error reaches every subscriber.

mod driver;
mod failure;
mod mailbox;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use super::sse::SseStream;
use super::transport::SseItem;
use crate::Error;
use crate::wire::RequestId;
use mailbox::Mailbox;
pub(crate) use mailbox::Subscription;

/// How long the connection is kept after the last subscriber left.
pub(crate) const LINGER: Duration = Duration::from_secs(10);

/// Opens one connection of the shared stream, resuming after the given event id.
pub(crate) type Connect = Box<dyn Fn(Option<&str>) -> SseStream + Send + Sync>;

/// The shared event stream of one client.
pub(crate) struct StreamHub {
    shared: Arc<Shared>,
}

/// What the hub, its task and the subscriptions share.
struct Shared {
    connect: Connect,
    state: Mutex<State>,
    /// Wakes the task: a first subscriber arrived, or the last one left.
    changed: Notify,
    /// How many items the shared connections have delivered: signs of life.
    heard: AtomicU64,
}

/// Whether the shared connection is there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// No task runs; the next subscription starts one.
    NoTask,
    /// The task runs but has no connection (after a failure, or before the first connect).
    Down,
    /// A connection is being made.
    Connecting,
    /// The connection is up: a new subscriber is connected at once.
    Up,
}

struct State {
    /// The subscribers of each request (a request may be waited on more than once).
    waits: HashMap<RequestId, Vec<(u64, Arc<Mailbox>)>>,
    /// How many subscribers `waits` holds.
    count: usize,
    next_key: u64,
    link: Link,
    /// The last event id seen, for `Last-Event-ID`; forgotten when the task ends.
    last_event_id: Option<String>,
    /// The longest liveness window asked for since the task started: the hub ends a connection
    /// silent for longer.
    idle_timeout: Option<Duration>,
}

impl StreamHub {
    /// A hub that opens its connections with `connect`. Nothing happens before the first
    /// subscription.
    pub(crate) fn new(connect: Connect) -> Self {
        Self {
            shared: Arc::new(Shared {
                connect,
                state: Mutex::new(State {
                    waits: HashMap::new(),
                    count: 0,
                    next_key: 0,
                    link: Link::NoTask,
                    last_event_id: None,
                    idle_timeout: None,
                }),
                changed: Notify::new(),
                heard: AtomicU64::new(0),
            }),
        }
    }

    /// A connection of `id`'s own on the shared stream. `idle_timeout` is the wait's liveness
    /// window; the shared connection is ended after the longest one of its subscribers. Must
    /// be called within a tokio runtime (the hub's task is spawned on it); otherwise the
    /// subscription yields a configuration error.
    pub(crate) fn subscribe(&self, id: &RequestId, idle_timeout: Duration) -> Subscription {
        let mailbox = Arc::new(Mailbox::default());
        let mut state = self.shared.lock();
        let key = state.next_key;
        state.next_key += 1;
        state
            .waits
            .entry(id.clone())
            .or_default()
            .push((key, Arc::clone(&mailbox)));
        state.count += 1;
        // The longest window asked for: each subscription judges its own window from the
        // connection's signs of life, so a short one must not cut the connection for all.
        state.idle_timeout = Some(
            state
                .idle_timeout
                .map_or(idle_timeout, |longest| longest.max(idle_timeout)),
        );
        let mut start = None;
        match state.link {
            Link::Up => mailbox.push(
                self.shared.heard(),
                Ok(SseItem::Connected { event_stream: true }),
            ),
            Link::NoTask => match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    state.link = Link::Down;
                    start = Some(runtime);
                }
                Err(_) => {
                    mailbox.push(
                        0,
                        Err(Error::config(
                            "waiting on the event stream needs a tokio runtime",
                        )),
                    );
                    mailbox.close();
                }
            },
            Link::Down | Link::Connecting => {}
        }
        let first = state.count == 1;
        drop(state);
        let subscription = Subscription::new(Arc::clone(&self.shared), id.clone(), key, mailbox);
        if let Some(runtime) = start {
            // Spawned without the state's lock: a runtime shutting down drops the task at once,
            // and its guard then ends every subscription (taking the lock).
            runtime.spawn(driver::drive(driver::Guard::new(Arc::clone(&self.shared))));
        }
        if first {
            self.shared.changed.notify_one();
        }
        subscription
    }

    /// How many subscriptions are open, and whether the shared connection is up (for tests).
    #[cfg(test)]
    fn census(&self) -> (usize, Link) {
        let state = self.shared.lock();
        (state.count, state.link)
    }
}

impl fmt::Debug for StreamHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("StreamHub")
            .field("subscribers", &state.count)
            .field("link", &state.link)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a sign of life of the shared connection.
    fn hear(&self) {
        self.heard.fetch_add(1, Ordering::Relaxed);
    }

    /// How many signs of life there were.
    fn heard(&self) -> u64 {
        self.heard.load(Ordering::Relaxed)
    }

    /// Removes a subscription (when its wait drops it).
    fn unsubscribe(&self, id: &RequestId, key: u64) {
        let mut state = self.lock();
        let Some(list) = state.waits.get_mut(id) else {
            return;
        };
        let before = list.len();
        list.retain(|(k, _)| *k != key);
        let removed = before - list.len();
        if list.is_empty() {
            state.waits.remove(id);
        }
        state.count -= removed;
        let last = removed > 0 && state.count == 0;
        drop(state);
        if last {
            self.changed.notify_one();
        }
    }
}

impl State {
    /// The task is over: the next subscription starts another, from nothing.
    fn retire(&mut self) {
        self.link = Link::NoTask;
        self.last_event_id = None;
        self.idle_timeout = None;
    }

    /// Every subscriber's mailbox.
    fn mailboxes(&self) -> impl Iterator<Item = &Arc<Mailbox>> {
        self.waits.values().flatten().map(|(_, mailbox)| mailbox)
    }

    /// Hands `item` to every subscriber (made afresh for each); it came after `heard` signs of
    /// life.
    fn broadcast(&self, heard: u64, item: impl Fn() -> Result<SseItem, Error>) {
        for mailbox in self.mailboxes() {
            mailbox.push(heard, item());
        }
    }

    /// Ends every subscription: each gets `error`, then its end; the hub forgets them all.
    fn fail_all(&mut self, heard: u64, error: impl Fn() -> Error) {
        for mailbox in self.mailboxes() {
            mailbox.push(heard, Err(error()));
            mailbox.close();
        }
        self.waits.clear();
        self.count = 0;
    }
}
