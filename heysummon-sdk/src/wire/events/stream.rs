//! The real-time stream (part B1): the resume header and query, the Mercure topics, the event
//! types, the JSON payload of an event and its Server-Sent Events frame.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::wire::{ExpertId, MessageId, RefCode, RequestId, Sender, Status, Timestamp};

/// The request header that resumes an event stream after a given event id.
pub const LAST_EVENT_ID_HEADER: &str = "last-event-id";
/// The query parameter that does the same as [`LAST_EVENT_ID_HEADER`].
pub const LAST_EVENT_ID_QUERY: &str = "lastEventId";
/// The `Last-Event-ID` response header value of a Mercure hub that no longer retains the
/// requested id.
pub const LAST_EVENT_ID_EARLIEST: &str = "earliest";
/// The longest a stream stays silent before a keep-alive comment, in seconds.
pub const KEEP_ALIVE_SECS: u64 = 15;

/// The Mercure topic of one request: `/heysummon/requests/{requestId}`.
pub fn request_topic(request_id: &RequestId) -> String {
    format!("/heysummon/requests/{request_id}")
}

/// The Mercure topic of one expert: `/heysummon/experts/{expertId}`.
pub fn expert_topic(expert_id: &ExpertId) -> String {
    format!("/heysummon/experts/{expert_id}")
}

/// The type of a real-time event (B1): the SSE `event:` line and the `type` member of its data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// A request was created (help mode).
    NewRequest,
    /// A notification was created.
    NewNotification,
    /// A message was stored.
    NewMessage,
    /// The expert's keys were installed.
    KeysExchanged,
    /// The expert answered or decided.
    Responded,
    /// Any other status change.
    StatusChange,
    /// The request was closed.
    Closed,
    /// The request was cancelled.
    Cancelled,
    /// The request expired.
    Expired,
    /// A notification was acknowledged.
    NotificationAcknowledged,
    /// A type this version does not know.
    Unknown(String),
}

impl EventType {
    /// Every event type this version knows (no [`EventType::Unknown`]).
    pub const ALL: &'static [EventType] = &[
        Self::NewRequest,
        Self::NewNotification,
        Self::NewMessage,
        Self::KeysExchanged,
        Self::Responded,
        Self::StatusChange,
        Self::Closed,
        Self::Cancelled,
        Self::Expired,
        Self::NotificationAcknowledged,
    ];

    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::NewRequest => "new_request",
            Self::NewNotification => "new_notification",
            Self::NewMessage => "new_message",
            Self::KeysExchanged => "keys_exchanged",
            Self::Responded => "responded",
            Self::StatusChange => "status_change",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::NotificationAcknowledged => "notification_acknowledged",
            Self::Unknown(other) => other,
        }
    }

    /// Parses a wire spelling; anything unrecognised becomes [`EventType::Unknown`].
    pub fn from_wire(text: &str) -> Self {
        match text {
            "new_request" => Self::NewRequest,
            "new_notification" => Self::NewNotification,
            "new_message" => Self::NewMessage,
            "keys_exchanged" => Self::KeysExchanged,
            "responded" => Self::Responded,
            "status_change" => Self::StatusChange,
            "closed" => Self::Closed,
            "cancelled" => Self::Cancelled,
            "expired" => Self::Expired,
            "notification_acknowledged" => Self::NotificationAcknowledged,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self::from_wire(&text))
    }
}

/// The JSON `data:` of a real-time event (B1). The log position travels in the SSE `id:` line.
///
/// Payloads carry ids, types, statuses and reference codes, never message content or the
/// question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StreamEvent {
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The request it happened to.
    pub request_id: RequestId,
    /// The request's reference code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_code: Option<RefCode>,
    /// The request's status after the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The expert the request is routed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expert_id: Option<ExpertId>,
    /// The sender, for `new_message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Sender>,
    /// The message id, for `new_message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    /// When the event was appended to the log.
    pub created_at: Timestamp,
}

impl StreamEvent {
    /// An event with only its type, request and time; add the rest with the `with_*` methods.
    pub fn new(event_type: EventType, request_id: RequestId, created_at: Timestamp) -> Self {
        Self {
            event_type,
            request_id,
            ref_code: None,
            status: None,
            expert_id: None,
            from: None,
            message_id: None,
            created_at,
        }
    }

    /// Sets the reference code.
    #[must_use]
    pub fn with_ref_code(mut self, ref_code: RefCode) -> Self {
        self.ref_code = Some(ref_code);
        self
    }

    /// Sets the status after the event.
    #[must_use]
    pub fn with_status(mut self, status: Status) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets the expert.
    #[must_use]
    pub fn with_expert_id(mut self, expert_id: ExpertId) -> Self {
        self.expert_id = Some(expert_id);
        self
    }

    /// Sets the sender and id of a new message.
    #[must_use]
    pub fn with_message(mut self, from: Sender, message_id: MessageId) -> Self {
        self.from = Some(from);
        self.message_id = Some(message_id);
        self
    }

    /// The event as one Server-Sent Events frame: `id:`, `event:`, `data:` and a blank line.
    /// A type containing a line break is left out of the `event:` line (it is still in `data`).
    pub fn to_sse_frame(&self, id: u64) -> Result<String, serde_json::Error> {
        let data = serde_json::to_string(self)?;
        let event_type = self.event_type.as_str();
        Ok(if event_type.contains(['\r', '\n']) {
            format!("id: {id}\ndata: {data}\n\n")
        } else {
            format!("id: {id}\nevent: {event_type}\ndata: {data}\n\n")
        })
    }
}
