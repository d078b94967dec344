//! Sending a notice through a channel of any kind: the one entry point the delivery task and
//! `channel test` use. Each kind renders the notice for its own markup in its own module.

use super::content::{Notice, Occasion};
use super::outbound::{Outbound, SendError};
use super::spec::{ChannelKind, Stored};
use super::{discord, email, slack, telegram, webhook};
use crate::config::ChannelsConfig;

/// What a delivery created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sent {
    /// The chat message, to edit after a decision.
    pub(crate) external_id: Option<String>,
}

/// Everything a send needs besides the channel and the notice.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Senders<'a> {
    pub(crate) out: &'a Outbound,
    pub(crate) config: &'a ChannelsConfig,
    /// Unix seconds, for signatures.
    pub(crate) now_secs: i64,
}

/// Delivers a notice. `existing` is the chat message sent earlier about the request (an
/// update edits it). `Ok(None)`: nothing to send for this kind and occasion (an update where
/// no message was sent, or to an e-mail address).
pub(crate) async fn deliver(
    senders: Senders<'_>,
    kind: ChannelKind,
    stored: &Stored,
    notice: &Notice,
    existing: Option<&str>,
) -> Result<Option<Sent>, SendError> {
    let update = notice.occasion == Occasion::Update;
    let edit = match (update, kind, existing) {
        (false, ..) | (true, ChannelKind::Webhook, _) => None,
        (true, ChannelKind::Email, _) | (true, _, None) => return Ok(None),
        (true, _, Some(message)) => Some(message),
    };
    let out = senders.out;
    let config = senders.config;
    let sent = match kind {
        ChannelKind::Webhook => webhook::send(out, stored, notice, senders.now_secs).await?,
        ChannelKind::Telegram => {
            telegram::send(out, &config.telegram.api_base, stored, notice, edit).await?
        }
        ChannelKind::Slack => {
            slack::send(out, &config.slack.api_base, stored, notice, edit).await?
        }
        ChannelKind::Discord => {
            discord::send(out, &config.discord.api_base, stored, notice, edit).await?
        }
        ChannelKind::Email => email::send(&config.email, stored, notice).await?,
    };
    Ok(Some(sent))
}
