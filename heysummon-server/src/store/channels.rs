//! The store's side of notification channels (PROTOCOL F): channels, their outbox, the chat
//! messages sent, linked chat users and inbound actions already handled.

use super::{
    Backend, ChannelLink, ChannelRecord, Delivered, KeyHash, OutboxItem, Store, StoreError,
};
use crate::clock::Millis;

/// Before the first channel exists, dispatch has nothing to do and writes nothing (it would
/// otherwise move its cursor with a write after every event). The first channel starts the
/// cursor at the log's end: it hears of what happens from then on. The same SQL on every
/// backend, run in the transaction that inserts a channel.
pub(crate) const START_CURSOR_FOR_FIRST_CHANNEL: &str = "UPDATE channel_dispatch
    SET cursor = (SELECT COALESCE(MAX(id), 0) FROM events)
    WHERE NOT EXISTS (SELECT 1 FROM channels)";

/// Whether any channel exists: without one, dispatch stops at once.
pub(crate) const ANY_CHANNEL: &str = "SELECT EXISTS (SELECT 1 FROM channels)";

impl Store {
    /// Records a new channel.
    pub async fn insert_channel(&self, channel: ChannelRecord) -> Result<(), StoreError> {
        delegate!(self.insert_channel(channel))
    }

    /// A channel by id, with its count of waiting notifications.
    pub async fn channel(&self, id: &str) -> Result<Option<ChannelRecord>, StoreError> {
        delegate!(self.channel(id))
    }

    /// An expert's channels (every channel with `None`), oldest first.
    pub async fn channels_of(
        &self,
        expert_id: Option<&str>,
    ) -> Result<Vec<ChannelRecord>, StoreError> {
        delegate!(self.channels_of(expert_id.map(str::to_owned)))
    }

    /// Pauses or resumes a channel; `false` when there is no such channel.
    pub async fn set_channel_paused(&self, id: &str, paused: bool) -> Result<bool, StoreError> {
        delegate!(self.set_channel_paused(id, paused))
    }

    /// Removes a channel with its outbox, messages and links; `false` when there was none.
    pub async fn delete_channel(&self, id: &str) -> Result<bool, StoreError> {
        delegate!(self.delete_channel(id))
    }

    /// Turns at most `limit` events of the log after the dispatch cursor into outbox items
    /// (new requests for every active channel of their expert; updates where the request was
    /// announced) and moves the cursor, atomically; returns how many items were queued and
    /// how many events were read (fewer than `limit`: the log is exhausted).
    pub async fn dispatch_events(&self, now: Millis, limit: u32) -> Result<(u64, u32), StoreError> {
        delegate!(self.dispatch_events(now, limit))
    }

    /// Queues one reminder per channel for each request announced there at or before
    /// `waited_since` that still waits for its expert; returns how many.
    pub async fn queue_reminders(
        &self,
        waited_since: Millis,
        now: Millis,
    ) -> Result<u64, StoreError> {
        delegate!(self.queue_reminders(waited_since, now))
    }

    /// The channels with an undelivered item whose time has come.
    pub async fn channels_due(&self, now: Millis) -> Result<Vec<String>, StoreError> {
        delegate!(self.channels_due(now))
    }

    /// A channel's first `limit` undelivered items, in delivery order.
    pub async fn outbox_head(
        &self,
        channel_id: &str,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        delegate!(self.outbox_head(channel_id, limit))
    }

    /// Marks items delivered (remembering the chat messages they created) and, when an item
    /// failed, schedules its next attempt and notes the channel's failure; atomically.
    pub async fn record_deliveries(
        &self,
        channel_id: &str,
        delivered: Vec<Delivered>,
        failure: Option<(i64, String, Millis)>,
        now: Millis,
    ) -> Result<(), StoreError> {
        delegate!(self.record_deliveries(channel_id, delivered, failure, now))
    }

    /// Notes the outcome of a test notification on the channel.
    pub async fn note_channel_test(
        &self,
        channel_id: &str,
        error: Option<String>,
        now: Millis,
    ) -> Result<(), StoreError> {
        delegate!(self.note_channel_test(channel_id, error, now))
    }

    /// The chat message a channel sent about a request.
    pub async fn channel_message(
        &self,
        channel_id: &str,
        request_id: &str,
    ) -> Result<Option<String>, StoreError> {
        delegate!(self.channel_message(channel_id, request_id))
    }

    /// The request a channel's chat message was about.
    pub async fn request_of_message(
        &self,
        channel_id: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError> {
        delegate!(self.request_of_message(channel_id, external_id))
    }

    /// Records a one-time connect code for a channel.
    pub async fn insert_connect_code(
        &self,
        channel_id: &str,
        code_hash: KeyHash,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        delegate!(self.insert_connect_code(channel_id, code_hash, expires_at))
    }

    /// Uses a connect code of the channel to link a chat user (`link.created_at` is now);
    /// `false` for an unknown, used or expired code. Two concurrent uses: one succeeds.
    pub async fn link_chat_user(
        &self,
        channel_id: &str,
        code_hash: KeyHash,
        link: ChannelLink,
    ) -> Result<bool, StoreError> {
        delegate!(self.link_chat_user(channel_id, code_hash, link))
    }

    /// The chat users linked to a channel's expert.
    pub async fn channel_links(&self, channel_id: &str) -> Result<Vec<ChannelLink>, StoreError> {
        delegate!(self.channel_links(channel_id))
    }

    /// Takes a chat user's right to answer as the channel's expert; `false` when they had none.
    pub async fn unlink_chat_user(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        delegate!(self.unlink_chat_user(channel_id, user_id))
    }

    /// Records an inbound action by the id the chat gave it; `false` when it was handled
    /// before (a replay or a retry of the chat's).
    pub async fn record_inbound(
        &self,
        channel_id: &str,
        external_id: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        delegate!(self.record_inbound(channel_id, external_id, now))
    }

    /// Deletes delivered items, handled inbound ids and remembered chat messages older than
    /// `before`, and used or expired connect codes.
    pub async fn prune_channels(&self, before: Millis, now: Millis) -> Result<(), StoreError> {
        delegate!(self.prune_channels(before, now))
    }
}
