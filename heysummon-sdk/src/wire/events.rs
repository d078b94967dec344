//! Events: the polling feed `GET /api/v1/events/pending` with `POST /api/v1/events/ack/:id`
//! (part A), and the payloads of the real-time stream and Mercure hub (part B1).

use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Serialize};

use super::common::null_as_default;
use super::{ApprovalDecision, ExpertId, MessageId, RefCode, RequestId, Sender, Status, Timestamp};

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

/// The answer to `GET /api/v1/events/pending`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingEventsResponse {
    /// The events, in the order the server lists them.
    pub events: Vec<PendingEvent>,
    /// HeySummon only: `true` when the expert is outside their availability window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<bool>,
}

/// One event of the polling feed, tagged by its `type` member.
///
/// A `type` this version does not know parses as [`PendingEvent::Unknown`], keeping its members.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PendingEvent {
    /// `new_request` (expert side): a request waiting for this expert.
    NewRequest(ExpertRequestEvent),
    /// `new_notification` (expert side): a notification waiting to be acknowledged.
    NewNotification(ExpertRequestEvent),
    /// `new_message` (consumer side): the expert wrote since the last ack.
    NewMessage(NewMessageEvent),
    /// `cancelled` (consumer side): the request was cancelled.
    Cancelled(CancelledEvent),
    /// `notification_acknowledged` (consumer side).
    NotificationAcknowledged(NotificationAcknowledgedEvent),
    /// `notification_expired` (consumer side).
    NotificationExpired(NotificationExpiredEvent),
    /// An event type this version does not know.
    Unknown(UnknownEvent),
}

/// A `new_request` or `new_notification` event for an expert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpertRequestEvent {
    /// The request.
    pub request_id: RequestId,
    /// Its reference code.
    pub ref_code: RefCode,
    /// The plaintext question; absent for a sealed question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// Whether the expert is asked to approve or deny.
    #[serde(default, deserialize_with = "null_as_default")]
    pub requires_approval: bool,
    /// The decision, if one was made.
    #[serde(default)]
    pub approval_decision: Option<ApprovalDecision>,
    /// How many messages the request has.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message_count: u32,
    /// The consumer's Ed25519 public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_sign_pub_key: Option<String>,
    /// The consumer's X25519 public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_encrypt_pub_key: Option<String>,
    /// Whether the request has waited long without an expert ack.
    #[serde(default, deserialize_with = "null_as_default")]
    pub escalated: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
}

/// A `new_message` event for a consumer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewMessageEvent {
    /// The request.
    pub request_id: RequestId,
    /// Its reference code.
    pub ref_code: RefCode,
    /// Who wrote: the expert.
    pub from: Sender,
    /// How many messages the request has.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message_count: u32,
    /// When the expert first answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_at: Option<Timestamp>,
    /// When the newest expert message was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_message_at: Option<Timestamp>,
}

/// A `cancelled` event for a consumer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledEvent {
    /// The request.
    pub request_id: RequestId,
    /// Its reference code.
    pub ref_code: RefCode,
    /// When it was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<Timestamp>,
}

/// A `notification_acknowledged` event for a consumer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationAcknowledgedEvent {
    /// The request.
    pub request_id: RequestId,
    /// Its reference code.
    pub ref_code: RefCode,
    /// When the expert acknowledged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<Timestamp>,
}

/// A `notification_expired` event for a consumer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationExpiredEvent {
    /// The request.
    pub request_id: RequestId,
    /// Its reference code.
    pub ref_code: RefCode,
    /// When it expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<Timestamp>,
}

/// A pending event of a type this version does not know, kept as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownEvent {
    /// The `type` member.
    pub event_type: String,
    /// Every other member.
    pub members: serde_json::Map<String, serde_json::Value>,
}

impl PendingEvent {
    /// The `type` member as sent on the wire.
    pub fn event_type(&self) -> &str {
        match self {
            Self::NewRequest(_) => "new_request",
            Self::NewNotification(_) => "new_notification",
            Self::NewMessage(_) => "new_message",
            Self::Cancelled(_) => "cancelled",
            Self::NotificationAcknowledged(_) => "notification_acknowledged",
            Self::NotificationExpired(_) => "notification_expired",
            Self::Unknown(event) => &event.event_type,
        }
    }

    /// The request the event is about (what `POST /events/ack/:id` takes); for an unknown event,
    /// its `requestId` member if that is a string.
    pub fn request_id(&self) -> Option<RequestId> {
        match self {
            Self::NewRequest(event) | Self::NewNotification(event) => {
                Some(event.request_id.clone())
            }
            Self::NewMessage(event) => Some(event.request_id.clone()),
            Self::Cancelled(event) => Some(event.request_id.clone()),
            Self::NotificationAcknowledged(event) => Some(event.request_id.clone()),
            Self::NotificationExpired(event) => Some(event.request_id.clone()),
            Self::Unknown(event) => event
                .members
                .get("requestId")
                .and_then(serde_json::Value::as_str)
                .map(RequestId::new),
        }
    }
}

