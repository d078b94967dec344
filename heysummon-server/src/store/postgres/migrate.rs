//! The schema, applied at start-up under a session-level advisory lock: instances starting
//! together take turns, and each applies only what the database has not seen.

use super::{PgStore, pg};
use crate::store::StoreError;

/// The migrations, in order; `schema_migrations` records those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/postgres/0001_init.sql"),
    include_str!("../../../migrations/postgres/0002_leases.sql"),
    include_str!("../../../migrations/postgres/0003_event_inbox.sql"),
    include_str!("../../../migrations/postgres/0004_audit_log.sql"),
    include_str!("../../../migrations/postgres/0005_decisions.sql"),
];

/// The advisory lock key of migrations (any constant unique to this use).
const MIGRATION_LOCK: i64 = 0x4845_5953_554d_0001;

pub(super) async fn migrate(store: &PgStore) -> Result<(), StoreError> {
    let mut client = store.client().await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg)?;
    let applied = apply(&mut client).await;
    // Released whatever happened (a failed migration must not keep the others waiting).
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg);
    applied.and(unlocked.map(|_| ()))
}

async fn apply(client: &mut deadpool_postgres::Object) -> Result<(), StoreError> {
    // Created once (asking first keeps `IF NOT EXISTS` notices out of the log).
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await
        .map_err(pg)?
        .get(0);
    if !exists {
        client
            .batch_execute(
                "CREATE TABLE schema_migrations (
                    version BIGINT PRIMARY KEY,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )",
            )
            .await
            .map_err(pg)?;
    }
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(pg)?;
    let done: i64 = row.get(0);
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
        if version <= done {
            continue;
        }
        let tx = client.transaction().await.map_err(pg)?;
        tx.batch_execute(sql).await.map_err(pg)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
    }
    Ok(())
}
