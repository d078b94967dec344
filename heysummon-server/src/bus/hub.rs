//! The live side of the event log: appended events fan out to the subscribers that asked for
//! them, per topic — one request, one client key, one expert, or everything — so an event
//! wakes only the streams and long-polls it concerns, however many others are waiting.
//!
//! Channels are small: a subscriber that falls behind gets `Lagged` and re-reads the log from
//! the store, which is the source of truth. The hub only fans out; what is published, and in
//! which order, is the [`EventBus`](super::EventBus)'s business.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::store::{EventScope, LoggedEvent};

/// Buffered events per narrow topic (a request, a key, an expert).
const TOPIC_CAPACITY: usize = 4;
/// Buffered events of the everything topic.
const ALL_CAPACITY: usize = 4096;
/// Publications and subscriptions between sweeps of topics nobody listens to any more.
const SWEEP_EVERY: u64 = 1024;

/// A live event feed.
pub type Feed = broadcast::Receiver<Arc<LoggedEvent>>;

#[derive(Debug, Default)]
struct Topics {
    channels: HashMap<String, broadcast::Sender<Arc<LoggedEvent>>>,
    published: u64,
}

/// Per-topic fan-out of appended events.
#[derive(Debug, Default)]
pub(super) struct Hub {
    topics: Mutex<Topics>,
}

fn topic_of(scope: &EventScope) -> String {
    match scope {
        EventScope::Client {
            request_id: Some(id),
            ..
        } => format!("r:{id}"),
        EventScope::Client { client_key_id, .. } => format!("k:{client_key_id}"),
        EventScope::Expert { expert_id } => format!("e:{expert_id}"),
        EventScope::All => "*".to_owned(),
    }
}

impl Hub {
    /// A feed of the events in `scope` (a client scope narrowed to one request listens to that
    /// request only).
    pub(super) fn subscribe(&self, scope: &EventScope) -> Feed {
        let topic = topic_of(scope);
        let capacity = if topic == "*" {
            ALL_CAPACITY
        } else {
            TOPIC_CAPACITY
        };
        let mut topics = self
            .topics
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        topics
            .channels
            .entry(topic)
            .or_insert_with(|| broadcast::channel(capacity).0)
            .subscribe()
    }

    /// Sends an appended event to every topic it belongs to.
    pub(super) fn publish(&self, event: LoggedEvent) {
        let event = Arc::new(event);
        let names = [
            format!("r:{}", event.request_id),
            format!("k:{}", event.client_key_id),
            format!("e:{}", event.expert_id),
            "*".to_owned(),
        ];
        let mut topics = self
            .topics
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for name in &names {
            if let Some(channel) = topics.channels.get(name) {
                // No receiver left is not an error; the sweep below drops such topics.
                let _ = channel.send(Arc::clone(&event));
            }
        }
        topics.published += 1;
        if topics.published.is_multiple_of(SWEEP_EVERY) {
            topics
                .channels
                .retain(|_, channel| channel.receiver_count() > 0);
        }
    }

    /// How many topics have a channel (for tests and metrics).
    #[cfg(test)]
    fn topic_count(&self) -> usize {
        self.topics
            .lock()
            .map(|t| t.channels.len())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, request: &str, key: &str, expert: &str) -> LoggedEvent {
        LoggedEvent {
            id,
            event_type: "responded".into(),
            request_id: request.into(),
            client_key_id: key.into(),
            expert_id: expert.into(),
            payload: "{}".into(),
            created_at: 0,
        }
    }

    #[test]
    fn events_reach_only_their_topics() {
        let hub = Hub::default();
        let mut one = hub.subscribe(&EventScope::Client {
            client_key_id: "k1".into(),
            request_id: Some("r1".into()),
        });
        let mut key = hub.subscribe(&EventScope::Client {
            client_key_id: "k1".into(),
            request_id: None,
        });
        let mut other_expert = hub.subscribe(&EventScope::Expert {
            expert_id: "e2".into(),
        });
        let mut all = hub.subscribe(&EventScope::All);
        hub.publish(event(1, "r1", "k1", "e1"));
        hub.publish(event(2, "r2", "k1", "e1"));
        assert_eq!(one.try_recv().unwrap().id, 1);
        assert!(one.try_recv().is_err());
        assert_eq!(key.try_recv().unwrap().id, 1);
        assert_eq!(key.try_recv().unwrap().id, 2);
        assert!(other_expert.try_recv().is_err());
        assert_eq!(all.try_recv().unwrap().id, 1);
    }

    #[test]
    fn abandoned_topics_are_swept() {
        let hub = Hub::default();
        for i in 0..10 {
            drop(hub.subscribe(&EventScope::Expert {
                expert_id: format!("e{i}"),
            }));
        }
        assert_eq!(hub.topic_count(), 10);
        for i in 0..SWEEP_EVERY {
            hub.publish(event(i as i64, "r", "k", "e"));
        }
        assert_eq!(hub.topic_count(), 0);
    }
}
