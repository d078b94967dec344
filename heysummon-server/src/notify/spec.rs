//! What a channel is: its kind, its options as the expert gives them (dashboard or `channel
//! add`), validated once, and as the store keeps them (non-secret settings apart from the
//! write-only secrets).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The kinds of channel (PROTOCOL F1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// An HTTPS endpoint of the user's, signed per Standard Webhooks.
    Webhook,
    /// A Slack channel, through a Slack app's bot.
    Slack,
    /// A Telegram chat, through a bot.
    Telegram,
    /// A Discord channel, through an application's bot.
    Discord,
    /// An e-mail address, through the configured SMTP server.
    Email,
}

impl ChannelKind {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Slack => "slack",
            Self::Telegram => "telegram",
            Self::Discord => "discord",
            Self::Email => "email",
        }
    }

    /// From the wire spelling.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Webhook,
            Self::Slack,
            Self::Telegram,
            Self::Discord,
            Self::Email,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }

    /// Whether chat users of this kind answer from the chat (and so are linked by a code).
    pub fn is_chat(self) -> bool {
        matches!(self, Self::Slack | Self::Telegram | Self::Discord)
    }
}

/// The options of a new channel, as the dashboard (camelCase JSON) or the command line gives
/// them. Which are required depends on the kind.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelOptions {
    /// A label; defaults to the kind and target.
    pub name: Option<String>,
    /// Webhook: the endpoint.
    pub url: Option<String>,
    /// Webhook: `whsec_…`; generated when absent.
    pub secret: Option<String>,
    /// Telegram, Slack, Discord: the bot's token.
    pub bot_token: Option<String>,
    /// Telegram: the chat.
    pub chat_id: Option<String>,
    /// Slack: the channel id.
    pub channel: Option<String>,
    /// Slack: the app's signing secret.
    pub signing_secret: Option<String>,
    /// Discord: the channel id.
    pub channel_id: Option<String>,
    /// Discord: the application's public key, hex.
    pub public_key: Option<String>,
    /// E-mail: the address.
    pub to: Option<String>,
}

impl std::fmt::Debug for ChannelOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelOptions")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("chat_id", &self.chat_id)
            .field("channel", &self.channel)
            .field("channel_id", &self.channel_id)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// A channel's options checked for its kind: what the store keeps and shows (`settings`), what
/// it keeps and never shows (`secrets`).
#[derive(Clone)]
pub struct CheckedOptions {
    /// The label.
    pub name: String,
    /// Shown to the expert.
    pub settings: Value,
    /// Write-only.
    pub secrets: Value,
}

impl std::fmt::Debug for CheckedOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedOptions")
            .field("name", &self.name)
            .field("settings", &self.settings)
            .field("secrets", &"[redacted]")
            .finish()
    }
}

const MAX_OPTION_CHARS: usize = 2048;

fn required(value: &Option<String>, name: &str) -> Result<String, String> {
    let value = value.as_deref().map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(format!("{name} is required"));
    }
    if value.chars().count() > MAX_OPTION_CHARS || value.chars().any(char::is_control) {
        return Err(format!(
            "{name} must be at most {MAX_OPTION_CHARS} characters, without control characters"
        ));
    }
    Ok(value.to_owned())
}

/// A chat or channel id: letters, digits, `-` and `_` (Telegram's may start with `-` or `@`).
fn identifier(value: &Option<String>, name: &str) -> Result<String, String> {
    let value = required(value, name)?;
    let ok = value.len() <= 128
        && value.chars().enumerate().all(|(i, c)| {
            c.is_ascii_alphanumeric() || c == '_' || c == '-' || (i == 0 && c == '@')
        });
    if ok {
        Ok(value)
    } else {
        Err(format!("{name} must be letters, digits, '-' or '_'"))
    }
}

/// A bot token: printable ASCII without spaces or slashes (it goes into URL paths).
fn token(value: &Option<String>, name: &str) -> Result<String, String> {
    let value = required(value, name)?;
    if value.len() <= 512 && value.chars().all(|c| c.is_ascii_graphic() && c != '/') {
        Ok(value)
    } else {
        Err(format!("{name} is not a valid token"))
    }
}

