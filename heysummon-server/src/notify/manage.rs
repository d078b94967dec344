//! Managing channels, for the dashboard and the `channel` subcommands alike: adding one (its
//! options checked, a webhook's target checked, a Telegram bot's webhook registered), sending a
//! test notification, issuing connect codes, and the JSON a channel is shown as.

use heysummon_sdk::wire::Timestamp;
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::content::Notice;
use super::outbound::SendError;
use super::spec::{ChannelKind, ChannelOptions, Stored};
use super::telegram;
use super::transport::{self, Senders};
use crate::clock::{Millis, timestamp};
use crate::ids::{hash_secret, new_id};
use crate::state::AppState;
use crate::store::{ChannelLink, ChannelRecord, StoreError};

/// A connect code works once, for this long.
pub const CONNECT_CODE_MS: Millis = 10 * 60 * 1000;

/// Why a channel could not be added or used.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// The options are wrong for the kind, or this server cannot serve the kind.
    #[error("{0}")]
    Invalid(String),
    /// The third party refused (Telegram's `setWebhook`, a test notification).
    #[error("{0}")]
    Upstream(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A channel just added.
#[derive(Debug)]
pub struct Added {
    /// Its id.
    pub channel_id: String,
    /// The webhook secret the server generated, shown this once.
    pub secret: Option<String>,
}

/// Adds a channel for an expert.
pub async fn add(
    state: &AppState,
    expert_id: &str,
    kind: ChannelKind,
    options: &ChannelOptions,
) -> Result<Added, ManageError> {
    let checked = options.check(kind).map_err(ManageError::Invalid)?;
    let config = &state.config.channels;
    let out = &state.outbound;
    let id = new_id();
    let stored = Stored {
        settings: checked.settings.clone(),
        secrets: checked.secrets.clone(),
    };
    let mut inbound_token_hash = None;
    match kind {
        ChannelKind::Email if config.email.smtp_url.is_none() => {
            return Err(ManageError::Invalid(
                "e-mail is not configured on this server ([channels.email] smtp_url and from)"
                    .to_owned(),
            ));
        }
        ChannelKind::Webhook => {
            let url = reqwest::Url::parse(stored.setting("url"))
                .map_err(|e| ManageError::Invalid(e.to_string()))?;
            out.check_webhook_now(&url)
                .await
                .map_err(|e| ManageError::Invalid(e.message))?;
        }
        ChannelKind::Telegram => {
            // One webhook per bot: a second channel on the same bot would take the first one's.
            for other in state.store.channels_of(None).await? {
                let theirs = Stored::parse(&other.settings, &other.secrets);
                if other.kind == kind.as_str()
                    && theirs.secret("botToken") == stored.secret("botToken")
                {
                    return Err(ManageError::Invalid(
                        "this bot already serves another channel; make one bot per channel"
                            .to_owned(),
                    ));
                }
            }
            let token = random_token();
            let url = format!("{}/api/channels/telegram/{id}", state.config.base_url());
            telegram::set_webhook(
                out,
                &config.telegram.api_base,
                stored.secret("botToken"),
                &url,
                &token,
            )
            .await
            .map_err(|e| ManageError::Upstream(e.message))?;
            inbound_token_hash = Some(hash_secret(&token));
        }
        _ => {}
    }
    let secret = match (kind, &options.secret) {
        (ChannelKind::Webhook, None) => Some(stored.secret("secret").to_owned()),
        _ => None,
    };
    state
        .store
        .insert_channel(ChannelRecord {
            id: id.clone(),
            expert_id: expert_id.to_owned(),
            kind: kind.as_str().to_owned(),
            name: checked.name,
            settings: checked.settings.to_string(),
            secrets: checked.secrets.to_string(),
            inbound_token_hash,
            paused: false,
            failures: 0,
            last_error: None,
            last_error_at: None,
            last_delivered_at: None,
            created_at: state.clock.now(),
            pending: 0,
        })
        .await?;
    Ok(Added {
        channel_id: id,
        secret,
    })
}

/// Removes a channel (a Telegram bot's webhook is deleted too, as far as Telegram answers).
pub async fn remove(state: &AppState, channel: &ChannelRecord) -> Result<(), ManageError> {
    state.store.delete_channel(&channel.id).await?;
    if channel.kind == ChannelKind::Telegram.as_str() {
        let stored = Stored::parse(&channel.settings, &channel.secrets);
        let api_base = &state.config.channels.telegram.api_base;
        let token = stored.secret("botToken");
        let body = json!({ "drop_pending_updates": true });
        if let Err(error) =
            telegram::call(&state.outbound, api_base, token, "deleteWebhook", &body).await
        {
            tracing::warn!(error = %error.message, "could not delete the Telegram webhook of a removed channel");
        }
    }
    Ok(())
}

/// Sends a test notification now and notes the outcome on the channel.
pub async fn test(state: &AppState, channel: &ChannelRecord) -> Result<(), ManageError> {
    let kind = ChannelKind::parse(&channel.kind)
        .ok_or_else(|| ManageError::Invalid(format!("unknown channel kind {}", channel.kind)))?;
    let now = state.clock.now();
    let expert_name = state
        .store
        .expert(&channel.expert_id)
        .await?
        .map(|e| e.name)
        .unwrap_or_default();
    let notice = Notice::test(
        format!("test_{}", new_id()),
        expert_name,
        &state.config.base_url(),
        now,
    );
    let senders = Senders {
        out: &state.outbound,
        config: &state.config.channels,
        now_secs: now / 1000,
    };
    let stored = Stored::parse(&channel.settings, &channel.secrets);
    let outcome: Result<_, SendError> =
        transport::deliver(senders, kind, &stored, &notice, None).await;
    let error = outcome.as_ref().err().map(|e| e.message.clone());
    state
        .store
        .note_channel_test(&channel.id, error.clone(), state.clock.now())
        .await?;
    match error {
        Some(message) => Err(ManageError::Upstream(message)),
        None => Ok(()),
    }
}

/// A one-time code that links a chat user to the channel's expert, with how to use it.
pub async fn connect_code(
    state: &AppState,
    channel: &ChannelRecord,
) -> Result<ConnectCode, ManageError> {
    let kind = ChannelKind::parse(&channel.kind)
        .filter(|kind| kind.is_chat())
        .ok_or_else(|| {
            ManageError::Invalid(
                "only Telegram, Slack and Discord channels link chat users".to_owned(),
            )
        })?;
    let code = new_connect_code();
    let expires_at = state.clock.now().saturating_add(CONNECT_CODE_MS);
    state
        .store
        .insert_connect_code(
            &channel.id,
            hash_secret(&normalized_code(&code)),
            expires_at,
        )
        .await?;
    let instructions = match kind {
        ChannelKind::Telegram => format!("Send /connect {code} to the bot in the chat."),
        ChannelKind::Slack => format!("Type /heysummon connect {code} in Slack."),
        _ => format!("Use the command /heysummon code:{code} in Discord."),
    };
    Ok(ConnectCode {
        code,
        expires_at: timestamp(expires_at),
        instructions,
    })
}

/// Whether a channel shows as `active`, `paused` or `failing`.
pub fn status(channel: &ChannelRecord, failing_after: u32) -> &'static str {
    if channel.paused {
        "paused"
    } else if channel.failures >= failing_after {
        "failing"
    } else {
        "active"
    }
}

