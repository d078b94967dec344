//! The SQLite backend: one writer connection (SQLite admits one writer at a time; serialising
//! writes in-process avoids busy-waiting) and a few reader connections, all in WAL mode.
//!
//! - [`writer`]: the writer thread, its group commits, and publishing to the bus after each;
//! - [`readers`]: the reader pool and inline point reads;
//! - [`checkpoint`]: checkpoints that keep the write-ahead log bounded;
//! - [`migrate`]: connection settings and migrations;
//! - [`rows`]: mapping rows to records and back;
//! - the queries, by resource: [`accounts`] (experts, tenants, keys, devices), [`requests`]
//!   (creation, reads, listings), [`changes`] (lifecycle steps, delivery marks, expiry),
//!   [`log`] (the event log and catching up on it), [`tokens`] (nonces, idempotency),
//!   [`audit`] (the audit log).

mod accounts;
mod audit;
mod changes;
mod channels;
mod checkpoint;
mod error;
mod leases;
mod log;
mod migrate;
mod outbox;
mod readers;
mod requests;
mod rows;
mod tokens;
mod web;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rusqlite::Connection;

use self::error::{SqlResult, task_failed};
use self::readers::Readers;
use self::writer::Writer;
use crate::bus::EventBus;
use crate::store::StoreError;

/// The SQLite store. Cheap to clone.
#[derive(Clone, Debug)]
pub(super) struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    writer: Writer,
    readers: Readers,
    bus: EventBus,
}

impl SqliteStore {
    /// Opens (or creates and migrates) the database file; its appended events are published
    /// on `bus`, starting after the events the log already holds.
    pub(super) async fn open(path: PathBuf, bus: EventBus) -> Result<Self, StoreError> {
        tokio::task::spawn_blocking(move || -> SqlResult<Self> {
            let mut writer = Connection::open(&path)?;
            migrate::configure(&writer)?;
            migrate::migrate(&mut writer)?;
            // Checkpoints (the only fsyncs with synchronous=NORMAL) run in the background on
            // their own connection instead of inside whichever commit crosses the threshold.
            writer.pragma_update(None, "wal_autocheckpoint", 0)?;
            // When the log is rewound, its file shrinks back to this size.
            writer.pragma_update(None, "journal_size_limit", checkpoint::JOURNAL_SIZE_LIMIT)?;
            let last_event: i64 =
                writer.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))?;
            bus.blocking_publisher().skip_to(last_event);
            // The checkpointer asks, the writer rewinds the log between two of its batches.
            let rewind = Arc::new(AtomicBool::new(false));
            let readers = Readers::open(&path, Arc::clone(&rewind))?;
            Ok(Self {
                inner: Arc::new(Inner {
                    writer: Writer::spawn(writer, bus.clone(), rewind)?,
                    readers,
                    bus,
                }),
            })
        })
        .await
        .map_err(task_failed)?
        .map_err(StoreError::from)
    }
}
