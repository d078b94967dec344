//! Notification channels (PROTOCOL F): the channels themselves, their outbox, and the chat users
//! linked to an expert.

use crate::clock::Millis;

use super::KeyHash;

/// A channel as the store keeps it. `settings` is the JSON the expert may see; `secrets` the
/// JSON of credentials only the server uses (never shown, never in `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelRecord {
    /// Opaque id.
    pub id: String,
    /// The expert it reaches.
    pub expert_id: String,
    /// `webhook`, `slack`, `telegram`, `discord` or `email`.
    pub kind: String,
    /// A label for the dashboard.
    pub name: String,
    /// Non-secret options, JSON.
    pub settings: String,
    /// Credentials, JSON; write-only.
    pub secrets: String,
    /// Hash of the token an inbound call must present (Telegram's webhook secret token).
    pub inbound_token_hash: Option<KeyHash>,
    /// Paused channels get nothing.
    pub paused: bool,
    /// Failed attempts in a row.
    pub failures: u32,
    /// The last failure, if the channel has failed since it last delivered.
    pub last_error: Option<String>,
    /// When it failed.
    pub last_error_at: Option<Millis>,
    /// The last successful delivery.
    pub last_delivered_at: Option<Millis>,
    /// Creation time.
    pub created_at: Millis,
    /// Notifications waiting to be delivered (computed when listing).
    pub pending: u64,
}

impl std::fmt::Debug for ChannelRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelRecord")
            .field("id", &self.id)
            .field("expert_id", &self.expert_id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("settings", &self.settings)
            .field("secrets", &"[redacted]")
            .field("paused", &self.paused)
            .field("failures", &self.failures)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

/// One notification waiting in a channel's outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxItem {
    /// Position in the outbox: a channel's items are delivered in this order.
    pub id: i64,
    /// The channel.
    pub channel_id: String,
    /// The request it is about.
    pub request_id: String,
    /// What it says.
    pub kind: OutboxKind,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not before this time.
    pub next_attempt_at: Millis,
}

/// What a notification is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutboxKind {
    /// A new request or notification.
    New,
    /// The request still waits for the expert.
    Reminder,
    /// The request was answered, decided or ended: the sent message is brought up to date.
    Update,
}

impl OutboxKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Reminder => "reminder",
            Self::Update => "update",
        }
    }

    /// From the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "new" => Some(Self::New),
            "reminder" => Some(Self::Reminder),
            "update" => Some(Self::Update),
            _ => None,
        }
    }
}

/// The outcome of one delivered item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The outbox item.
    pub outbox_id: i64,
    /// The request.
    pub request_id: String,
    /// The id of the chat message it created, to edit it later.
    pub external_id: Option<String>,
}

/// A chat user allowed to answer as the channel's expert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelLink {
    /// The chat's user id (Telegram `from.id`, Slack user id, Discord user id).
    pub user_id: String,
    /// A name to show, when the chat gave one.
    pub display_name: Option<String>,
    /// When the user was linked.
    pub created_at: Millis,
}
