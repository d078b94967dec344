//! The SQLite side of a copy, on connections of its own: a reader in one read transaction (a
//! snapshot of the WAL database, while a server may keep writing to it) and a writer in one
//! immediate transaction (no other writer until it commits).

use std::path::Path;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql, Transaction, TransactionBehavior, params};
use tokio::sync::mpsc;

use super::{BATCH, Column, CopyError, Item, Kind, TABLES, Table, Value, mistyped};
use crate::store::StoreError;

/// How long a connection waits for a lock held by another (a running server's writer).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An SQLite failure as a store error.
fn sql(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(Box::new(error))
}

/// A connection to an existing database file, with foreign keys enforced.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql)?;
    Ok(conn)
}

/// Reads every table in one snapshot and sends it down `sender` (blocking: run it on the
/// blocking pool).
pub(super) fn read(path: &Path, sender: &mpsc::Sender<Item>) -> Result<(), CopyError> {
    let mut conn = connect(path)?;
    conn.pragma_update(None, "query_only", "ON").map_err(sql)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .map_err(sql)?;
    let send = |item| {
        sender
            .blocking_send(item)
            .map_err(|_| CopyError::TargetEnded)
    };
    for table in TABLES {
        let counter = match table.counter {
            Some(_) => tx
                .query_row(
                    "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = ?1",
                    [table.name],
                    |row| row.get(0),
                )
                .map_err(sql)?,
            None => 0,
        };
        let mut statement = tx.prepare(&table.select()).map_err(sql)?;
        let mut rows = statement.query([]).map_err(sql)?;
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(row) = rows.next().map_err(sql)? {
            let mut values = Vec::with_capacity(table.columns.len());
            for (index, column) in table.columns.iter().enumerate() {
                values.push(value(table, column, row.get_ref(index).map_err(sql)?)?);
            }
            batch.push(values);
            if batch.len() == BATCH {
                send(Item::Rows(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(BATCH),
                )))?;
            }
        }
        if !batch.is_empty() {
            send(Item::Rows(batch))?;
        }
        send(Item::End { counter })?;
    }
    Ok(())
}

/// A stored value, checked against its column's type.
fn value(table: &Table, column: &Column, raw: ValueRef<'_>) -> Result<Value, StoreError> {
    match (column.kind, raw) {
        (_, ValueRef::Null) => Ok(Value::Null),
        (Kind::BigInt | Kind::Int, ValueRef::Integer(v)) => Ok(Value::Int(v)),
        (Kind::Bool, ValueRef::Integer(v @ (0 | 1))) => Ok(Value::Bool(v == 1)),
        (Kind::Text, ValueRef::Text(bytes)) => String::from_utf8(bytes.to_vec())
            .map(Value::Text)
            .map_err(|_| mistyped(table, column, "text that is not UTF-8")),
        (Kind::Bytes, ValueRef::Blob(bytes)) => Ok(Value::Bytes(bytes.to_vec())),
        (_, other) => Err(mistyped(table, column, &other.data_type().to_string())),
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Self::Null => ValueRef::Null,
            Self::Int(v) => ValueRef::Integer(*v),
            Self::Bool(v) => ValueRef::Integer(i64::from(*v)),
            Self::Text(v) => ValueRef::Text(v.as_bytes()),
            Self::Bytes(v) => ValueRef::Blob(v),
        }))
    }
}

/// Writes what `receiver` brings in one transaction, after checking that the database holds
/// no data; returns the rows written per table (blocking: run it on the blocking pool).
pub(super) fn write(
    path: &Path,
    mut receiver: mpsc::Receiver<Item>,
) -> Result<Vec<u64>, CopyError> {
    let mut conn = connect(path)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    let occupied = occupied(&tx)?;
    if !occupied.is_empty() {
        return Err(CopyError::NotEmpty { tables: occupied });
    }
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        if table.singleton {
            tx.execute(&format!("DELETE FROM {}", table.name), [])
                .map_err(sql)?;
        }
        let placeholders = (1..=table.columns.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut insert = tx
            .prepare(&format!(
                "INSERT INTO {} ({}) VALUES ({placeholders})",
                table.name,
                table.column_list()
            ))
            .map_err(sql)?;
        let mut count = 0;
        let counter = loop {
            match receiver.blocking_recv() {
                Some(Item::Rows(rows)) => {
                    for row in &rows {
                        insert
                            .execute(rusqlite::params_from_iter(row))
                            .map_err(sql)?;
                        count += 1;
                    }
                }
                Some(Item::End { counter }) => break counter,
                None => return Err(CopyError::SourceEnded),
            }
        };
        if table.counter.is_some() {
            carry_counter(&tx, table, counter)?;
        }
        counts.push(count);
    }
    tx.commit().map_err(sql)?;
    Ok(counts)
}

/// The tables (other than the one-row ones the migrations fill) that hold any row; tables
/// the database does not have (a new file, an older schema) hold none.
pub(crate) fn occupied(conn: &Connection) -> Result<Vec<&'static str>, StoreError> {
    let mut occupied = Vec::new();
    for table in TABLES.iter().filter(|t| !t.singleton) {
        let exists: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [table.name],
                |r| r.get(0),
            )
            .map_err(sql)?;
        let sql_text = format!("SELECT EXISTS (SELECT 1 FROM {})", table.name);
        if exists && conn.query_row(&sql_text, [], |r| r.get(0)).map_err(sql)? {
            occupied.push(table.name);
        }
    }
    Ok(occupied)
}

/// Raises the table's `AUTOINCREMENT` counter to the source's (inserting ids already raised
/// it to the highest copied).
fn carry_counter(tx: &Transaction<'_>, table: &Table, counter: i64) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, ?2
         WHERE ?2 > 0 AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)",
        params![table.name, counter],
    )
    .map_err(sql)?;
    tx.execute(
        "UPDATE sqlite_sequence SET seq = MAX(seq, ?2) WHERE name = ?1",
        params![table.name, counter],
    )
    .map_err(sql)?;
    Ok(())
}
