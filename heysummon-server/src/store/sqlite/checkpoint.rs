//! Checkpoints: copying the write-ahead log into the database file, off the writer's path, and
//! keeping the log file bounded.
//!
//! A PASSIVE checkpoint never blocks anyone, but under sustained writes the log is never
//! rewound (a rewind needs a moment without a writer and with every reader on the database
//! file) and grows without bound. So: PASSIVE on every tick, off the writer's path; when the log
//! has grown past [`RESTART_FRAMES`], the tick asks the writer thread to rewind it between two
//! batches (a RESTART checkpoint on the writer's own connection, waiting at most
//! [`RESTART_WAIT`] for readers); when nothing was written since the last tick, a TRUNCATE that
//! gives the disk space back; and TRUNCATE once more at shutdown. `journal_size_limit` also
//! truncates the file whenever the log is rewound.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::Connection;

use super::SqliteStore;
use super::error::{SqlResult, task_failed};
use super::migrate::BUSY_TIMEOUT;
use crate::store::StoreError;

/// Log frames (pages) beyond which the writer rewinds the log: 16,384 frames of 4 KiB pages is
/// 64 MiB. (16 MiB kept the log under 50 MiB but cost a fifth of the write throughput and
/// tripled the p99 latency in the load benchmark; 64 MiB keeps it near 120 MiB for a tenth.)
const RESTART_FRAMES: i64 = 16_384;
/// How long a rewind or an idle TRUNCATE waits for readers (and holds off the writer).
const RESTART_WAIT: Duration = Duration::from_millis(50);
/// The log file is truncated to at most this size when it is rewound, bytes.
pub(super) const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// What a checkpoint asks of SQLite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// Copy what can be copied; never wait.
    Passive,
    /// Copy everything, then rewind the log once no reader uses it.
    Restart,
    /// Like `Restart`, and truncate the log file to nothing.
    Truncate,
}

impl Mode {
    fn pragma(self) -> &'static str {
        match self {
            Self::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
            Self::Restart => "PRAGMA wal_checkpoint(RESTART)",
            Self::Truncate => "PRAGMA wal_checkpoint(TRUNCATE)",
        }
    }
}

/// The checkpointing connection and what it saw last.
#[derive(Debug)]
pub(super) struct Checkpointer {
    conn: Connection,
    /// The log's size in frames after the previous tick (-1 before the first).
    last_log_frames: i64,
    /// Asks the writer thread to rewind the log after its current batch.
    rewind: Arc<AtomicBool>,
}

impl Checkpointer {
    pub(super) fn new(conn: Connection, rewind: Arc<AtomicBool>) -> SqlResult<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
        Ok(Self {
            conn,
            last_log_frames: -1,
            rewind,
        })
    }

    /// One checkpoint in `mode`, waiting at most `wait` for readers and writers; returns the
    /// log's size and the frames copied. A busy database is not an error: the next tick tries
    /// again.
    fn run(&self, mode: Mode, wait: Duration) -> SqlResult<(i64, i64)> {
        self.conn.busy_timeout(wait)?;
        let result = self.conn.query_row(mode.pragma(), [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(result?)
    }

    /// The periodic tick; returns the frames still to copy.
    fn tick(&mut self) -> SqlResult<i64> {
        let (log, done) = self.run(Mode::Passive, Duration::ZERO)?;
        let idle = log > 0 && log == self.last_log_frames && log == done;
        let (log, done) = if idle {
            self.run(Mode::Truncate, RESTART_WAIT)?
        } else {
            if log > RESTART_FRAMES {
                self.rewind.store(true, Ordering::Release);
            }
            (log, done)
        };
        self.last_log_frames = log;
        Ok(log - done)
    }
}

/// Rewinds the log from the writer's own connection, between two batches: copies what is left
/// and waits at most [`RESTART_WAIT`] for readers to leave the log, so that the next write
/// starts at its beginning. A reader that stays longer only postpones the rewind to the next
/// request of the checkpointer.
pub(super) fn rewind(conn: &Connection) {
    let rewound = conn
        .busy_timeout(RESTART_WAIT)
        .and_then(|()| conn.query_row(Mode::Restart.pragma(), [], |row| row.get::<_, i64>(0)));
    match rewound {
        // Busy: a reader stayed, or a checkpoint was running; the next tick asks again.
        Ok(1) => tracing::debug!("the write-ahead log could not be rewound yet"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not rewind the write-ahead log"),
    }
    if let Err(error) = conn.busy_timeout(BUSY_TIMEOUT) {
        tracing::warn!(%error, "could not restore the writer's busy timeout");
    }
}

impl SqliteStore {
    /// The periodic checkpoint (see the module's documentation); returns the log frames still
    /// to copy.
    pub(crate) async fn checkpoint(&self) -> Result<i64, StoreError> {
        self.with_checkpointer(Checkpointer::tick).await
    }

    /// Copies the whole log into the database and truncates the log file, waiting for readers
    /// and the writer as long as the busy timeout allows; for shutdown.
    pub(crate) async fn checkpoint_and_truncate(&self) -> Result<(), StoreError> {
        self.with_checkpointer(|c| c.run(Mode::Truncate, BUSY_TIMEOUT).map(|_| ()))
            .await
    }

    async fn with_checkpointer<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Checkpointer) -> SqlResult<R> + Send + 'static,
    ) -> Result<R, StoreError> {
        let inner = std::sync::Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || -> SqlResult<R> {
            let mut checkpointer = inner.readers.checkpointer.lock().map_err(task_failed)?;
            f(&mut checkpointer)
        })
        .await
        .map_err(task_failed)?
        .map_err(StoreError::from)
    }
}
