//! The writer thread: it owns the one write connection and commits in groups, then publishes
//! what was appended to the event log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

use rusqlite::Connection;

use super::error::{Failure, SqlResult, task_failed};
use super::log::log_after;
use super::{SqliteStore, checkpoint};
use crate::bus::EventBus;
use crate::store::{LoggedEvent, StoreError};

/// A unit of work for the writer thread: runs against the connection inside a savepoint and
/// returns whether it succeeded plus how to hand its result over once the batch committed.
type Job = Box<dyn FnOnce(&Connection, &mut Vec<LoggedEvent>) -> (bool, Delivery) + Send>;
/// Hands a job's result to its caller, given the outcome of the batch's commit.
type Delivery = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Most jobs folded into one transaction.
const MAX_BATCH: usize = 128;

/// The queue of the writer thread.
#[derive(Debug)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread. Every job that is waiting when a transaction starts joins
    /// it, each inside its own savepoint so a failing job rolls back alone; callers hear back
    /// only after the commit. Under load this turns many small commits into few larger ones.
    ///
    /// When the checkpointer asks for it (`rewind`), the thread rewinds the write-ahead log
    /// between two batches, where no write of its own is in progress (see
    /// [`super::checkpoint`]).
    pub(super) fn spawn(
        mut conn: Connection,
        bus: EventBus,
        rewind: Arc<AtomicBool>,
    ) -> Result<Self, Failure> {
        let (jobs, receiver) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("heysummon-sqlite-writer".into())
            .spawn(move || {
                while let Ok(first) = receiver.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match receiver.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    run_batch(&mut conn, batch, &bus);
                    if rewind.swap(false, Ordering::AcqRel) {
                        checkpoint::rewind(&conn);
                    }
                }
            })
            .map_err(|e| Failure::Store(task_failed(e)))?;
        Ok(Self { jobs })
    }
}

fn run_batch(conn: &mut Connection, batch: Vec<Job>, bus: &EventBus) {
    let began = std::time::Instant::now();
    if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
        // Dropping the jobs unrun tells each caller the write failed.
        tracing::error!(%error, "could not begin a write transaction");
        return;
    }
    let mut pending = Vec::with_capacity(batch.len());
    let mut appended = Vec::new();
    for job in batch {
        let mark = appended.len();
        if let Err(error) = conn.execute_batch("SAVEPOINT job") {
            tracing::error!(%error, "could not open a savepoint");
            continue;
        }
        let ran =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(conn, &mut appended)));
        let keep = matches!(ran, Ok((true, _)));
        if !keep {
            appended.truncate(mark);
        }
        let closed = if keep {
            conn.execute_batch("RELEASE job")
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        if let Err(error) = closed {
            tracing::error!(%error, "could not close a savepoint");
        }
        match ran {
            Ok((_, deliver)) => pending.push(deliver),
            Err(_) => tracing::error!("a write job panicked; its changes were rolled back"),
        }
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (I/O error, disk full, …): what ran so
            // far is gone, and running the rest outside a transaction would commit it piece by
            // piece. Everyone in the batch hears that it failed.
            tracing::error!("write transaction aborted by the database");
            for deliver in pending {
                deliver(Err("the write transaction was aborted".to_owned()));
            }
            return;
        }
    }
    let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
    crate::telemetry::commit(began.elapsed());
    if committed.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    } else if !appended.is_empty()
        && let Err(error) = publish_new(conn, bus)
    {
        tracing::error!(error = %StoreError::from(error), "could not publish appended events");
    }
    for deliver in pending {
        deliver(committed.clone());
    }
}

/// Publishes, on the writer thread so subscribers see events in log order, every logged event
/// after the bus's cursor. What is published is read back from the log rather than taken
/// from what the batch appended, so events another process (a CLI command) committed in
/// between are published too, in their place.
fn publish_new(conn: &Connection, bus: &EventBus) -> SqlResult<()> {
    let mut publisher = bus.blocking_publisher();
    let after = publisher.cursor();
    let mut published = 0;
    let read = log_after(conn, after, None, |event| {
        if publisher.publish(event) {
            published += 1;
        }
    });
    crate::telemetry::events_appended(published);
    read
}

impl SqliteStore {
    /// Runs a write on the writer thread, inside the next group commit; resolves once that
    /// commit is done (or failed). With `synchronous=NORMAL` in WAL mode a commit survives a
    /// crash of the process, not necessarily a power loss of the machine: the WAL is synced at
    /// checkpoints.
    pub(super) async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> SqlResult<R> + Send + 'static,
    {
        self.write_logged(move |conn, _| f(conn)).await
    }

    /// Like [`Self::write`], for writes that append to the event log: they push what they
    /// appended, and the writer publishes the log's news to the bus once the commit is done.
    pub(super) async fn write_logged<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection, &mut Vec<LoggedEvent>) -> SqlResult<R> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn: &Connection, appended: &mut Vec<LoggedEvent>| {
            let result = f(conn, appended);
            let ok = result.is_ok();
            let deliver: Delivery = Box::new(move |committed: Result<(), String>| {
                let outcome = match committed {
                    Ok(()) => result.map_err(StoreError::from),
                    Err(reason) => Err(StoreError::Unavailable(format!("commit failed: {reason}"))),
                };
                let _ = reply.send(outcome);
            });
            (ok, deliver)
        });
        self.inner.writer.jobs.send(job).map_err(task_failed)?;
        answer.await.map_err(task_failed)?
    }
}
