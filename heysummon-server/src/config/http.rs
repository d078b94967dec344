//! How the server treats connections: how long a client may take to send a request, how many
//! connections it serves at once, how long a shutdown waits for the ones in flight.

use serde::Deserialize;

/// Connection limits (TOML section `[http]`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Longest a client may take to send a request's headers, and longest a keep-alive
    /// connection may stay idle between requests, seconds (default 30).
    pub header_read_timeout_secs: u64,
    /// Longest a client may take to send a whole request body once its headers arrived,
    /// seconds (default 30); then 408 and the connection is closed.
    pub body_read_timeout_secs: u64,
    /// Most connections served at once (event streams included); more are answered 503 and
    /// closed. 0 (the default) derives it from the process's file-descriptor limit.
    pub max_connections: usize,
    /// On shutdown, how long requests in flight may take to finish before their connections
    /// are closed, seconds (default 10).
    pub shutdown_drain_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_secs: 30,
            body_read_timeout_secs: 30,
            max_connections: 0,
            shutdown_drain_secs: 10,
        }
    }
}

/// Descriptors kept free for the database, the log and outgoing connections.
const RESERVED_DESCRIPTORS: u64 = 64;
/// The cap when the descriptor limit cannot be read or is unlimited.
const FALLBACK_MAX_CONNECTIONS: usize = 4096;

impl HttpConfig {
    /// The connection cap in force: the configured one, or (for 0) the soft file-descriptor
    /// limit minus a reserve, so the process never runs out of descriptors for its database
    /// and its own connections.
    pub fn connection_cap(&self) -> usize {
        if self.max_connections > 0 {
            return self.max_connections;
        }
        match rustix::process::getrlimit(rustix::process::Resource::Nofile).current {
            Some(limit) => {
                let reserve = RESERVED_DESCRIPTORS.max(limit / 16);
                usize::try_from(limit.saturating_sub(reserve).max(16))
                    .unwrap_or(FALLBACK_MAX_CONNECTIONS)
            }
            None => FALLBACK_MAX_CONNECTIONS,
        }
    }
}
