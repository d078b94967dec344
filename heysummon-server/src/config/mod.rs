//! Configuration: defaults → optional TOML file → `HEYSUMMON_*` environment → flags, validated
//! once at startup.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod auth;
mod channels;
mod http;
mod overrides;
mod web;

pub use auth::{
    AllowRule, GITHUB_API_URL, GITHUB_AUTHORIZE_URL, GITHUB_TOKEN_URL, GOOGLE_ISSUER, GitHubConfig,
    OidcConfig,
};
pub use channels::{ApiBase, ChannelOverrides, ChannelsConfig, EmailConfig};
pub use http::HttpConfig;
pub use overrides::{Overrides, SecretString};
pub use web::{AuthConfig, PROVIDER_IDS};

/// Every setting of the server.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://PATH` (default `sqlite://heysummon.db`).
    pub database_url: String,
    /// Time to live of a help request, seconds (default 72 h).
    pub request_ttl_secs: u64,
    /// Time to live of a notification, seconds (default 7 days).
    pub notification_ttl_secs: u64,
    /// How often the sweeper expires requests and prunes nonces, seconds.
    pub sweep_interval_secs: u64,
    /// How long a finished request (closed, expired, cancelled, acknowledged) and its messages
    /// are kept after its last status change, seconds (default 30 days); then the sweeper
    /// deletes them.
    pub finished_retention_secs: u64,
    /// Require PROTOCOL B4 signatures from every client key, enrolled device or not.
    pub require_signed_requests: bool,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    /// Rate limits.
    pub rate_limits: RateLimits,
    /// Real-time delivery (PROTOCOL B1).
    pub events: EventsConfig,
    /// Connection limits and timeouts.
    pub http: HttpConfig,
    /// A bearer token `GET /metrics` requires; without one the metrics are public (bind the
    /// server to a private address, or set one).
    pub metrics_token: Option<SecretString>,
    /// The URL people reach this server at (`https://pager.example.com`): the base of sign-in
    /// links and of the links channels send; a session cookie is `Secure` when it is https.
    /// Without it, links use the listening address.
    pub public_url: Option<String>,
    /// Sign-in providers of the dashboard (PROTOCOL E2).
    pub auth: AuthConfig,
    /// Notification channels (PROTOCOL F).
    pub channels: ChannelsConfig,
    /// The file of the key that signs the audit log (created with owner-only permissions on
    /// first start). Default: beside the SQLite database (`heysummon.db.audit-key`). Required
    /// with PostgreSQL, where every instance must use the same file.
    pub audit_key_file: Option<PathBuf>,
}

/// The event log and its streams.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// How long the event log keeps events, seconds (default 7 days); older ones are pruned
    /// by the sweeper and can no longer be replayed.
    pub retention_secs: u64,
    /// Longest silence on a stream before a keep-alive comment, seconds (at most 15).
    pub keep_alive_secs: u64,
    /// The `retry:` hint sent to stream clients, milliseconds.
    pub retry_ms: u64,
    /// HS256 secret for Mercure subscriber JWTs; without it only `x-api-key` subscriptions
    /// are accepted.
    pub mercure_jwt_secret: Option<String>,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            retention_secs: 7 * 24 * 3600,
            keep_alive_secs: 15,
            retry_ms: 3000,
            mercure_jwt_secret: None,
        }
    }
}

impl std::fmt::Debug for EventsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsConfig")
            .field("retention_secs", &self.retention_secs)
            .field("keep_alive_secs", &self.keep_alive_secs)
            .field("retry_ms", &self.retry_ms)
            .field(
                "mercure_jwt_secret",
                &self.mercure_jwt_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Fixed 60-second windows. Loopback callers are exempt from the per-IP buckets.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    /// Requests per minute per client IP on `/api/v1/*`.
    pub api_per_ip: u32,
    /// `GET /api/v1/help/*` per minute per client IP.
    pub help_poll_per_ip: u32,
    /// Events endpoints per minute per key.
    pub events_per_key: u32,
    /// Requests per minute per client key (unless the key has its own limit).
    pub per_key: u32,
    /// Exempt 127.0.0.1 and ::1 from the per-IP buckets.
    pub exempt_loopback: bool,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            api_per_ip: 60,
            help_poll_per_ip: 30,
            events_per_key: 300,
            per_key: 150,
            exempt_loopback: true,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://heysummon.db".to_owned(),
            request_ttl_secs: 72 * 3600,
            notification_ttl_secs: 7 * 24 * 3600,
            sweep_interval_secs: 30,
            finished_retention_secs: 30 * 24 * 3600,
            require_signed_requests: false,
            max_body_bytes: 1024 * 1024,
            rate_limits: RateLimits::default(),
            events: EventsConfig::default(),
            http: HttpConfig::default(),
            metrics_token: None,
            public_url: None,
            auth: AuthConfig::default(),
            channels: ChannelsConfig::default(),
            audit_key_file: None,
        }
    }
}

/// A configuration problem, reported at startup.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for these settings.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's explanation.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid setting {name}: {message}")]
    Invalid {
        /// The setting.
        name: &'static str,
        /// Why.
        message: String,
    },
}

