//! The PostgreSQL backend, for several server instances on one database.
//!
//! - A pool of connections (deadpool-postgres over tokio-postgres); every write is one
//!   transaction of its own, and optimistic versions on requests settle races between
//!   instances.
//! - [`migrate`]: the schema, applied at start-up under an advisory lock, so instances
//!   starting together do not race.
//! - [`sequencer`]: writers stage their events in an inbox and commit side by side; a sequencer
//!   pass moves them into the log under an advisory lock, so positions become visible in
//!   commit order (a reader at position N never misses a smaller one committed later).
//! - [`events`]: the listener that runs those passes and publishes on this instance's bus what
//!   any instance appended, woken by `NOTIFY`, re-reading the log from the bus's cursor (so a
//!   lost notification, or a reconnect, loses nothing).
//! - [`rows`]: mapping rows to records; the queries by resource, as for SQLite.

mod accounts;
mod audit;
mod changes;
mod channels;
mod error;
mod events;
mod leases;
mod log;
mod migrate;
mod outbox;
mod requests;
mod rows;
mod sequencer;
mod tokens;
mod web;

use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

pub(super) use self::error::{PgResult, pg};
pub(super) use self::sequencer::sequence;
use crate::bus::EventBus;
use crate::store::StoreError;

/// Connections per instance.
const POOL_SIZE: usize = 16;

/// Commits a transaction, timing it for the store's commit latency metric (as SQLite's group
/// commits are).
pub(super) async fn commit(tx: deadpool_postgres::Transaction<'_>) -> PgResult<()> {
    let began = std::time::Instant::now();
    let committed = tx.commit().await.map_err(pg);
    crate::telemetry::commit(began.elapsed());
    committed
}

/// The PostgreSQL store. Cheap to clone.
#[derive(Clone)]
pub(super) struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    bus: EventBus,
    config: tokio_postgres::Config,
    listener: tokio_util::sync::CancellationToken,
    /// Wakes the listener after this instance appended events.
    appended: Arc<tokio::sync::Notify>,
    /// The writers' requests for scans, and the listener's progress.
    scans: events::Scans,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration may hold a password: only where it points.
        f.debug_struct("PgStore")
            .field("hosts", &self.inner.config.get_hosts())
            .field("dbname", &self.inner.config.get_dbname())
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.listener.cancel();
    }
}

impl PgStore {
    /// Connects, migrates (under the migration lock) and starts listening for the events other
    /// instances append; appended events are published on `bus`, starting after those the log
    /// already holds.
    pub(super) async fn open(url: &str, bus: EventBus) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Unavailable(format!("invalid PostgreSQL URL: {e}")))?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Unavailable(format!("no connection pool: {e}")))?;
        let store = Self {
            inner: Arc::new(Inner {
                pool,
                bus,
                config,
                listener: tokio_util::sync::CancellationToken::new(),
                appended: Arc::default(),
                scans: events::Scans::default(),
            }),
        };
        migrate::migrate(&store).await?;
        let last = store.last_logged().await?;
        store.inner.bus.publisher().await.skip_to(last);
        events::listen(&store);
        Ok(store)
    }

    /// A pooled connection.
    pub(super) async fn client(&self) -> PgResult<Object> {
        self.inner
            .pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))
    }

    /// The bus this store publishes on.
    pub(super) fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    /// A trivial query.
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        self.client()
            .await?
            .simple_query("SELECT 1")
            .await
            .map(|_| ())
            .map_err(pg)
    }
}
