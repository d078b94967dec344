//! Events: the polling feed `GET /api/v1/events/pending` with `POST /api/v1/events/ack/:id`
//! (part A), and the payloads of the real-time stream and Mercure hub (part B1).

mod feed;
mod stream;

#[cfg(test)]
mod tests;

pub use feed::{
    CancelledEvent, EventAckResponse, ExpertRequestEvent, NewMessageEvent,
    NotificationAcknowledgedEvent, NotificationExpiredEvent, PendingEvent, PendingEventsResponse,
    UnknownEvent,
};
pub use stream::{
    EventType, KEEP_ALIVE_SECS, LAST_EVENT_ID_EARLIEST, LAST_EVENT_ID_HEADER, LAST_EVENT_ID_QUERY,
    StreamEvent, expert_topic, request_topic,
};
