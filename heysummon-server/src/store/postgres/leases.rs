//! Leases and rate-limit windows shared by every instance on the database.

use super::{PgStore, pg};
use crate::clock::Millis;
use crate::store::StoreError;

impl PgStore {
    pub(crate) async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        until: Millis,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
                 WHERE leases.holder = excluded.holder OR leases.until < $4",
            )
            .await
            .map_err(pg)?;
        let taken = client
            .execute(&statement, &[&name, &holder, &until, &now])
            .await
            .map_err(pg)?;
        Ok(taken > 0)
    }

    pub(crate) async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "DELETE FROM leases WHERE name = $1 AND holder = $2",
                &[&name, &holder],
            )
            .await
            .map_err(pg)?;
        Ok(())
    }

    /// One hit of a shared rate-limit window; the hits so far.
    ///
    /// Every call of a key counts on the same row, so each holds its lock until its commit.
    /// The commit does not wait for the WAL flush (`synchronous_commit` off for this statement's
    /// own transaction, set within it): a crash may forget the last hits of a window, which a
    /// rate limit can afford, and a key's calls no longer take turns at one flush each.
    pub(crate) async fn count_shared_hit(
        &self,
        bucket: &str,
        window_start: Millis,
    ) -> Result<u32, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO rate_windows (bucket, window_start, hits)
                 SELECT $1::TEXT, $2::BIGINT, 1
                 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed
                 ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_windows.hits + 1
                 RETURNING hits",
            )
            .await
            .map_err(pg)?;
        let row = client
            .query_one(&statement, &[&bucket, &window_start])
            .await
            .map_err(pg)?;
        let hits: i64 = row.try_get(0).map_err(pg)?;
        Ok(u32::try_from(hits).unwrap_or(u32::MAX))
    }

    pub(crate) async fn prune_rate_windows(&self, before: Millis) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "DELETE FROM rate_windows WHERE window_start < $1",
                &[&before],
            )
            .await
            .map_err(pg)?;
        Ok(())
    }
}
