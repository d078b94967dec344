//! The audit log: appending inside a write's transaction (the single writer serialises
//! appends, so the chain stays linear) and reading entries back.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqliteStore;
use super::error::SqlResult;
use crate::audit::AuditEntry;
use crate::audit::chain::ChainHead;
use crate::store::StoreError;
use crate::store::audit::AuditAppend;

const SELECT: &str = "SELECT seq, created_at, kind, actor, subject, details, prev_hash, hash,
    key_id, signature FROM audit_log";

/// Appends the entries of `append` (when there are any) after the newest entry, in the
/// caller's transaction.
pub(super) fn append(conn: &Connection, append: Option<&AuditAppend>) -> SqlResult<()> {
    let Some(append) = append else {
        return Ok(());
    };
    let head = conn
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| {
            Ok(ChainHead {
                seq: row.get(0)?,
                hash: row.get(1)?,
            })
        })
        .optional()?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO audit_log (seq, created_at, kind, actor, subject, details, prev_hash, hash,
            key_id, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for e in append.entries_after(head) {
        insert.execute(params![
            e.seq,
            e.created_at,
            e.kind,
            e.actor,
            e.subject,
            e.details,
            e.prev_hash,
            e.hash,
            e.key_id,
            e.signature
        ])?;
    }
    Ok(())
}

fn entry_row(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: row.get(0)?,
        created_at: row.get(1)?,
        kind: row.get(2)?,
        actor: row.get(3)?,
        subject: row.get(4)?,
        details: row.get(5)?,
        prev_hash: row.get(6)?,
        hash: row.get(7)?,
        key_id: row.get(8)?,
        signature: row.get(9)?,
    })
}

impl SqliteStore {
    pub(crate) async fn audit_entries_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached(&format!("{SELECT} WHERE seq > ?1 ORDER BY seq LIMIT ?2"))?;
            let rows = stmt.query_map(params![after, limit], entry_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    pub(crate) async fn audit_last_entry(&self) -> Result<Option<AuditEntry>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!("{SELECT} ORDER BY seq DESC LIMIT 1"))?;
            Ok(stmt.query_row([], entry_row).optional()?)
        })
        .await
    }

    pub(crate) async fn audit_entries_about(
        &self,
        subject: &str,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let subject = subject.to_owned();
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached(&format!("{SELECT} WHERE subject = ?1 ORDER BY seq"))?;
            let rows = stmt.query_map([subject], entry_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}