/// The view of a channel.
pub fn view(channel: &ChannelRecord, links: &[ChannelLink], failing_after: u32) -> ChannelView {
    ChannelView {
        channel_id: channel.id.clone(),
        kind: channel.kind.clone(),
        name: channel.name.clone(),
        status: status(channel, failing_after),
        last_error: channel.last_error.clone(),
        last_error_at: channel.last_error_at.map(timestamp),
        last_delivered_at: channel.last_delivered_at.map(timestamp),
        created_at: timestamp(channel.created_at),
        pending: channel.pending,
        settings: serde_json::from_str(&channel.settings).unwrap_or_else(|_| json!({})),
        linked_users: links
            .iter()
            .map(|link| LinkedUser {
                user_id: link.user_id.clone(),
                display_name: link.display_name.clone(),
            })
            .collect(),
    }
}

/// A channel as the dashboard and `channel list --json` show it: never a secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    /// The channel's id.
    pub channel_id: String,
    /// `webhook`, `slack`, `telegram`, `discord` or `email`.
    pub kind: String,
    /// Its label.
    pub name: String,
    /// `active`, `paused` or `failing`.
    pub status: &'static str,
    /// The last delivery error.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<Timestamp>,
    /// The last delivery that succeeded.
    pub last_delivered_at: Option<Timestamp>,
    /// When the channel was added.
    pub created_at: Timestamp,
    /// Notifications waiting to be delivered.
    pub pending: u64,
    /// The kind's settings that are not secrets (URL, chat, address, …).
    #[schema(value_type = Object)]
    pub settings: Value,
    /// The chat users who may answer through it.
    pub linked_users: Vec<LinkedUser>,
}

/// A chat user linked to a channel's expert.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkedUser {
    /// The chat's user id.
    pub user_id: String,
    /// A name to show, when the chat gave one.
    pub display_name: Option<String>,
}

/// A one-time code linking a chat user, and how to use it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectCode {
    /// `ABCD-EFGH`.
    pub code: String,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// What to type, where.
    pub instructions: String,
}

/// 32 random bytes in hex: Telegram's webhook secret token.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// `ABCD-EFGH`: 40 random bits in letters and digits nobody confuses.
fn new_connect_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 8];
    OsRng.fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// A code as typed, made comparable: upper case, without spaces or dashes.
pub(crate) fn normalized_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}
