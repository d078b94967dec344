//! `[channels]`: reaching experts through Slack, Telegram, Discord, e-mail and webhooks
//! (PROTOCOL F). Every third-party base URL is configurable so tests run fakes on loopback.

use serde::Deserialize;

use super::{ConfigError, SecretString};

/// Settings of the notification channels.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelsConfig {
    /// Let webhooks reach loopback, private, link-local and metadata addresses.
    pub allow_private_networks: bool,
    /// Remind once about a request still waiting this many seconds after it was announced;
    /// 0 never reminds. Default 15 minutes.
    pub reminder_after_secs: u64,
    /// Failed attempts in a row after which a channel shows as failing. Default 5.
    pub failing_after: u32,
    /// The first retry waits up to this long, milliseconds (doubling up to `retry_max_secs`).
    pub retry_initial_ms: u64,
    /// The longest wait between retries, seconds. Default 5 minutes.
    pub retry_max_secs: u64,
    /// Every outbound call gives up after this long, seconds. Default 10.
    pub timeout_secs: u64,
    /// Telegram's Bot API.
    pub telegram: ApiBase,
    /// Slack's Web API.
    pub slack: ApiBase,
    /// Discord's API.
    pub discord: ApiBase,
    /// The SMTP server e-mail goes through.
    pub email: EmailConfig,
}

impl Default for ChannelsConfig {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            reminder_after_secs: 15 * 60,
            failing_after: 5,
            retry_initial_ms: 1000,
            retry_max_secs: 300,
            timeout_secs: 10,
            telegram: ApiBase::new(TELEGRAM_API_BASE),
            slack: ApiBase::new(SLACK_API_BASE),
            discord: ApiBase::new(DISCORD_API_BASE),
            email: EmailConfig::default(),
        }
    }
}

/// Telegram's Bot API.
pub(super) const TELEGRAM_API_BASE: &str = "https://api.telegram.org";
/// Slack's Web API.
pub(super) const SLACK_API_BASE: &str = "https://slack.com/api";
/// Discord's API, version 10.
pub(super) const DISCORD_API_BASE: &str = "https://discord.com/api/v10";

/// Where a third-party API lives.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiBase {
    /// The base URL, without a trailing slash.
    pub api_base: String,
}

impl ApiBase {
    fn new(base: &str) -> Self {
        Self {
            api_base: base.to_owned(),
        }
    }
}

/// `[channels.email]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// `smtp://host:port` (STARTTLS when the server offers it) or `smtps://host:port`;
    /// without it, e-mail channels cannot be added.
    pub smtp_url: Option<String>,
    /// The sender, `Name <address>` or an address.
    pub from: Option<String>,
    /// SMTP user name, when the server wants one.
    pub username: Option<String>,
    /// SMTP password (`HEYSUMMON_CHANNELS_EMAIL_PASSWORD`).
    pub password: Option<SecretString>,
}

/// What the command line and the environment can set under `[channels]`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ChannelOverrides {
    /// Let webhooks reach private networks [default: false].
    #[arg(long, env = "HEYSUMMON_CHANNELS_ALLOW_PRIVATE_NETWORKS")]
    pub channels_allow_private_networks: Option<bool>,
    /// Remind about waiting requests after this many seconds, 0 never [default: 900].
    #[arg(long, env = "HEYSUMMON_CHANNELS_REMINDER_AFTER_SECS")]
    pub channels_reminder_after_secs: Option<u64>,
    /// Telegram Bot API base URL [default: https://api.telegram.org].
    #[arg(long, env = "HEYSUMMON_CHANNELS_TELEGRAM_API_BASE")]
    pub channels_telegram_api_base: Option<String>,
    /// Slack Web API base URL [default: https://slack.com/api].
    #[arg(long, env = "HEYSUMMON_CHANNELS_SLACK_API_BASE")]
    pub channels_slack_api_base: Option<String>,
    /// Discord API base URL [default: https://discord.com/api/v10].
    #[arg(long, env = "HEYSUMMON_CHANNELS_DISCORD_API_BASE")]
    pub channels_discord_api_base: Option<String>,
    /// SMTP server for e-mail channels [default: none].
    #[arg(long, env = "HEYSUMMON_CHANNELS_EMAIL_SMTP_URL")]
    pub channels_email_smtp_url: Option<String>,
    /// Sender of e-mail notifications [default: none].
    #[arg(long, env = "HEYSUMMON_CHANNELS_EMAIL_FROM")]
    pub channels_email_from: Option<String>,
    /// SMTP user name [default: none].
    #[arg(long, env = "HEYSUMMON_CHANNELS_EMAIL_USERNAME")]
    pub channels_email_username: Option<String>,
    /// SMTP password [default: none].
    #[arg(
        long,
        env = "HEYSUMMON_CHANNELS_EMAIL_PASSWORD",
        hide_env_values = true
    )]
    pub channels_email_password: Option<SecretString>,
}

impl ChannelsConfig {
    /// Applies what the command line and the environment set.
    pub(super) fn apply_overrides(&mut self, o: &ChannelOverrides) {
        let put = |slot: &mut String, value: &Option<String>| {
            if let Some(value) = value {
                slot.clone_from(value);
            }
        };
        if let Some(allow) = o.channels_allow_private_networks {
            self.allow_private_networks = allow;
        }
        if let Some(secs) = o.channels_reminder_after_secs {
            self.reminder_after_secs = secs;
        }
        put(&mut self.telegram.api_base, &o.channels_telegram_api_base);
        put(&mut self.slack.api_base, &o.channels_slack_api_base);
        put(&mut self.discord.api_base, &o.channels_discord_api_base);
        let email = &mut self.email;
        for (slot, value) in [
            (&mut email.smtp_url, &o.channels_email_smtp_url),
            (&mut email.from, &o.channels_email_from),
            (&mut email.username, &o.channels_email_username),
        ] {
            if value.is_some() {
                slot.clone_from(value);
            }
        }
        if o.channels_email_password.is_some() {
            email.password.clone_from(&o.channels_email_password);
        }
    }

    /// Checks ranges and URLs.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name, message: &str| ConfigError::Invalid {
            name,
            message: message.to_owned(),
        };
        for (name, base) in [
            ("channels.telegram.api_base", &self.telegram.api_base),
            ("channels.slack.api_base", &self.slack.api_base),
            ("channels.discord.api_base", &self.discord.api_base),
        ] {
            let parsed =
                reqwest::Url::parse(base).map_err(|e| invalid(name, &format!("not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") || base.ends_with('/') {
                return Err(invalid(
                    name,
                    "must be an http(s) URL without a trailing slash",
                ));
            }
        }
        if let Some(url) = &self.email.smtp_url {
            let parsed = reqwest::Url::parse(url)
                .map_err(|e| invalid("channels.email.smtp_url", &format!("not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "smtp" | "smtps") || parsed.host_str().is_none() {
                return Err(invalid(
                    "channels.email.smtp_url",
                    "must be smtp://host[:port] or smtps://host[:port]",
                ));
            }
            if self.email.from.is_none() {
                return Err(invalid("channels.email.from", "is required with smtp_url"));
            }
        }
        if self.failing_after == 0 {
            return Err(invalid("channels.failing_after", "must be at least 1"));
        }
        if !(1..=300).contains(&self.timeout_secs) {
            return Err(invalid(
                "channels.timeout_secs",
                "must be between 1 and 300",
            ));
        }
        if self.retry_initial_ms == 0 || self.retry_max_secs == 0 {
            return Err(invalid(
                "channels.retry_initial_ms",
                "retry delays must be greater than zero",
            ));
        }
        Ok(())
    }
}
