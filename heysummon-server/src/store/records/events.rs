//! The event log: what is appended, what is read back, and who wants which events.

use crate::clock::Millis;

/// An event to append to the log: ids, type and status, never content.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// Event type (`new_request`, `responded`, …).
    pub event_type: &'static str,
    /// The request.
    pub request_id: String,
    /// Its client key (for consumer subscriptions).
    pub client_key_id: String,
    /// Its expert (for expert subscriptions).
    pub expert_id: String,
    /// The JSON payload.
    pub payload: String,
    /// Append time.
    pub created_at: Millis,
}

/// An event as the log stored it, with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Position in the log (the SSE `id:`); strictly increasing.
    pub id: i64,
    /// Event type (`new_request`, `responded`, …).
    pub event_type: String,
    /// The request.
    pub request_id: String,
    /// Its client key.
    pub client_key_id: String,
    /// Its expert.
    pub expert_id: String,
    /// The JSON payload (ids, type, status; never content).
    pub payload: String,
    /// Append time.
    pub created_at: Millis,
}

/// Which events a reader of the log wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventScope {
    /// The requests of one client key, optionally only one of them.
    Client {
        /// The client key.
        client_key_id: String,
        /// Only this request.
        request_id: Option<String>,
    },
    /// The requests routed to one expert.
    Expert {
        /// The expert.
        expert_id: String,
    },
    /// Everything (a Mercure subscriber authorised by JWT filters topics itself).
    All,
}

impl EventScope {
    /// Whether an event is in scope.
    pub fn contains(&self, event: &LoggedEvent) -> bool {
        match self {
            Self::Client {
                client_key_id,
                request_id,
            } => {
                event.client_key_id == *client_key_id
                    && request_id.as_ref().is_none_or(|id| event.request_id == *id)
            }
            Self::Expert { expert_id } => event.expert_id == *expert_id,
            Self::All => true,
        }
    }
}
