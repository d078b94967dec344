//! Configuration: defaults → optional TOML file (`--config`) → `HEYSUMMON_*` environment →
//! flags, validated once at startup.
//!
//! The API key is never a flag (a flag would show in `ps`): it comes from a file
//! (`api_key_file`, `HEYSUMMON_API_KEY_FILE`, `--api-key-file`) or from `HEYSUMMON_API_KEY`.
//! A file named on the command line or in the environment wins over `HEYSUMMON_API_KEY`, which
//! wins over a file named in the TOML file.
//!
//! The upstream is `https://` (trusting the system's root certificates and the `ca_file`) or,
//! to this machine only unless `allow_insecure_upstream`, `http://` ([`upstream`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper::Uri;
use serde::Deserialize;

use crate::apikey::ApiKey;
use crate::error::Error;

mod sources;
mod upstream;

use sources::FileConfig;
pub use sources::Overrides;
pub use upstream::{check_plain_upstream, is_https, is_loopback_host, parse_upstream};

/// The default upstream server.
pub const DEFAULT_UPSTREAM: &str = "http://127.0.0.1:8080";
/// The default listen address (loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
/// The longest an MCP tool call holds (PROTOCOL G2).
pub const MAX_MCP_HOLD: Duration = Duration::from_secs(45);
/// The largest request body forwarded (PROTOCOL A: 1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// What to do with content the safety rules block (PROTOCOL A, "Content safety").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SafetyMode {
    /// Refuse locally with 422; nothing is forwarded (the default).
    #[default]
    Block,
    /// Forward anyway and log the finding types (never the content). The server applies the
    /// same rules and refuses blocking findings itself.
    Flag,
}

/// Limits on proxied requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, bytes; larger ones get 413 and are not forwarded.
    pub max_body_bytes: usize,
    /// How long an ordinary request may wait for the upstream's response head (a long-poll
    /// `?wait=N` adds N seconds; event streams have no total timeout).
    pub upstream_timeout: Duration,
    /// How long opening an upstream connection may take.
    pub connect_timeout: Duration,
    /// How long an agent may take to send a whole request body once its headers arrived; then
    /// 408 and the connection is closed.
    pub body_read_timeout: Duration,
    /// Most agent connections served at once (all serving threads together); more are
    /// answered 503 and closed.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            upstream_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 512,
        }
    }
}

/// Every setting of the guard, validated.
#[derive(Clone, Debug)]
pub struct Config {
    /// The HeySummon server, `https://host[:port]` or `http://host:port` (optionally with a
    /// path prefix).
    pub upstream: Uri,
    /// Extra certificate authorities (a PEM file of one or more certificates) trusted for an
    /// `https://` upstream besides the system's roots, for a self-signed or private CA.
    pub ca_file: Option<PathBuf>,
    /// Whether a plain `http://` upstream on another machine is allowed (without it, `http://`
    /// is only allowed to loopback).
    pub allow_insecure_upstream: bool,
    /// Where the guard listens.
    pub listen: SocketAddr,
    /// Whether a non-loopback listen address is allowed.
    pub allow_non_loopback: bool,
    /// The client (agent) API key the guard injects. `Debug` redacts it.
    pub api_key: ApiKey,
    /// The `x-device-token` the guard injects, for a key bound to a device token (PROTOCOL D):
    /// `HEYSUMMON_DEVICE_TOKEN` or `device_token_file`. `Debug` redacts it.
    pub device_token: Option<ApiKey>,
    /// The Ed25519 device key file (created on first run).
    pub device_key_file: PathBuf,
    /// Where the guard keeps the per-request keys of the requests it seals for agents and the
    /// experts' pinned fingerprints (owner-only files); `None` keeps them in memory only, so
    /// answers to earlier requests cannot be opened after a restart. [`Config::load`] defaults
    /// it to `keys/` beside the device key file.
    pub key_store_dir: Option<PathBuf>,
    /// Request limits and timeouts.
    pub limits: Limits,
    /// Block or only flag unsafe content.
    pub safety: SafetyMode,
    /// Whether `serve` enrolls the device key at startup when the server has none for the key.
    pub auto_enroll: bool,
    /// Serving threads for `serve`, each with its own current-thread tokio runtime, accept loop
    /// and upstream pool (0: one per CPU, at most 4).
    pub workers: usize,
    /// The longest an MCP tool call holds before it answers "pending" (1 to 45 s; default
    /// 45 s, below every agent host's tool-call timeout).
    pub mcp_hold: Duration,
}

