//! What the command line and the `HEYSUMMON_*` environment can set over the file, and the
//! secret type whose `Debug` never shows it.

use std::net::SocketAddr;

use serde::Deserialize;

/// Values given on the command line or in `HEYSUMMON_*` variables; `None` means not given.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Overrides {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "HEYSUMMON_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Time to live of help requests in seconds [default: 259200].
    #[arg(long, env = "HEYSUMMON_REQUEST_TTL_SECS")]
    pub request_ttl_secs: Option<u64>,
    /// Time to live of notifications in seconds [default: 604800].
    #[arg(long, env = "HEYSUMMON_NOTIFICATION_TTL_SECS")]
    pub notification_ttl_secs: Option<u64>,
    /// Sweeper interval in seconds [default: 30].
    #[arg(long, env = "HEYSUMMON_SWEEP_INTERVAL_SECS")]
    pub sweep_interval_secs: Option<u64>,
    /// How long finished requests are kept, seconds [default: 2592000].
    #[arg(long, env = "HEYSUMMON_FINISHED_RETENTION_SECS")]
    pub finished_retention_secs: Option<u64>,
    /// Require signed requests (PROTOCOL B4) from every client key [default: false].
    #[arg(long, env = "HEYSUMMON_REQUIRE_SIGNED_REQUESTS")]
    pub require_signed_requests: Option<bool>,
    /// Per-IP limit on /api/v1/* per minute [default: 60].
    #[arg(long, env = "HEYSUMMON_RATE_LIMIT_API_PER_IP")]
    pub rate_limit_api_per_ip: Option<u32>,
    /// Per-IP limit on GET /api/v1/help/* per minute [default: 30].
    #[arg(long, env = "HEYSUMMON_RATE_LIMIT_HELP_POLL_PER_IP")]
    pub rate_limit_help_poll_per_ip: Option<u32>,
    /// Per-key limit on the events endpoints per minute [default: 300].
    #[arg(long, env = "HEYSUMMON_RATE_LIMIT_EVENTS_PER_KEY")]
    pub rate_limit_events_per_key: Option<u32>,
    /// Per-client-key limit per minute [default: 150].
    #[arg(long, env = "HEYSUMMON_RATE_LIMIT_PER_KEY")]
    pub rate_limit_per_key: Option<u32>,
    /// Exempt loopback callers from the per-IP limits [default: true].
    #[arg(long, env = "HEYSUMMON_RATE_LIMIT_EXEMPT_LOOPBACK")]
    pub rate_limit_exempt_loopback: Option<bool>,
    /// How long the event log keeps events, seconds [default: 604800].
    #[arg(long, env = "HEYSUMMON_EVENTS_RETENTION_SECS")]
    pub events_retention_secs: Option<u64>,
    /// HS256 secret for Mercure subscriber JWTs [default: none].
    #[arg(long, env = "HEYSUMMON_MERCURE_JWT_SECRET", hide_env_values = true)]
    pub mercure_jwt_secret: Option<SecretString>,
    /// Bearer token required by `GET /metrics` [default: none, public].
    #[arg(long, env = "HEYSUMMON_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<SecretString>,
    /// The URL people reach this server at, the base of sign-in links [default: the listening
    /// address].
    #[arg(long, env = "HEYSUMMON_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Client secret of `[auth.github]` [default: the file's].
    #[arg(
        long,
        env = "HEYSUMMON_AUTH_GITHUB_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub auth_github_client_secret: Option<SecretString>,
    /// Client secret of `[auth.google]` [default: the file's].
    #[arg(
        long,
        env = "HEYSUMMON_AUTH_GOOGLE_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub auth_google_client_secret: Option<SecretString>,
    /// Client secret of `[auth.oidc]` [default: the file's].
    #[arg(
        long,
        env = "HEYSUMMON_AUTH_OIDC_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub auth_oidc_client_secret: Option<SecretString>,
    /// The audit log's signing key file [default: beside the SQLite database; required with
    /// PostgreSQL].
    #[arg(long, env = "HEYSUMMON_AUDIT_KEY_FILE")]
    pub audit_key_file: Option<std::path::PathBuf>,
    /// `[channels]` settings.
    #[command(flatten)]
    pub channels: super::ChannelOverrides,
}

/// A secret given in the file, on the command line or in the environment; `Debug` never shows
/// it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for SecretString {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self(text.to_owned()))
    }
}