/// The known variants with their tag, for writing.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum TaggedRef<'a> {
    NewRequest(&'a ExpertRequestEvent),
    NewNotification(&'a ExpertRequestEvent),
    NewMessage(&'a NewMessageEvent),
    Cancelled(&'a CancelledEvent),
    NotificationAcknowledged(&'a NotificationAcknowledgedEvent),
    NotificationExpired(&'a NotificationExpiredEvent),
}

impl Serialize for PendingEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let tagged = match self {
            Self::NewRequest(event) => TaggedRef::NewRequest(event),
            Self::NewNotification(event) => TaggedRef::NewNotification(event),
            Self::NewMessage(event) => TaggedRef::NewMessage(event),
            Self::Cancelled(event) => TaggedRef::Cancelled(event),
            Self::NotificationAcknowledged(event) => TaggedRef::NotificationAcknowledged(event),
            Self::NotificationExpired(event) => TaggedRef::NotificationExpired(event),
            Self::Unknown(event) => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("type", &event.event_type)?;
                for (name, value) in event.members.iter().filter(|(name, _)| *name != "type") {
                    map.serialize_entry(name, value)?;
                }
                return map.end();
            }
        };
        tagged.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PendingEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fn body<T: DeserializeOwned, E: serde::de::Error>(
            members: serde_json::Map<String, serde_json::Value>,
        ) -> Result<T, E> {
            serde_json::from_value(serde_json::Value::Object(members)).map_err(E::custom)
        }

        let mut members = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let event_type = match members.remove("type") {
            Some(serde_json::Value::String(event_type)) => event_type,
            _ => return Err(D::Error::custom("event without a string `type` member")),
        };
        Ok(match event_type.as_str() {
            "new_request" => Self::NewRequest(body(members)?),
            "new_notification" => Self::NewNotification(body(members)?),
            "new_message" => Self::NewMessage(body(members)?),
            "cancelled" => Self::Cancelled(body(members)?),
            "notification_acknowledged" => Self::NotificationAcknowledged(body(members)?),
            "notification_expired" => Self::NotificationExpired(body(members)?),
            _ => Self::Unknown(UnknownEvent {
                event_type,
                members,
            }),
        })
    }
}

/// The answer to `POST /api/v1/events/ack/:id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventAckResponse {
    /// Always `true` on success.
    pub ok: bool,
    /// When the ack was recorded.
    pub delivered_at: Timestamp,
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn golden_expert_feed() {
        let json = r#"{"events":[
            {"type":"new_request","requestId":"cm1","refCode":"HS-7K2QX9LB","question":"Deploy?",
             "requiresApproval":true,"approvalDecision":null,"messageCount":0,"messagePreview":null,
             "consumerSignPubKey":"302a","consumerEncryptPubKey":"302b","escalated":false,
             "createdAt":"2026-04-25T19:56:45.123Z","expiresAt":"2026-04-28T19:56:45.123Z"},
            {"type":"new_notification","requestId":"cm2","refCode":"HS-AAAAAAAA","question":"FYI",
             "messageCount":0,"createdAt":"2026-04-25T19:56:45.123Z","expiresAt":"2026-05-02T19:56:45.123Z"}
        ]}"#;
        let feed: PendingEventsResponse = serde_json::from_str(json).unwrap();
        let PendingEvent::NewRequest(first) = &feed.events[0] else {
            panic!("expected new_request");
        };
        assert!(first.requires_approval);
        assert_eq!(first.approval_decision, None);
        assert_eq!(first.consumer_sign_pub_key.as_deref(), Some("302a"));
        assert_eq!(first.expires_at, ts("2026-04-28T19:56:45.123Z"));
        let PendingEvent::NewNotification(second) = &feed.events[1] else {
            panic!("expected new_notification");
        };
        assert!(!second.requires_approval && !second.escalated);
        assert_eq!(feed.events[1].request_id(), Some(RequestId::new("cm2")));
        let again: PendingEventsResponse =
            serde_json::from_value(serde_json::to_value(&feed).unwrap()).unwrap();
        assert_eq!(again, feed);
    }

    #[test]
    fn golden_consumer_feed() {
        let json = r#"{"events":[
            {"type":"new_message","requestId":"cm1","refCode":"HS-7K2QX9LB","from":"expert","messageCount":3,"respondedAt":"2026-04-25T20:00:00.000Z","latestMessageAt":null},
            {"type":"cancelled","requestId":"cm3","refCode":"HS-BBBBBBBB","cancelledAt":"2026-04-25T20:00:00.000Z"},
            {"type":"notification_acknowledged","requestId":"cm4","refCode":"HS-CCCCCCCC","acknowledgedAt":"2026-04-25T20:00:00.000Z"},
            {"type":"notification_expired","requestId":"cm5","refCode":"HS-DDDDDDDD","expiredAt":"2026-05-02T19:56:45.123Z"}
        ],"quietHours":null}"#;
        let feed: PendingEventsResponse = serde_json::from_str(json).unwrap();
        let types: Vec<_> = feed.events.iter().map(PendingEvent::event_type).collect();
        assert_eq!(
            types,
            [
                "new_message",
                "cancelled",
                "notification_acknowledged",
                "notification_expired"
            ]
        );
        let PendingEvent::NewMessage(message) = &feed.events[0] else {
            panic!("expected new_message");
        };
        assert_eq!(message.from, Sender::Expert);
        assert_eq!(message.message_count, 3);
        assert_eq!(message.latest_message_at, None);
        let written = serde_json::to_value(&feed.events[1]).unwrap();
        assert_eq!(
            written,
            json!({"type":"cancelled","requestId":"cm3","refCode":"HS-BBBBBBBB","cancelledAt":"2026-04-25T20:00:00.000Z"})
        );
    }

    #[test]
    fn unknown_types_are_kept() {
        let json = json!({"type":"keys_rotated","requestId":"cm9","extra":{"n":1}});
        let event: PendingEvent = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(event.event_type(), "keys_rotated");
        assert_eq!(event.request_id(), Some(RequestId::new("cm9")));
        assert!(
            matches!(&event, PendingEvent::Unknown(unknown) if unknown.members["extra"]["n"] == 1)
        );
        assert_eq!(serde_json::to_value(&event).unwrap(), json);
    }

    #[test]
    fn malformed_events_are_errors() {
        assert!(serde_json::from_str::<PendingEvent>(r#"{"requestId":"cm1"}"#).is_err());
        assert!(serde_json::from_str::<PendingEvent>(r#"{"type":3}"#).is_err());
        assert!(serde_json::from_str::<PendingEvent>(r#"{"type":"new_message"}"#).is_err());
    }

    #[test]
    fn golden_ack() {
        let json = r#"{"ok":true,"deliveredAt":"2026-04-25T20:00:00.000Z"}"#;
        let ack: EventAckResponse = serde_json::from_str(json).unwrap();
        assert!(ack.ok);
        assert_eq!(serde_json::to_string(&ack).unwrap(), json);
    }

    #[test]
    fn event_types_round_trip() {
        for text in [
            "new_request",
            "new_notification",
            "new_message",
            "keys_exchanged",
            "responded",
            "status_change",
            "closed",
            "cancelled",
            "expired",
            "notification_acknowledged",
            "something_new",
        ] {
            let parsed: EventType = serde_json::from_value(json!(text)).unwrap();
            assert_eq!(parsed.as_str(), text);
            assert_eq!(serde_json::to_value(&parsed).unwrap(), json!(text));
        }
        assert_eq!(EventType::from_wire("x"), EventType::Unknown("x".into()));
    }

    #[test]
    fn stream_event_shape_and_frame() {
        let event = StreamEvent::new(
            EventType::NewMessage,
            RequestId::new("cm1"),
            ts("2026-04-25T20:00:00.000Z"),
        )
        .with_ref_code(RefCode::parse("HS-7K2QX9LB").unwrap())
        .with_status(Status::Responded)
        .with_message(Sender::Expert, MessageId::new("m1"));
        let data = r#"{"type":"new_message","requestId":"cm1","refCode":"HS-7K2QX9LB","status":"responded","from":"expert","messageId":"m1","createdAt":"2026-04-25T20:00:00.000Z"}"#;
        assert_eq!(serde_json::to_string(&event).unwrap(), data);
        assert_eq!(
            event.to_sse_frame(42).unwrap(),
            format!("id: 42\nevent: new_message\ndata: {data}\n\n")
        );
        let parsed: StreamEvent = serde_json::from_str(data).unwrap();
        assert_eq!(parsed, event);
        let sparse: StreamEvent = serde_json::from_str(
            r#"{"type":"future","requestId":"cm1","refCode":null,"expertId":null,"createdAt":"2026-04-25T20:00:00.000Z","more":1}"#,
        )
        .unwrap();
        assert_eq!(sparse.event_type, EventType::Unknown("future".into()));
        assert_eq!(sparse.ref_code, None);
        let odd = StreamEvent::new(
            EventType::Unknown("a\nb".into()),
            RequestId::new("cm1"),
            ts("2026-04-25T20:00:00.000Z"),
        );
        assert!(!odd.to_sse_frame(1).unwrap().contains("event:"));
    }

    #[test]
    fn topics() {
        assert_eq!(
            request_topic(&RequestId::new("cm1")),
            "/heysummon/requests/cm1"
        );
        assert_eq!(
            expert_topic(&ExpertId::new("ex1")),
            "/heysummon/experts/ex1"
        );
    }
}
