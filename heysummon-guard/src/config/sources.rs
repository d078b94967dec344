//! Where settings come from besides the defaults: the TOML file ([`FileConfig`]) and the flags
//! and `HEYSUMMON_*` environment variables ([`Overrides`], filled by clap).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::SafetyMode;
use crate::error::Error;

/// The TOML file: every member optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) upstream: Option<String>,
    pub(super) listen: Option<String>,
    pub(super) allow_non_loopback: Option<bool>,
    pub(super) api_key_file: Option<PathBuf>,
    pub(super) device_token_file: Option<PathBuf>,
    pub(super) device_key_file: Option<PathBuf>,
    pub(super) key_store_dir: Option<PathBuf>,
    pub(super) max_body_bytes: Option<usize>,
    pub(super) upstream_timeout_secs: Option<u64>,
    pub(super) connect_timeout_secs: Option<u64>,
    pub(super) body_read_timeout_secs: Option<u64>,
    pub(super) max_connections: Option<usize>,
    pub(super) safety: Option<SafetyMode>,
    pub(super) auto_enroll: Option<bool>,
    pub(super) workers: Option<usize>,
    pub(super) mcp_hold_secs: Option<u64>,
    pub(super) ca_file: Option<PathBuf>,
    pub(super) allow_insecure_upstream: Option<bool>,
}

impl FileConfig {
    pub(super) fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        toml::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: {}", path.display(), e.message())))
    }
}

/// The settings given as flags or `HEYSUMMON_*` environment variables (clap fills both).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Overrides {
    /// TOML configuration file.
    #[arg(long, env = "HEYSUMMON_GUARD_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// The HeySummon server [default: http://127.0.0.1:8080].
    #[arg(long, env = "HEYSUMMON_UPSTREAM", global = true)]
    pub upstream: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8787].
    #[arg(long, env = "HEYSUMMON_GUARD_LISTEN", global = true)]
    pub listen: Option<String>,
    /// Allow a listen address that is not loopback.
    #[arg(long, global = true)]
    pub allow_non_loopback: bool,
    /// Extra certificate authorities to trust for an https:// upstream (PEM, one or more
    /// certificates), besides the system's: for a server with a self-signed or private CA.
    #[arg(long, env = "HEYSUMMON_CA_FILE", global = true)]
    pub ca_file: Option<PathBuf>,
    /// Allow a plain http:// upstream on another machine (the API key and every question then
    /// cross the network unencrypted). Without it, http:// is only allowed to loopback.
    #[arg(long, env = "HEYSUMMON_ALLOW_INSECURE_UPSTREAM", global = true)]
    pub allow_insecure_upstream: bool,
    /// File holding the client API key (else HEYSUMMON_API_KEY).
    #[arg(long, env = "HEYSUMMON_API_KEY_FILE", global = true)]
    pub api_key_file: Option<PathBuf>,
    /// File holding the device token of a key bound to one (else HEYSUMMON_DEVICE_TOKEN).
    #[arg(long, env = "HEYSUMMON_DEVICE_TOKEN_FILE", global = true)]
    pub device_token_file: Option<PathBuf>,
    /// The device key file [default: $XDG_DATA_HOME/heysummon/guard/device.key].
    #[arg(long, env = "HEYSUMMON_DEVICE_KEY_FILE", global = true)]
    pub device_key_file: Option<PathBuf>,
    /// Folder of the guard's key store (per-request keys, expert pins) [default: keys/ beside
    /// the device key file].
    #[arg(long, env = "HEYSUMMON_KEY_STORE_DIR", global = true)]
    pub key_store_dir: Option<PathBuf>,
    /// Largest request body in bytes [default: 1048576].
    #[arg(long, env = "HEYSUMMON_MAX_BODY_BYTES", global = true)]
    pub max_body_bytes: Option<usize>,
    /// Upstream response timeout for ordinary requests, seconds [default: 30].
    #[arg(long, env = "HEYSUMMON_UPSTREAM_TIMEOUT_SECS", global = true)]
    pub upstream_timeout_secs: Option<u64>,
    /// Upstream connect timeout, seconds [default: 5].
    #[arg(long, env = "HEYSUMMON_CONNECT_TIMEOUT_SECS", global = true)]
    pub connect_timeout_secs: Option<u64>,
    /// Content safety: block (422 locally) or flag (forward, log the finding types).
    #[arg(long, value_enum, env = "HEYSUMMON_SAFETY", global = true)]
    pub safety: Option<SafetyMode>,
    /// Do not enroll the device key when `serve` starts.
    #[arg(long, global = true)]
    pub no_auto_enroll: bool,
    /// Serving threads, each its own tokio runtime (0: one per CPU, at most 4).
    #[arg(long, env = "HEYSUMMON_GUARD_WORKERS", global = true)]
    pub workers: Option<usize>,
    /// Longest an MCP tool call holds before answering "pending", seconds (1 to 45) [default: 45].
    #[arg(long, env = "HEYSUMMON_MCP_HOLD_SECS", global = true)]
    pub mcp_hold_secs: Option<u64>,
}