impl Config {
    /// The base of links to this server: the public URL, else the listening address (a
    /// loopback one when listening on every address).
    pub fn base_url(&self) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let mut address = self.listen;
        if address.ip().is_unspecified() {
            address.set_ip(if address.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        format!("http://{address}")
    }

    /// Reads an optional TOML file over the defaults, applies the overrides and the database
    /// URL, then validates.
    pub fn load(
        file: Option<&Path>,
        database_url: Option<String>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?
            }
            None => Self::default(),
        };
        if let Some(url) = database_url {
            config.database_url = url;
        }
        let o = overrides;
        let r = &mut config.rate_limits;
        set(&mut config.listen, o.listen);
        set(&mut config.request_ttl_secs, o.request_ttl_secs);
        set(&mut config.notification_ttl_secs, o.notification_ttl_secs);
        set(&mut config.sweep_interval_secs, o.sweep_interval_secs);
        set(
            &mut config.finished_retention_secs,
            o.finished_retention_secs,
        );
        set(
            &mut config.require_signed_requests,
            o.require_signed_requests,
        );
        set(&mut r.api_per_ip, o.rate_limit_api_per_ip);
        set(&mut r.help_poll_per_ip, o.rate_limit_help_poll_per_ip);
        set(&mut r.events_per_key, o.rate_limit_events_per_key);
        set(&mut r.per_key, o.rate_limit_per_key);
        set(&mut r.exempt_loopback, o.rate_limit_exempt_loopback);
        set(&mut config.events.retention_secs, o.events_retention_secs);
        if let Some(token) = &o.metrics_token {
            config.metrics_token = Some(token.clone());
        }
        if let Some(url) = &o.public_url {
            config.public_url = Some(url.clone());
        }
        if let Some(path) = &o.audit_key_file {
            config.audit_key_file = Some(path.clone());
        }
        if let Some(url) = &config.public_url {
            config.public_url = Some(web::normalized_public_url(url)?);
        }
        if let Some(secret) = &o.mercure_jwt_secret {
            config.events.mercure_jwt_secret = Some(secret.expose().to_owned());
        }
        config.auth.apply_overrides(o)?;
        config.channels.apply_overrides(&o.channels);
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("request_ttl_secs", self.request_ttl_secs),
            ("notification_ttl_secs", self.notification_ttl_secs),
            ("sweep_interval_secs", self.sweep_interval_secs),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    name,
                    message: "must be greater than zero".into(),
                });
            }
        }
        if self.events.keep_alive_secs == 0 || self.events.keep_alive_secs > 15 {
            return Err(ConfigError::Invalid {
                name: "events.keep_alive_secs",
                message: "must be between 1 and 15".into(),
            });
        }
        if self.events.retention_secs == 0 {
            return Err(ConfigError::Invalid {
                name: "events.retention_secs",
                message: "must be greater than zero".into(),
            });
        }
        if self
            .events
            .mercure_jwt_secret
            .as_ref()
            .is_some_and(|s| s.len() < 32)
        {
            return Err(ConfigError::Invalid {
                name: "events.mercure_jwt_secret",
                message: "must be at least 32 bytes".into(),
            });
        }
        if self
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.expose().trim().is_empty())
        {
            return Err(ConfigError::Invalid {
                name: "metrics_token",
                message: "must not be empty".into(),
            });
        }
        // Idempotency records are kept 48 h (PROTOCOL B2 promises 24 h): a request must outlive
        // its idempotency record, or a retried create would page again.
        if self.finished_retention_secs < 48 * 3600 {
            return Err(ConfigError::Invalid {
                name: "finished_retention_secs",
                message: "must be at least 172800 (48 hours)".into(),
            });
        }
        let h = &self.http;
        for (name, value) in [
            ("http.header_read_timeout_secs", h.header_read_timeout_secs),
            ("http.body_read_timeout_secs", h.body_read_timeout_secs),
            ("http.shutdown_drain_secs", h.shutdown_drain_secs.max(1)),
        ] {
            if !(1..=3600).contains(&value) {
                return Err(ConfigError::Invalid {
                    name,
                    message: "must be between 1 and 3600".into(),
                });
            }
        }
        if h.max_connections > 1_000_000 {
            return Err(ConfigError::Invalid {
                name: "http.max_connections",
                message: "must be at most 1000000 (0 derives it from the descriptor limit)".into(),
            });
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid {
                name: "max_body_bytes",
                message: "must be at least 1024".into(),
            });
        }
        if self.database_url.trim().is_empty() {
            return Err(ConfigError::Invalid {
                name: "database_url",
                message: "must not be empty".into(),
            });
        }
        self.auth.validate()?;
        self.channels.validate()
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(
            &path,
            "request_ttl_secs = 60\nsweep_interval_secs = 5\n[rate_limits]\nper_key = 10\n",
        )
        .unwrap();
        let overrides = Overrides {
            sweep_interval_secs: Some(7),
            ..Overrides::default()
        };
        let config = Config::load(Some(&path), Some("sqlite://x.db".into()), &overrides).unwrap();
        assert_eq!(config.request_ttl_secs, 60);
        assert_eq!(config.sweep_interval_secs, 7);
        assert_eq!(config.rate_limits.per_key, 10);
        assert_eq!(config.rate_limits.api_per_ip, 60);
        assert_eq!(config.database_url, "sqlite://x.db");
    }

    #[test]
    fn unknown_settings_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(&path, "request_tll_secs = 60\n").unwrap();
        let err = Config::load(Some(&path), None, &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("request_tll_secs"), "{err}");
        let zero = Overrides {
            request_ttl_secs: Some(0),
            ..Overrides::default()
        };
        assert!(Config::load(None, None, &zero).is_err());
    }
}
