//! Connection settings and the schema migrations compiled into the binary.

use rusqlite::Connection;

use super::error::SqlResult;

/// The migrations, in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/sqlite/0001_init.sql"),
    include_str!("../../../migrations/sqlite/0002_retention.sql"),
    include_str!("../../../migrations/sqlite/0003_web.sql"),
    include_str!("../../../migrations/sqlite/0004_sign_in_flows.sql"),
    include_str!("../../../migrations/sqlite/0005_channels.sql"),
    include_str!("../../../migrations/sqlite/0006_leases.sql"),
    include_str!("../../../migrations/sqlite/0007_audit_log.sql"),
    include_str!("../../../migrations/sqlite/0008_decisions.sql"),
];

/// Waiting for a lock held by another process, at most.
pub(super) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Prepared statements each connection keeps.
pub(super) const STATEMENT_CACHE: usize = 64;

/// Settings of the write connection: WAL, `synchronous=NORMAL`, foreign keys.
pub(super) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Applies the migrations the database has not seen, each in its own transaction.
pub(super) fn migrate(conn: &mut Connection) -> SqlResult<()> {
    let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}
