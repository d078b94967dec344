//! The event bus: tells live subscribers that the event log grew, separately from the store's
//! writer.
//!
//! The log (in the store) is the source of truth; the bus only remembers how far it has
//! published (its cursor) and fans what it publishes out to per-topic subscribers. Its one
//! primitive is "the log grew: re-read it from my cursor": a publisher takes the bus's
//! [`Publisher`] (one at a time, so publications never interleave), reads the log after
//! [`Publisher::cursor`] and hands each event over in log order. Events at or before the
//! cursor are ignored, so two sources that learn of the same append (the writer that made it
//! and a catch-up pass) publish it once.
//!
//! With SQLite the writer thread publishes after each commit and a periodic catch-up publishes
//! what other processes appended; with PostgreSQL a LISTEN/NOTIFY listener does the same when
//! another instance appends.

mod hub;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::{Mutex, MutexGuard};

pub use hub::Feed;
use hub::Hub;

use crate::store::{EventScope, LoggedEvent};

/// Live fan-out of appended events with a "last published" cursor. Cheap to clone; clones
/// share one bus.
#[derive(Clone, Debug, Default)]
pub struct EventBus {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    hub: Hub,
    /// The newest published log position; held while publishing.
    cursor: Mutex<i64>,
    /// A copy of `cursor` readable without the lock.
    published: AtomicI64,
}

impl EventBus {
    /// A bus that has published nothing (cursor 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// A live feed of the published events in `scope`, in log order; it wakes only for those.
    /// A receiver that lags behind gets `RecvError::Lagged` and should re-read the log from
    /// the store.
    pub fn subscribe(&self, scope: &EventScope) -> Feed {
        self.shared.hub.subscribe(scope)
    }

    /// The newest log position published to live subscribers.
    pub fn last_event_id(&self) -> i64 {
        self.shared.published.load(Ordering::Acquire)
    }

    /// The right to publish, waiting for the current publisher to finish.
    pub async fn publisher(&self) -> Publisher<'_> {
        Publisher {
            cursor: self.shared.cursor.lock().await,
            shared: &self.shared,
        }
    }

    /// [`Self::publisher`] for a thread outside the async runtime (the SQLite writer).
    ///
    /// # Panics
    ///
    /// When called from asynchronous code (use [`Self::publisher`] there).
    pub fn blocking_publisher(&self) -> Publisher<'_> {
        Publisher {
            cursor: self.shared.cursor.blocking_lock(),
            shared: &self.shared,
        }
    }
}

/// The exclusive right to publish on an [`EventBus`]: read the log after [`Self::cursor`] and
/// hand every event over, in log order.
#[derive(Debug)]
pub struct Publisher<'a> {
    cursor: MutexGuard<'a, i64>,
    shared: &'a Shared,
}

impl Publisher<'_> {
    /// The newest published log position; read the log after it.
    pub fn cursor(&self) -> i64 {
        *self.cursor
    }

    /// Publishes an event read from the log. Returns `false`, publishing nothing, when the
    /// event is at or before the cursor (someone published it already).
    pub fn publish(&mut self, event: LoggedEvent) -> bool {
        if event.id <= *self.cursor {
            return false;
        }
        self.advance(event.id);
        self.shared.hub.publish(event);
        true
    }

    /// Moves the cursor forward to `position` without publishing (a store opening on a log
    /// that already has events: they are history, not news). Never moves it back.
    pub fn skip_to(&mut self, position: i64) {
        if position > *self.cursor {
            self.advance(position);
        }
    }

    fn advance(&mut self, position: i64) {
        *self.cursor = position;
        self.shared.published.store(position, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn event(id: i64) -> LoggedEvent {
        LoggedEvent {
            id,
            event_type: "responded".into(),
            request_id: "r".into(),
            client_key_id: "k".into(),
            expert_id: "e".into(),
            payload: "{}".into(),
            created_at: 0,
        }
    }

    #[tokio::test]
    async fn publishes_each_position_once_and_in_order() {
        let bus = EventBus::new();
        let mut feed = bus.subscribe(&EventScope::All);
        {
            let mut publisher = bus.publisher().await;
            assert_eq!(publisher.cursor(), 0);
            assert!(publisher.publish(event(1)));
            assert!(publisher.publish(event(3)));
            // A second source re-reading from an older cursor repeats nothing.
            assert!(!publisher.publish(event(2)));
            assert!(!publisher.publish(event(3)));
        }
        assert_eq!(bus.last_event_id(), 3);
        assert_eq!(feed.try_recv().unwrap().id, 1);
        assert_eq!(feed.try_recv().unwrap().id, 3);
        assert!(feed.try_recv().is_err());
    }

    #[tokio::test]
    async fn skipping_publishes_nothing_and_never_goes_back() {
        let bus = EventBus::new();
        let mut feed = bus.subscribe(&EventScope::All);
        let mut publisher = bus.publisher().await;
        publisher.skip_to(10);
        publisher.skip_to(5);
        assert_eq!(publisher.cursor(), 10);
        assert!(!publisher.publish(event(7)));
        drop(publisher);
        assert_eq!(bus.last_event_id(), 10);
        assert!(feed.try_recv().is_err());
    }

    #[test]
    fn a_thread_outside_the_runtime_publishes_too() {
        let bus = EventBus::new();
        let mut feed = bus.subscribe(&EventScope::All);
        let other = bus.clone();
        std::thread::spawn(move || {
            other.blocking_publisher().publish(event(4));
        })
        .join()
        .unwrap();
        assert_eq!(bus.last_event_id(), 4);
        assert_eq!(feed.try_recv().unwrap().id, 4);
    }
}