impl ChannelOptions {
    /// Checks the options a kind needs, refusing any it does not take. A webhook without a
    /// secret gets a generated one.
    pub fn check(&self, kind: ChannelKind) -> Result<CheckedOptions, String> {
        let allowed: &[&str] = match kind {
            ChannelKind::Webhook => &["url", "secret"],
            ChannelKind::Telegram => &["botToken", "chatId"],
            ChannelKind::Slack => &["botToken", "channel", "signingSecret"],
            ChannelKind::Discord => &["botToken", "channelId", "publicKey"],
            ChannelKind::Email => &["to"],
        };
        for (option, given) in [
            ("url", self.url.is_some()),
            ("secret", self.secret.is_some()),
            ("botToken", self.bot_token.is_some()),
            ("chatId", self.chat_id.is_some()),
            ("channel", self.channel.is_some()),
            ("signingSecret", self.signing_secret.is_some()),
            ("channelId", self.channel_id.is_some()),
            ("publicKey", self.public_key.is_some()),
            ("to", self.to.is_some()),
        ] {
            if given && !allowed.contains(&option) {
                return Err(format!(
                    "{option} does not apply to a {} channel",
                    kind.as_str()
                ));
            }
        }
        let (label, settings, secrets) = match kind {
            ChannelKind::Webhook => {
                let url = super::outbound::check_url_syntax(&required(&self.url, "url")?)?;
                let secret = match &self.secret {
                    Some(secret) => super::webhook::check_secret(secret)?,
                    None => super::webhook::new_secret(),
                };
                (
                    url.clone(),
                    json!({ "url": url }),
                    json!({ "secret": secret }),
                )
            }
            ChannelKind::Telegram => {
                let chat = identifier(&self.chat_id, "chatId")?;
                let bot = token(&self.bot_token, "botToken")?;
                (
                    format!("chat {chat}"),
                    json!({ "chatId": chat }),
                    json!({ "botToken": bot }),
                )
            }
            ChannelKind::Slack => {
                let channel = identifier(&self.channel, "channel")?;
                let bot = token(&self.bot_token, "botToken")?;
                let signing = token(&self.signing_secret, "signingSecret")?;
                (
                    format!("#{channel}"),
                    json!({ "channel": channel }),
                    json!({ "botToken": bot, "signingSecret": signing }),
                )
            }
            ChannelKind::Discord => {
                let channel = identifier(&self.channel_id, "channelId")?;
                let bot = token(&self.bot_token, "botToken")?;
                let key =
                    super::discord::check_public_key(&required(&self.public_key, "publicKey")?)?;
                (
                    format!("channel {channel}"),
                    json!({ "channelId": channel, "publicKey": key }),
                    json!({ "botToken": bot }),
                )
            }
            ChannelKind::Email => {
                let to = super::email::check_address(&required(&self.to, "to")?)?;
                (to.clone(), json!({ "to": to }), json!({}))
            }
        };
        let name = match &self.name {
            Some(name) => required(&Some(name.clone()), "name")?,
            None => format!("{} {label}", kind.as_str()),
        };
        Ok(CheckedOptions {
            name: name.chars().take(200).collect(),
            settings,
            secrets,
        })
    }
}

/// A stored channel's options, read back for sending.
#[derive(Clone)]
pub(crate) struct Stored {
    pub(crate) settings: Value,
    pub(crate) secrets: Value,
}

impl Stored {
    pub(crate) fn parse(settings: &str, secrets: &str) -> Self {
        Self {
            settings: serde_json::from_str(settings).unwrap_or(Value::Null),
            secrets: serde_json::from_str(secrets).unwrap_or(Value::Null),
        }
    }

    /// A non-secret setting.
    pub(crate) fn setting(&self, name: &str) -> &str {
        self.settings[name].as_str().unwrap_or_default()
    }

    /// A secret.
    pub(crate) fn secret(&self, name: &str) -> &str {
        self.secrets[name].as_str().unwrap_or_default()
    }
}
