//! The PostgreSQL side of a copy, on the store's pool: a reader in one repeatable-read,
//! read-only transaction (a snapshot) paging through a portal, and a writer in one
//! transaction that locks every table against other writers, checks they are empty, loads
//! each with `COPY … FROM STDIN` in binary format (identity columns take the copied values, as
//! with `OVERRIDING SYSTEM VALUE`), and sets the identity sequences past the copied ids.

use std::pin::pin;

use bytes::BytesMut;
use tokio::sync::mpsc;
use tokio_postgres::IsolationLevel;
use tokio_postgres::Row;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::{BATCH, CopyError, Item, Kind, TABLES, Table, Value, mistyped};
use crate::store::StoreError;
use crate::store::postgres::{PgStore, pg, sequence};

/// Reads every table in one snapshot and sends it down `sender`.
pub(super) async fn read(db: &PgStore, sender: &mpsc::Sender<Item>) -> Result<(), CopyError> {
    let mut client = db.client().await?;
    // Events an instance staged but did not sequence (it died) belong in the copied log.
    // (A copy is made from a store no server is writing to: what a live one stages after this
    // pass would be left behind.)
    sequence(&client).await.map_err(pg)?;
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg)?;
    let page = i32::try_from(BATCH).unwrap_or(i32::MAX);
    for table in TABLES {
        let counter = match table.counter {
            Some(column) => {
                let row = tx
                    .query_opt(
                        "SELECT COALESCE(s.last_value, 0) FROM pg_sequences s
                         WHERE format('%I.%I', s.schemaname, s.sequencename)
                             = pg_get_serial_sequence($1, $2)",
                        &[&table.name, &column],
                    )
                    .await
                    .map_err(pg)?;
                row.map_or(0, |row| row.get(0))
            }
            None => 0,
        };
        let statement = tx.prepare(&table.select()).await.map_err(pg)?;
        let portal = tx.bind(&statement, &[]).await.map_err(pg)?;
        loop {
            let rows = tx.query_portal(&portal, page).await.map_err(pg)?;
            let last = rows.len() < BATCH;
            if !rows.is_empty() {
                let batch = rows
                    .iter()
                    .map(|row| values(table, row))
                    .collect::<Result<Vec<_>, _>>()?;
                sender
                    .send(Item::Rows(batch))
                    .await
                    .map_err(|_| CopyError::TargetEnded)?;
            }
            if last {
                break;
            }
        }
        sender
            .send(Item::End { counter })
            .await
            .map_err(|_| CopyError::TargetEnded)?;
    }
    tx.commit().await.map_err(pg)?;
    Ok(())
}

/// A row's values, by their columns' types.
fn values(table: &Table, row: &Row) -> Result<Vec<Value>, StoreError> {
    let mut values = Vec::with_capacity(table.columns.len());
    for (index, column) in table.columns.iter().enumerate() {
        let value = match column.kind {
            Kind::BigInt => row
                .try_get::<_, Option<i64>>(index)
                .map(|v| v.map(Value::Int)),
            Kind::Int => row
                .try_get::<_, Option<i32>>(index)
                .map(|v| v.map(|v| Value::Int(v.into()))),
            Kind::Bool => row
                .try_get::<_, Option<bool>>(index)
                .map(|v| v.map(Value::Bool)),
            Kind::Text => row
                .try_get::<_, Option<String>>(index)
                .map(|v| v.map(Value::Text)),
            Kind::Bytes => row
                .try_get::<_, Option<Vec<u8>>>(index)
                .map(|v| v.map(Value::Bytes)),
        };
        let value = value.map_err(|e| mistyped(table, column, &e.to_string()))?;
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(values)
}

/// A column type's PostgreSQL type.
fn pg_type(kind: Kind) -> Type {
    match kind {
        Kind::BigInt => Type::INT8,
        Kind::Int => Type::INT4,
        Kind::Bool => Type::BOOL,
        Kind::Text => Type::TEXT,
        Kind::Bytes => Type::BYTEA,
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Self::Null => Ok(IsNull::Yes),
            Self::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Self::Int(v) => v.to_sql(ty, out),
            Self::Bool(v) => v.to_sql(ty, out),
            Self::Text(v) => v.to_sql(ty, out),
            Self::Bytes(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [Type::INT8, Type::INT4, Type::BOOL, Type::TEXT, Type::BYTEA].contains(ty)
    }

    to_sql_checked!();
}

/// Writes what `receiver` brings in one transaction, after checking that the database holds
/// no data; returns the rows written per table.
pub(super) async fn write(
    db: &PgStore,
    mut receiver: mpsc::Receiver<Item>,
) -> Result<Vec<u64>, CopyError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    // No other writer until the copy commits (a server started on the target meanwhile
    // waits); readers go on.
    let names = TABLES.iter().map(|t| t.name).collect::<Vec<_>>().join(", ");
    tx.batch_execute(&format!("LOCK TABLE {names} IN EXCLUSIVE MODE"))
        .await
        .map_err(pg)?;
    let mut occupied = Vec::new();
    for table in TABLES.iter().filter(|t| !t.singleton) {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", table.name);
        if tx.query_one(&sql, &[]).await.map_err(pg)?.get::<_, bool>(0) {
            occupied.push(table.name);
        }
    }
    if !occupied.is_empty() {
        return Err(CopyError::NotEmpty { tables: occupied });
    }
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        if table.singleton {
            tx.batch_execute(&format!("DELETE FROM {}", table.name))
                .await
                .map_err(pg)?;
        }
        let sink = tx
            .copy_in(&format!(
                "COPY {} ({}) FROM STDIN (FORMAT binary)",
                table.name,
                table.column_list()
            ))
            .await
            .map_err(pg)?;
        let types: Vec<Type> = table.columns.iter().map(|c| pg_type(c.kind)).collect();
        let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
        let counter = loop {
            match receiver.recv().await {
                Some(Item::Rows(rows)) => {
                    for row in &rows {
                        let values: Vec<&(dyn ToSql + Sync)> =
                            row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                        writer.as_mut().write(&values).await.map_err(pg)?;
                    }
                }
                Some(Item::End { counter }) => break counter,
                // The copy is abandoned with the transaction.
                None => return Err(CopyError::SourceEnded),
            }
        };
        counts.push(writer.as_mut().finish().await.map_err(pg)?);
        if let Some(column) = table.counter {
            let sql = format!("SELECT COALESCE(MAX({column}), 0) FROM {}", table.name);
            let highest: i64 = tx.query_one(&sql, &[]).await.map_err(pg)?.get(0);
            let next_after = highest.max(counter);
            if next_after > 0 {
                tx.query_one(
                    "SELECT setval(pg_get_serial_sequence($1, $2), $3)",
                    &[&table.name, &column, &next_after],
                )
                .await
                .map_err(pg)?;
            }
        }
    }
    tx.commit().await.map_err(pg)?;
    Ok(counts)
}
