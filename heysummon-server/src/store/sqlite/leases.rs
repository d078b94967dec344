//! Leases (and the rate-limit windows, unused by a single instance but pruned alike).

use rusqlite::params;

use super::SqliteStore;
use crate::clock::Millis;
use crate::store::StoreError;

impl SqliteStore {
    pub(crate) async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        until: Millis,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |conn| {
            let taken = conn
                .prepare_cached(
                    "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
                     WHERE leases.holder = excluded.holder OR leases.until < ?4",
                )?
                .execute(params![name, holder, until, now])?;
            Ok(taken > 0)
        })
        .await
    }

    pub(crate) async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |conn| {
            conn.execute(
                "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                params![name, holder],
            )?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn prune_rate_windows(&self, before: Millis) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute("DELETE FROM rate_windows WHERE window_start < ?1", [before])?;
            Ok(())
        })
        .await
    }
}
