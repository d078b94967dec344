//! Copying a whole store from one database to another (`heysummon-server store copy`):
//! SQLite to PostgreSQL when one machine is outgrown, PostgreSQL to SQLite to go back.
//!
//! The copy is a table copy, not a replay through the store's methods: every table of
//! [`TABLES`] is read in batches of typed column values and written on the other side as it
//! was — key and token hashes stay hashes, sealed content stays ciphertext, event ids, the
//! log's pruned mark and the channel dispatch cursor keep their values, and the counters of
//! numbered columns are carried over. The source is read in one consistent snapshot (a read
//! transaction), so a server may keep running on it; whatever it writes after the snapshot is
//! not copied. The target is written in one transaction, in foreign-key order, and only when
//! it holds no data (a freshly created database).
//!
//! - `tables`: the list of tables and columns, [`TABLES`] (checked against both schemas by tests);
//! - `sqlite` and `postgres`: each backend's reader and writer.

mod postgres;
mod sqlite;
mod tables;

use std::path::PathBuf;

use tokio::sync::mpsc;

pub(super) use self::sqlite::occupied as sqlite_occupied;
pub use self::tables::{Column, Kind, TABLES, Table};
use super::location::Location;
use super::{Backend, Store, StoreError};

/// Rows per batch sent from the reader to the writer.
const BATCH: usize = 512;

/// Batches in flight between the reader and the writer.
const QUEUE: usize = 4;

/// One column value as read, typed by its column's [`Kind`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// `NULL`.
    Null,
    /// An integer ([`Kind::BigInt`], [`Kind::Int`]).
    Int(i64),
    /// A flag ([`Kind::Bool`]).
    Bool(bool),
    /// Text ([`Kind::Text`]).
    Text(String),
    /// Bytes ([`Kind::Bytes`]).
    Bytes(Vec<u8>),
}

/// What the reader sends the writer, table after table in [`TABLES`] order: a table's rows
/// in batches, then its end.
#[derive(Debug)]
pub(crate) enum Item {
    /// Rows of the current table, each with a value per column.
    Rows(Vec<Vec<Value>>),
    /// The current table is complete. `counter`: for a table with a numbered column, the
    /// highest number the source ever handed out (0 when none).
    End {
        /// The source's counter.
        counter: i64,
    },
}

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The target already holds data.
    #[error(
        "the target database is not empty (it has rows in {}); copy into a new, empty database",
        .tables.join(", ")
    )]
    NotEmpty {
        /// The tables that have rows.
        tables: Vec<&'static str>,
    },
    /// `--from` and `--to` name the same database.
    #[error("the source and the target are the same database")]
    SameDatabase,
    /// The SQLite source file does not exist.
    #[error("no SQLite database at {}", .0.display())]
    NoSource(PathBuf),
    /// The reader stopped before the end (its own error is reported instead).
    #[error("the source stopped before the end of the copy")]
    SourceEnded,
    /// The writer stopped taking rows (its own error is reported instead).
    #[error("the target stopped before the end of the copy")]
    TargetEnded,
    /// A database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many rows of each table were copied, in [`TABLES`] order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Copied {
    /// `(table, rows)`.
    pub tables: Vec<(&'static str, u64)>,
}

impl serde::Serialize for Copied {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.tables.len()))?;
        for (table, rows) in &self.tables {
            map.serialize_entry(table, rows)?;
        }
        map.end()
    }
}

/// One side of a copy, opened and migrated.
enum Side {
    /// An SQLite file (read and written on connections of the copy's own).
    Sqlite(PathBuf),
    /// A PostgreSQL database (through the store's pool).
    Postgres(super::postgres::PgStore),
}

/// Copies everything from the database at `from` to the one at `to` (database URLs, as
/// `--database-url` takes them). Both are brought to this version's schema first, as starting
/// a server on them would; the target is created if it is an SQLite file that does not exist
/// (a PostgreSQL target database must exist). Refuses a target that holds any row.
pub async fn copy(from: &str, to: &str) -> Result<Copied, CopyError> {
    let (source, target) = (Location::parse(from)?, Location::parse(to)?);
    if source.same_as(&target) {
        return Err(CopyError::SameDatabase);
    }
    if let Location::Sqlite(path) = &source
        && !path.is_file()
    {
        return Err(CopyError::NoSource(path.clone()));
    }
    let source = open(from, source).await?;
    let target = open(to, target).await?;
    let (sender, receiver) = mpsc::channel(QUEUE);
    let (read, written) = tokio::join!(read(&source, sender), write(&target, receiver));
    match (read, written) {
        (Ok(()), Ok(copied)) => Ok(copied),
        // One side gave up because the other did: the other's error is the cause.
        (Err(error), Err(CopyError::SourceEnded)) | (Err(error), Ok(_)) => Err(error),
        (_, Err(error)) => Err(error),
    }
}

/// Opens (creating and migrating as needed) the database at `url`.
async fn open(url: &str, location: Location) -> Result<Side, StoreError> {
    let store = Store::open(url).await?;
    match (location, store.backend) {
        (Location::Postgres(_), Backend::Postgres(db)) => Ok(Side::Postgres(db)),
        // The copy works on connections of its own; the store's close when it is dropped.
        (Location::Sqlite(path), Backend::Sqlite(_)) => Ok(Side::Sqlite(path)),
        _ => Err(StoreError::UnsupportedUrl(url.to_owned())),
    }
}

/// Reads every table of `side` in one snapshot and sends it down `sender`.
async fn read(side: &Side, sender: mpsc::Sender<Item>) -> Result<(), CopyError> {
    match side {
        Side::Sqlite(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || sqlite::read(&path, &sender))
                .await
                .map_err(|_| StoreError::Unavailable("the copy's reader failed".to_owned()))?
        }
        Side::Postgres(db) => postgres::read(db, &sender).await,
    }
}

/// Writes what `receiver` brings into `side` in one transaction, after checking that it is
/// empty.
async fn write(side: &Side, receiver: mpsc::Receiver<Item>) -> Result<Copied, CopyError> {
    let counts = match side {
        Side::Sqlite(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || sqlite::write(&path, receiver))
                .await
                .map_err(|_| StoreError::Unavailable("the copy's writer failed".to_owned()))??
        }
        Side::Postgres(db) => postgres::write(db, receiver).await?,
    };
    Ok(Copied {
        tables: TABLES.iter().map(|t| t.name).zip(counts).collect(),
    })
}

/// The error of a value that does not have its column's type.
fn mistyped(table: &Table, column: &Column, found: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "{}.{} holds {found}, not {:?}",
        table.name, column.name, column.kind
    ))
}

#[cfg(test)]
mod tests;
