//! The reader pool: a few read-only connections on WAL snapshots, for reads on tokio's
//! blocking pool or, for point look-ups, inline; and the connection that checkpoints
//! (see [`super::checkpoint`]).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

use super::SqliteStore;
use super::checkpoint::Checkpointer;
use super::error::{SqlResult, task_failed};
use super::migrate::{BUSY_TIMEOUT, STATEMENT_CACHE};
use crate::store::StoreError;

/// Reader connections.
const READERS: usize = 4;

/// The read-only connections and the checkpointing one.
#[derive(Debug)]
pub(super) struct Readers {
    pub(super) checkpointer: Mutex<Checkpointer>,
    connections: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl Readers {
    /// Opens the pool on a migrated database file.
    pub(super) fn open(path: &Path, rewind: Arc<AtomicBool>) -> SqlResult<Self> {
        let checkpointer = Checkpointer::new(Connection::open(path)?, rewind)?;
        let mut connections = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            reader.busy_timeout(BUSY_TIMEOUT)?;
            reader.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            connections.push(Mutex::new(reader));
        }
        Ok(Self {
            checkpointer: Mutex::new(checkpointer),
            connections,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `f` on an idle reader, or returns it when every reader is busy. `start` spreads
    /// the load round-robin.
    fn try_idle<R, F>(&self, start: usize, f: F) -> Result<SqlResult<R>, F>
    where
        F: FnOnce(&Connection) -> SqlResult<R>,
    {
        for offset in 0..self.connections.len() {
            let slot = &self.connections[(start + offset) % self.connections.len()];
            if let Ok(conn) = slot.try_lock() {
                return Ok(f(&conn));
            }
        }
        Err(f)
    }
}

impl SqliteStore {
    /// A read on the blocking pool: prefers an idle reader, waits on the round-robin one if
    /// all are busy.
    pub(super) async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> SqlResult<R> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let readers = &inner.readers;
            let start = readers.next.fetch_add(1, Ordering::Relaxed);
            let f = match readers.try_idle(start, f) {
                Ok(done) => return done.map_err(StoreError::from),
                Err(f) => f,
            };
            let conn = readers.connections[start % readers.connections.len()]
                .lock()
                .map_err(task_failed)?;
            f(&conn).map_err(StoreError::from)
        })
        .await
        .map_err(task_failed)?
    }

    /// A point look-up by key (an indexed read of one or a few rows, microseconds on a WAL
    /// snapshot, never waiting for the writer): runs inline on an idle reader connection,
    /// and goes to the blocking pool only when every reader is busy.
    pub(super) async fn read_point<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> SqlResult<R> + Send + 'static,
    {
        let readers = &self.inner.readers;
        let start = readers.next.fetch_add(1, Ordering::Relaxed);
        match readers.try_idle(start, f) {
            Ok(done) => done.map_err(StoreError::from),
            Err(f) => self.read(f).await,
        }
    }

    /// A trivial query: is the database reachable?
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }
}
