//! Coordination between server instances on one database: named leases (one instance at a
//! time runs the sweeper or delivers a channel) and per-key rate-limit windows counted in the
//! database, so a key's limit holds across instances.

use super::{Backend, Store, StoreError};
use crate::clock::Millis;

impl Store {
    /// Whether several server instances may share this database (PostgreSQL), so work that
    /// only one may do at a time needs a lease. A SQLite file is served by one process: there,
    /// a restarted server must not wait for the leases its killed predecessor held.
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Takes or renews the lease `name` for `holder` until `until`: `true` when `holder` holds
    /// it now (it was free, lapsed before `now`, or already theirs).
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        until: Millis,
        now: Millis,
    ) -> Result<bool, StoreError> {
        delegate!(self.take_lease(name, holder, until, now))
    }

    /// Gives the lease `name` up, if `holder` holds it (at shutdown, so another instance
    /// takes over at once).
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        delegate!(self.release_lease(name, holder))
    }

    /// Counts one hit of `bucket` in the window that began at `window_start`, for every
    /// instance: the hits so far, this one included. `None` when the backend serves a single
    /// instance (SQLite), whose in-process counters are the whole truth.
    pub async fn count_shared_hit(
        &self,
        bucket: &str,
        window_start: Millis,
    ) -> Result<Option<u32>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(db) => db.count_shared_hit(bucket, window_start).await.map(Some),
        }
    }

    /// Deletes rate-limit windows that began before `before`.
    pub async fn prune_rate_windows(&self, before: Millis) -> Result<(), StoreError> {
        delegate!(self.prune_rate_windows(before))
    }
}
