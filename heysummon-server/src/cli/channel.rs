//! `heysummon-server channel …`: an expert's notification channels (PROTOCOL F1).

use clap::Subcommand;
use serde::Serialize;
use serde_json::{Value, json};

use super::print;
use crate::config::SecretString;
use crate::notify::manage;
use crate::notify::{ChannelKind, ChannelOptions};
use crate::state::AppState;

/// `channel …`.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum ChannelCommand {
    /// Add a channel for an expert. Prints {"channelId"} (and {"secret"} when the server
    /// generated a webhook secret: shown once).
    Add {
        /// The expert it reaches.
        #[arg(long)]
        expert: String,
        /// The kind of channel.
        #[arg(long, value_enum)]
        kind: ChannelKind,
        /// A label for the dashboard.
        #[arg(long)]
        name: Option<String>,
        /// Webhook: the endpoint (http or https).
        #[arg(long)]
        url: Option<String>,
        /// Webhook: the signing secret, `whsec_…` [default: generated].
        #[arg(long, env = "HEYSUMMON_CHANNEL_SECRET", hide_env_values = true)]
        secret: Option<SecretString>,
        /// Telegram, Slack, Discord: the bot token.
        #[arg(long, env = "HEYSUMMON_CHANNEL_BOT_TOKEN", hide_env_values = true)]
        bot_token: Option<SecretString>,
        /// Telegram: the chat id (a number, or @channelname).
        #[arg(long, allow_hyphen_values = true)]
        chat_id: Option<String>,
        /// Slack: the channel id (C…).
        #[arg(long)]
        channel: Option<String>,
        /// Slack: the app's signing secret.
        #[arg(long, env = "HEYSUMMON_CHANNEL_SIGNING_SECRET", hide_env_values = true)]
        signing_secret: Option<SecretString>,
        /// Discord: the channel id.
        #[arg(long)]
        channel_id: Option<String>,
        /// Discord: the application's public key (hex).
        #[arg(long)]
        public_key: Option<String>,
        /// E-mail: the address.
        #[arg(long)]
        to: Option<String>,
    },
    /// List an expert's channels. Prints {"channels":[{"channelId","kind","status","lastError",…}]}.
    List {
        /// The expert.
        #[arg(long)]
        expert: String,
    },
    /// Remove a channel.
    Remove {
        /// The channel.
        channel_id: String,
    },
    /// Send a test notification now; exits 0 once delivered.
    Test {
        /// The channel.
        channel_id: String,
    },
    /// Stop sending to a channel (nothing is queued for it meanwhile).
    Pause {
        /// The channel.
        channel_id: String,
    },
    /// Send to a paused channel again.
    Resume {
        /// The channel.
        channel_id: String,
    },
    /// A one-time code that links a Telegram, Slack or Discord user to the channel's expert.
    Connect {
        /// The channel.
        channel_id: String,
    },
    /// Take a linked chat user's right to answer as the channel's expert.
    Unlink {
        /// The channel.
        channel_id: String,
        /// The chat's id of the user (`channel list` shows them).
        #[arg(long)]
        user: String,
    },
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Added {
    channel_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

/// Runs a `channel` subcommand.
pub(super) async fn run(
    command: ChannelCommand,
    state: &AppState,
    json: bool,
) -> anyhow::Result<()> {
    let store = &state.store;
    let failing_after = state.config.channels.failing_after;
    let channel = |id: String| async move {
        store
            .channel(&id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("channel {id} not found"))
    };
    match command {
        ChannelCommand::Add {
            expert,
            kind,
            name,
            url,
            secret,
            bot_token,
            chat_id,
            channel,
            signing_secret,
            channel_id,
            public_key,
            to,
        } => {
            if store.expert(&expert).await?.is_none() {
                anyhow::bail!("expert {expert} not found");
            }
            let expose = |secret: Option<SecretString>| secret.map(|s| s.expose().to_owned());
            let options = ChannelOptions {
                name,
                url,
                secret: expose(secret),
                bot_token: expose(bot_token),
                chat_id,
                channel,
                signing_secret: expose(signing_secret),
                channel_id,
                public_key,
                to,
            };
            let added = manage::add(state, &expert, kind, &options).await?;
            let added = Added {
                channel_id: added.channel_id,
                secret: added.secret,
            };
            print(json, &added, |a| match &a.secret {
                Some(secret) => format!(
                    "channel {}\nwebhook secret (shown once): {secret}",
                    a.channel_id
                ),
                None => format!("channel {}", a.channel_id),
            });
        }
        ChannelCommand::List { expert } => {
            if store.expert(&expert).await?.is_none() {
                anyhow::bail!("expert {expert} not found");
            }
            let mut views = Vec::new();
            for channel in store.channels_of(Some(&expert)).await? {
                let links = store.channel_links(&channel.id).await?;
                views.push(serde_json::to_value(manage::view(
                    &channel,
                    &links,
                    failing_after,
                ))?);
            }
            let list = json!({ "channels": views });
            print(json, &list, |l| {
                let rows: Vec<String> = l["channels"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(row)
                    .collect();
                if rows.is_empty() {
                    "no channels".to_owned()
                } else {
                    rows.join("\n")
                }
            });
        }
        ChannelCommand::Remove { channel_id } => {
            let found = channel(channel_id).await?;
            manage::remove(state, &found).await?;
            let result = json!({ "channelId": found.id, "removed": true });
            print(json, &result, |_| format!("channel {} removed", found.id));
        }
        ChannelCommand::Test { channel_id } => {
            let found = channel(channel_id).await?;
            manage::test(state, &found).await?;
            let result = json!({ "channelId": found.id, "delivered": true });
            print(json, &result, |_| {
                format!("test notification delivered to {}", found.name)
            });
        }
        ChannelCommand::Pause { channel_id } => {
            pause(state, channel(channel_id).await?.id, true, json).await?
        }
        ChannelCommand::Resume { channel_id } => {
            pause(state, channel(channel_id).await?.id, false, json).await?
        }
        ChannelCommand::Unlink { channel_id, user } => {
            let found = channel(channel_id).await?;
            if !store.unlink_chat_user(&found.id, &user).await? {
                anyhow::bail!("user {user} is not linked to channel {}", found.id);
            }
            let result = json!({ "channelId": found.id, "userId": user, "unlinked": true });
            print(json, &result, |_| {
                format!("user {user} can no longer answer through {}", found.id)
            });
        }
        ChannelCommand::Connect { channel_id } => {
            let found = channel(channel_id).await?;
            let code = serde_json::to_value(manage::connect_code(state, &found).await?)?;
            print(json, &code, |c| {
                format!(
                    "{} (valid once, until {})",
                    c["instructions"].as_str().unwrap_or_default(),
                    c["expiresAt"].as_str().unwrap_or_default()
                )
            });
        }
    }
    Ok(())
}

async fn pause(
    state: &AppState,
    channel_id: String,
    paused: bool,
    json: bool,
) -> anyhow::Result<()> {
    state.store.set_channel_paused(&channel_id, paused).await?;
    let result = json!({ "channelId": channel_id, "paused": paused });
    let word = if paused { "paused" } else { "resumed" };
    print(json, &result, |_| format!("channel {channel_id} {word}"));
    Ok(())
}

/// One line of `channel list`.
fn row(channel: &Value) -> String {
    let text = |name: &str| channel[name].as_str().unwrap_or("-").to_owned();
    format!(
        "{}  {:8}  {:7}  {}  {}",
        text("channelId"),
        text("kind"),
        text("status"),
        text("name"),
        channel["lastError"]
            .as_str()
            .map(|e| format!("(last error: {e})"))
            .unwrap_or_default()
    )
}
