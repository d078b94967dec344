//! The polling feed (part A): `GET /api/v1/events/pending`, its events tagged by their `type`
//! member (unknown types kept as received), and the answer to `POST /api/v1/events/ack/:id`.

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Serialize};

use crate::wire::common::null_as_default;
use crate::wire::{ApprovalDecision, RefCode, RequestId, Sender, Timestamp};

/// The answer to `GET /api/v1/events/pending`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventAckResponse {
    /// Always `true` on success.
    pub ok: bool,
    /// When the ack was recorded.
    pub delivered_at: Timestamp,
}