impl Config {
    /// Defaults for everything but the upstream, the key and the device key file.
    pub fn new(upstream: &str, api_key: ApiKey, device_key_file: PathBuf) -> Result<Self, Error> {
        let config = Self {
            upstream: parse_upstream(upstream)?,
            ca_file: None,
            allow_insecure_upstream: false,
            listen: parse_listen(DEFAULT_LISTEN)?,
            allow_non_loopback: false,
            api_key,
            device_token: None,
            device_key_file,
            key_store_dir: None,
            limits: Limits::default(),
            safety: SafetyMode::Block,
            auto_enroll: true,
            workers: 0,
            mcp_hold: MAX_MCP_HOLD,
        };
        config.validate()?;
        Ok(config)
    }

    /// Layers the TOML file (when given), the environment and the flags over the defaults,
    /// then validates. `env` looks up an environment variable (only `HEYSUMMON_API_KEY` and
    /// `HEYSUMMON_DEVICE_TOKEN` are read through it; the other variables arrive through
    /// `overrides`, which clap fills).
    pub fn load(
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let file = match &overrides.config {
            Some(path) => FileConfig::read(path)?,
            None => FileConfig::default(),
        };
        let upstream = pick(&overrides.upstream, &file.upstream, DEFAULT_UPSTREAM);
        let listen = pick(&overrides.listen, &file.listen, DEFAULT_LISTEN);
        let api_key = match (&overrides.api_key_file, env("HEYSUMMON_API_KEY")) {
            (Some(path), _) => ApiKey::read_file(path)?,
            (None, Some(key)) => ApiKey::new(key)?,
            (None, None) => match &file.api_key_file {
                Some(path) => ApiKey::read_file(path)?,
                None => {
                    return Err(Error::Config(
                        "no API key: set HEYSUMMON_API_KEY, or api_key_file (TOML, \
                         HEYSUMMON_API_KEY_FILE or --api-key-file)"
                            .into(),
                    ));
                }
            },
        };
        let device_token = match (&overrides.device_token_file, env("HEYSUMMON_DEVICE_TOKEN")) {
            (Some(path), _) => Some(ApiKey::read_file(path)?),
            (None, Some(token)) => Some(ApiKey::new(token)?),
            (None, None) => file
                .device_token_file
                .as_deref()
                .map(ApiKey::read_file)
                .transpose()?,
        };
        let device_key_file = overrides
            .device_key_file
            .clone()
            .or_else(|| file.device_key_file.clone())
            .unwrap_or_else(default_device_key_file);
        let key_store_dir = overrides
            .key_store_dir
            .clone()
            .or_else(|| file.key_store_dir.clone())
            .unwrap_or_else(|| default_key_store_dir(&device_key_file));
        let defaults = Limits::default();
        let secs = |flag: Option<u64>, toml: Option<u64>, default: Duration| {
            flag.or(toml).map_or(default, Duration::from_secs)
        };
        let config = Self {
            upstream: parse_upstream(&upstream)?,
            ca_file: overrides.ca_file.clone().or_else(|| file.ca_file.clone()),
            allow_insecure_upstream: overrides.allow_insecure_upstream
                || file.allow_insecure_upstream.unwrap_or(false),
            listen: parse_listen(&listen)?,
            allow_non_loopback: overrides.allow_non_loopback
                || file.allow_non_loopback.unwrap_or(false),
            api_key,
            device_token,
            device_key_file,
            key_store_dir: Some(key_store_dir),
            limits: Limits {
                max_body_bytes: overrides
                    .max_body_bytes
                    .or(file.max_body_bytes)
                    .unwrap_or(defaults.max_body_bytes),
                upstream_timeout: secs(
                    overrides.upstream_timeout_secs,
                    file.upstream_timeout_secs,
                    defaults.upstream_timeout,
                ),
                connect_timeout: secs(
                    overrides.connect_timeout_secs,
                    file.connect_timeout_secs,
                    defaults.connect_timeout,
                ),
                body_read_timeout: secs(
                    None,
                    file.body_read_timeout_secs,
                    defaults.body_read_timeout,
                ),
                max_connections: file.max_connections.unwrap_or(defaults.max_connections),
            },
            safety: overrides.safety.or(file.safety).unwrap_or_default(),
            auto_enroll: !overrides.no_auto_enroll && file.auto_enroll.unwrap_or(true),
            workers: overrides.workers.or(file.workers).unwrap_or(0),
            mcp_hold: secs(overrides.mcp_hold_secs, file.mcp_hold_secs, MAX_MCP_HOLD),
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the combination of settings.
    pub fn validate(&self) -> Result<(), Error> {
        check_plain_upstream(&self.upstream, self.allow_insecure_upstream)?;
        if !(1..=1_000_000).contains(&self.limits.max_connections) {
            return Err(Error::Config(
                "max_connections must be between 1 and 1000000".into(),
            ));
        }
        let body = self.limits.body_read_timeout;
        if body.is_zero() || body > Duration::from_secs(3600) {
            return Err(Error::Config(
                "body_read_timeout_secs must be between 1 and 3600".into(),
            ));
        }
        if !self.listen.ip().is_loopback() && !self.allow_non_loopback {
            return Err(Error::Config(format!(
                "listen address {} is not a loopback address: the guard holds credentials and \
                 signs for whoever connects; pass --allow-non-loopback to listen there anyway",
                self.listen
            )));
        }
        if self.limits.max_body_bytes == 0 || self.limits.max_body_bytes > 64 * 1024 * 1024 {
            return Err(Error::Config(
                "max_body_bytes must be between 1 and 67108864".into(),
            ));
        }
        if self.limits.upstream_timeout.is_zero() || self.limits.connect_timeout.is_zero() {
            return Err(Error::Config("timeouts must be at least 1 second".into()));
        }
        if self.workers > 64 {
            return Err(Error::Config("workers must be at most 64".into()));
        }
        if self.mcp_hold.is_zero() || self.mcp_hold > MAX_MCP_HOLD {
            return Err(Error::Config(
                "mcp_hold_secs must be between 1 and 45".into(),
            ));
        }
        Ok(())
    }
}

fn pick(flag: &Option<String>, toml: &Option<String>, default: &str) -> String {
    flag.clone()
        .or_else(|| toml.clone())
        .unwrap_or_else(|| default.to_owned())
}

fn parse_listen(text: &str) -> Result<SocketAddr, Error> {
    text.parse().map_err(|_| {
        Error::Config(format!(
            "listen {text:?}: not an address like 127.0.0.1:8787"
        ))
    })
}

/// The default device key file: `$XDG_DATA_HOME/heysummon/guard/device.key`, else
/// `$HOME/.local/share/heysummon/guard/device.key`, else `./heysummon-guard/device.key`.
pub fn default_device_key_file() -> PathBuf {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(data) = non_empty("XDG_DATA_HOME") {
        return PathBuf::from(data).join("heysummon/guard/device.key");
    }
    if let Some(home) = non_empty("HOME") {
        return PathBuf::from(home).join(".local/share/heysummon/guard/device.key");
    }
    PathBuf::from("heysummon-guard/device.key")
}

/// The default key store: `keys/` in the device key file's folder.
pub fn default_key_store_dir(device_key_file: &Path) -> PathBuf {
    device_key_file
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("keys"), |parent| parent.join("keys"))
}

#[cfg(test)]
mod tests;
