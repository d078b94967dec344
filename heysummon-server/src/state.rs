//! Shared state of the running server.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::notify::outbound::Outbound;
use crate::ratelimit::RateLimiter;
use crate::store::Store;
use crate::web::oauth::SignInProviders;

/// What every route can reach. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Persistence.
    pub store: Store,
    /// Time (injectable).
    pub clock: Clock,
    /// Validated configuration.
    pub config: Arc<Config>,
    /// In-process rate-limit counters.
    pub limiter: Arc<RateLimiter>,
    /// Cancelled on graceful shutdown.
    pub shutdown: CancellationToken,
    /// The configured sign-in providers (PROTOCOL E2).
    pub(crate) sign_in: Arc<SignInProviders>,
    /// The HTTP clients of the notification channels (PROTOCOL F).
    pub(crate) outbound: Arc<Outbound>,
    /// This instance among those on one database (the holder of its leases).
    pub(crate) instance_id: String,
}

impl AppState {
    /// State over a store with a clock and a configuration.
    pub fn new(store: Store, clock: Clock, config: Config) -> Self {
        Self {
            store,
            clock,
            sign_in: Arc::new(SignInProviders::from_config(&config)),
            outbound: Arc::new(Outbound::new(&config.channels)),
            instance_id: crate::ids::new_id(),
            config: Arc::new(config),
            limiter: Arc::new(RateLimiter::default()),
            shutdown: CancellationToken::new(),
        }
    }
}

impl AppState {
    /// Spends one request of a client key's per-minute budget. With several instances on one
    /// database the window is counted there, so the limit holds across them; a single
    /// instance (SQLite), or a database that cannot count now, counts in memory.
    pub(crate) async fn key_allows(
        &self,
        key_id: &str,
        limit: u32,
        now: crate::clock::Millis,
    ) -> bool {
        let bucket = format!("key:{key_id}");
        let window = crate::ratelimit::window_start(now);
        match self.store.count_shared_hit(&bucket, window).await {
            Ok(Some(hits)) => hits <= limit,
            Ok(None) => self.limiter.hit(&bucket, limit, now),
            Err(error) => {
                tracing::warn!(%error, "cannot count a shared rate-limit window");
                self.limiter.hit(&bucket, limit, now)
            }
        }
    }

    /// Spends one request of a per-IP bucket (`{bucket}:{ip}`, `limit` a minute); `false` when
    /// the bucket is empty. Loopback callers are exempt unless configured otherwise, and so is
    /// a request of unknown origin. The client IP is the TCP peer: forwarded-for headers are not
    /// trusted.
    pub(crate) fn ip_allows(
        &self,
        peer: Option<std::net::IpAddr>,
        bucket: &str,
        limit: u32,
    ) -> bool {
        let Some(ip) = peer else {
            return true;
        };
        if self.config.rate_limits.exempt_loopback && crate::http::is_loopback(ip) {
            return true;
        }
        self.limiter
            .hit(&format!("{bucket}:{ip}"), limit, self.clock.now())
    }
}
