//! The audit log: appending inside a write's transaction, serialised across instances by an
//! advisory lock held until that transaction ends (so every append reads the newest entry
//! committed before it, and the chain stays linear), and reading entries back.

use deadpool_postgres::Transaction;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::rows::col;
use super::{PgResult, PgStore, pg};
use crate::audit::AuditEntry;
use crate::audit::chain::ChainHead;
use crate::store::StoreError;
use crate::store::audit::AuditAppend;

/// The advisory lock key of audit appends (any constant unique to this use).
const AUDIT_LOCK: i64 = 0x4845_5953_554d_0002;

const SELECT: &str = "SELECT seq, created_at, kind, actor, subject, details, prev_hash, hash,
    key_id, signature FROM audit_log";

/// Appends the entries of `append` (when there are any) after the newest entry, in `tx`. Call
/// it last in a transaction: the lock it takes is held until the commit, and a transaction
/// holding it must not wait for anything else (no lock cycle with row locks).
pub(super) async fn append(tx: &Transaction<'_>, append: Option<&AuditAppend>) -> PgResult<()> {
    let Some(append) = append else {
        return Ok(());
    };
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
        .await
        .map_err(pg)?;
    // Read after the lock is held: in READ COMMITTED each statement sees every commit before
    // it, including the previous holder's.
    let head = tx
        .query_opt(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(pg)?
        .map(|row| {
            Ok::<_, StoreError>(ChainHead {
                seq: col(&row, 0)?,
                hash: col(&row, 1)?,
            })
        })
        .transpose()?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO audit_log (seq, created_at, kind, actor, subject, details, prev_hash,
                hash, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .await
        .map_err(pg)?;
    for e in append.entries_after(head) {
        tx.execute(
            &insert,
            &[
                &e.seq,
                &e.created_at,
                &e.kind,
                &e.actor,
                &e.subject,
                &e.details,
                &e.prev_hash,
                &e.hash,
                &e.key_id,
                &e.signature,
            ],
        )
        .await
        .map_err(pg)?;
    }
    Ok(())
}

fn entry_row(row: &Row) -> PgResult<AuditEntry> {
    Ok(AuditEntry {
        seq: col(row, 0)?,
        created_at: col(row, 1)?,
        kind: col(row, 2)?,
        actor: col(row, 3)?,
        subject: col(row, 4)?,
        details: col(row, 5)?,
        prev_hash: col(row, 6)?,
        hash: col(row, 7)?,
        key_id: col(row, 8)?,
        signature: col(row, 9)?,
    })
}

impl PgStore {
    /// Runs one statement and, when it changed a row, appends `audit`, in one transaction;
    /// how many rows the statement changed.
    pub(super) async fn execute_audited(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        audit: Option<&AuditAppend>,
    ) -> PgResult<u64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let changed = tx.execute(sql, params).await.map_err(pg)?;
        if changed > 0 {
            append(&tx, audit).await?;
        }
        super::commit(tx).await?;
        Ok(changed)
    }

    pub(crate) async fn audit_entries_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("{SELECT} WHERE seq > $1 ORDER BY seq LIMIT $2"),
                &[&after, &i64::from(limit)],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(entry_row).collect()
    }

    pub(crate) async fn audit_last_entry(&self) -> Result<Option<AuditEntry>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(&format!("{SELECT} ORDER BY seq DESC LIMIT 1"), &[])
            .await
            .map_err(pg)?;
        row.as_ref().map(entry_row).transpose()
    }

    pub(crate) async fn audit_entries_about(
        &self,
        subject: &str,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("{SELECT} WHERE subject = $1 ORDER BY seq"),
                &[&subject],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(entry_row).collect()
    }
}
