//! The SQLite backend: one writer connection (SQLite admits one writer at a time; serialising
//! writes in-process avoids busy-waiting) and a few reader connections, all in WAL mode. Every
//! call runs on tokio's blocking pool.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use heysummon_sdk::wire::{ApprovalDecision, Sender, Status};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};

use super::hub::{Feed, Hub};

use super::StoreError;
use super::records::*;
use crate::clock::Millis;

const MIGRATIONS: &[&str] = &[include_str!("../../migrations/sqlite/0001_init.sql")];
const READERS: usize = 4;

#[derive(Debug)]
struct Inner {
    writer: std::sync::mpsc::Sender<Job>,
    hub: Arc<Hub>,
    last_published: Arc<AtomicI64>,
    checkpointer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

/// The SQLite store.
#[derive(Clone, Debug)]
pub(super) struct SqliteStore {
    inner: Arc<Inner>,
}

/// A unit of work for the writer thread: runs against the connection inside a savepoint and
/// returns whether it succeeded plus how to hand its result over once the batch committed.
type Job = Box<dyn FnOnce(&Connection, &mut Vec<LoggedEvent>) -> (bool, Delivery) + Send>;
/// Hands a job's result to its caller, given the outcome of the batch's commit.
type Delivery = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Most jobs folded into one transaction.
const MAX_BATCH: usize = 128;

/// Starts the writer thread: it owns the one write connection and commits in groups. Every
/// job that is waiting when a transaction starts joins it, each inside its own savepoint so a
/// failing job rolls back alone; callers hear back only after the commit. Under load this
/// turns many small commits into few larger ones.
fn spawn_writer(
    mut conn: Connection,
    hub: Arc<Hub>,
    last_published: Arc<AtomicI64>,
) -> Result<std::sync::mpsc::Sender<Job>, StoreError> {
    let (sender, receiver) = std::sync::mpsc::channel::<Job>();
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
                run_batch(&mut conn, batch, &hub, &last_published);
            }
        })
        .map_err(|_| StoreError::Task)?;
    Ok(sender)
}

fn run_batch(conn: &mut Connection, batch: Vec<Job>, hub: &Hub, last_published: &AtomicI64) {
    if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
        // Dropping the jobs unrun tells each caller the write failed.
        tracing::error!(%error, "could not begin a write transaction");
        return;
    }
    let mut pending = Vec::with_capacity(batch.len());
    let mut appended = Vec::new();
    // A batch without logged events still checks the log when one job asked to (the periodic
    // check for events of other processes pushes a marker with id 0).
    let mut publish_always = false;
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
        if appended.last().is_some_and(|e| e.id == 0) {
            appended.pop();
            publish_always = true;
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
            appended.clear();
            for deliver in pending {
                deliver(Err("the write transaction was aborted".to_owned()));
            }
            return;
        }
    }
    let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
    if committed.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    } else {
        // Published here, on the writer thread, so subscribers see events in log order. What
        // is published is read back from the log rather than taken from what this batch
        // appended, so events another process (a CLI command) committed in between are
        // published too, in their place.
        if (!appended.is_empty() || publish_always)
            && let Err(error) = publish_new(conn, hub, last_published)
        {
            tracing::error!(%error, "could not publish appended events");
        }
    }
    for deliver in pending {
        deliver(committed.clone());
    }
}

/// Publishes every logged event after `last_published`, in order.
fn publish_new(conn: &Connection, hub: &Hub, last_published: &AtomicI64) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{EVENT_SELECT} WHERE id > ?1 ORDER BY id"))?;
    let rows = stmt.query_map([last_published.load(Ordering::Acquire)], event_row)?;
    for row in rows {
        let event = row?;
        last_published.store(event.id, Ordering::Release);
        hub.publish(event);
    }
    Ok(())
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}

impl SqliteStore {
    pub(super) async fn open(path: PathBuf) -> Result<Self, StoreError> {
        tokio::task::spawn_blocking(move || {
            let mut writer = Connection::open(&path)?;
            configure(&writer)?;
            migrate(&mut writer)?;
            // Checkpoints (the only fsyncs with synchronous=NORMAL) run in the background on
            // their own connection instead of inside whichever commit crosses the threshold.
            writer.pragma_update(None, "wal_autocheckpoint", 0)?;
            let last_event: i64 =
                writer.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))?;
            let last_published = Arc::new(AtomicI64::new(last_event));
            let hub = Arc::new(Hub::default());
            let checkpointer = Connection::open(&path)?;
            checkpointer.busy_timeout(std::time::Duration::from_secs(5))?;
            let mut readers = Vec::with_capacity(READERS);
            for _ in 0..READERS {
                let reader = Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                reader.busy_timeout(std::time::Duration::from_secs(5))?;
                reader.set_prepared_statement_cache_capacity(64);
                readers.push(Mutex::new(reader));
            }
            Ok(Self {
                inner: Arc::new(Inner {
                    writer: spawn_writer(writer, Arc::clone(&hub), Arc::clone(&last_published))?,
                    hub,
                    last_published,
                    checkpointer: Mutex::new(checkpointer),
                    readers,
                    next_reader: AtomicUsize::new(0),
                }),
            })
        })
        .await
        .map_err(|_| StoreError::Task)?
    }

    /// Runs a write on the writer thread, inside the next group commit; resolves once that
    /// commit is done (or failed). With `synchronous=NORMAL` in WAL mode a commit survives a
    /// crash of the process, not necessarily a power loss of the machine: the WAL is synced at
    /// checkpoints.
    async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        self.write_logged(move |conn, _| f(conn)).await
    }

    /// Like [`Self::write`], for writes that append to the event log: they push what they
    /// appended, and the writer publishes it to live subscribers once the commit is durable.
    async fn write_logged<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection, &mut Vec<LoggedEvent>) -> Result<R, StoreError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn: &Connection, appended: &mut Vec<LoggedEvent>| {
            let result = f(conn, appended);
            let ok = result.is_ok();
            let deliver: Delivery = Box::new(move |committed: Result<(), String>| {
                let outcome = match committed {
                    Ok(()) => result,
                    Err(reason) => Err(StoreError::Commit(reason)),
                };
                let _ = reply.send(outcome);
            });
            (ok, deliver)
        });
        self.inner.writer.send(job).map_err(|_| StoreError::Task)?;
        answer.await.map_err(|_| StoreError::Task)?
    }

    /// The newest published log position.
    pub(super) fn last_event_id(&self) -> i64 {
        self.inner.last_published.load(Ordering::Acquire)
    }

    /// A live feed of the appended events in `scope`, in log order.
    pub(super) fn subscribe(&self, scope: &EventScope) -> Feed {
        self.inner.hub.subscribe(scope)
    }

    /// Publishes events that another process appended to the log (a CLI command on the same
    /// database). Runs on the writer thread, so it is ordered with our own publications.
    pub(super) async fn publish_external(&self) -> Result<(), StoreError> {
        self.write_logged(move |_, appended| {
            // The marker asks the writer to check the log after this batch commits.
            appended.push(LoggedEvent {
                id: 0,
                event_type: String::new(),
                request_id: String::new(),
                client_key_id: String::new(),
                expert_id: String::new(),
                payload: String::new(),
                created_at: 0,
            });
            Ok(())
        })
        .await
    }

    /// Events in `scope` after a log position, in order, reading at most `limit` rows of the
    /// log; also returns the last position read (`None` when nothing was left), which is where
    /// the next page starts even if filtering dropped every row of this one.
    pub(super) async fn events_after(
        &self,
        after: i64,
        scope: EventScope,
        limit: u32,
    ) -> Result<(Vec<LoggedEvent>, Option<i64>), StoreError> {
        self.read(move |conn| {
            let (sql, first, second) = match &scope {
                EventScope::Client {
                    client_key_id,
                    request_id: Some(request_id),
                } => (
                    "WHERE request_id = ?3 AND client_key_id = ?4 AND id > ?1",
                    Some(request_id.clone()),
                    Some(client_key_id.clone()),
                ),
                EventScope::Client { client_key_id, .. } => (
                    "WHERE client_key_id = ?3 AND id > ?1 AND ?4 IS NULL",
                    Some(client_key_id.clone()),
                    None,
                ),
                EventScope::Expert { expert_id } => (
                    "WHERE expert_id = ?3 AND id > ?1 AND ?4 IS NULL",
                    Some(expert_id.clone()),
                    None,
                ),
                EventScope::All => ("WHERE id > ?1 AND ?3 IS NULL AND ?4 IS NULL", None, None),
            };
            let mut stmt =
                conn.prepare_cached(&format!("{EVENT_SELECT} {sql} ORDER BY id LIMIT ?2"))?;
            let rows = stmt.query_map(params![after, limit, first, second], event_row)?;
            let mut events = Vec::new();
            let mut scanned = None;
            for row in rows {
                let event = row?;
                scanned = Some(event.id);
                if scope.contains(&event) {
                    events.push(event);
                }
            }
            Ok((events, scanned))
        })
        .await
    }

    /// The highest log position pruned by retention (0 when nothing was).
    pub(super) async fn pruned_through(&self) -> Result<i64, StoreError> {
        self.read_point(|conn| {
            Ok(conn.query_row("SELECT pruned_through FROM event_log", [], |r| r.get(0))?)
        })
        .await
    }

    /// Deletes events appended before `before` and records how far the log was pruned.
    pub(super) async fn prune_events(&self, before: Millis) -> Result<u64, StoreError> {
        self.write(move |conn| {
            let through: Option<i64> = conn.query_row(
                "SELECT MAX(id) FROM events WHERE created_at < ?1",
                [before],
                |r| r.get(0),
            )?;
            let Some(through) = through else {
                return Ok(0);
            };
            let deleted = conn.execute("DELETE FROM events WHERE id <= ?1", [through])?;
            conn.execute(
                "UPDATE event_log SET pruned_through = MAX(pruned_through, ?1)",
                [through],
            )?;
            Ok(deleted as u64)
        })
        .await
    }

    async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let start = inner.next_reader.fetch_add(1, Ordering::Relaxed);
            // Prefer an idle reader; wait on the round-robin one if all are busy.
            for offset in 0..inner.readers.len() {
                let slot = &inner.readers[(start + offset) % inner.readers.len()];
                if let Ok(conn) = slot.try_lock() {
                    return f(&conn);
                }
            }
            let conn = inner.readers[start % inner.readers.len()]
                .lock()
                .map_err(|_| StoreError::Task)?;
            f(&conn)
        })
        .await
        .map_err(|_| StoreError::Task)?
    }

    /// A point look-up by key (an indexed read of one or a few rows, microseconds on a WAL
    /// snapshot, never waiting for the writer): runs inline on an idle reader connection,
    /// and goes to the blocking pool only when every reader is busy.
    async fn read_point<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let start = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        for offset in 0..self.inner.readers.len() {
            let slot = &self.inner.readers[(start + offset) % self.inner.readers.len()];
            if let Ok(conn) = slot.try_lock() {
                return f(&conn);
            }
        }
        self.read(f).await
    }

    /// Copies the write-ahead log into the database without blocking writers (a PASSIVE
    /// checkpoint); the sweeper calls it periodically. Returns the WAL frames still pending.
    pub(super) async fn checkpoint(&self) -> Result<i64, StoreError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let conn = inner.checkpointer.lock().map_err(|_| StoreError::Task)?;
            let (log, done): (i64, i64) =
                conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                    Ok((row.get(1)?, row.get(2)?))
                })?;
            Ok(log - done)
        })
        .await
        .map_err(|_| StoreError::Task)?
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    pub(super) async fn is_empty(&self) -> Result<bool, StoreError> {
        self.read(|conn| {
            let count: i64 = conn.query_row("SELECT COUNT(*) FROM experts", [], |r| r.get(0))?;
            Ok(count == 0)
        })
        .await
    }

    pub(super) async fn insert_expert(&self, new: NewExpert) -> Result<ExpertRecord, StoreError> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO owners (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![new.owner_id, new.name, new.created_at],
            )?;
            conn.execute(
                "INSERT INTO experts (id, owner_id, name, key_hash, is_active, created_at)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5)",
                params![
                    new.id,
                    new.owner_id,
                    new.name,
                    &new.key_hash[..],
                    new.created_at
                ],
            )?;
            Ok(ExpertRecord {
                id: new.id,
                owner_id: new.owner_id,
                name: new.name,
                is_active: true,
                sign_public_key: None,
                encrypt_public_key: None,
                fingerprint: None,
            })
        })
        .await
    }

    pub(super) async fn insert_client_key(
        &self,
        new: NewClientKey,
    ) -> Result<ClientKeyRecord, StoreError> {
        self.write(move |conn| {
            let owner_id: String = conn.query_row(
                "SELECT owner_id FROM experts WHERE id = ?1",
                [&new.expert_id],
                |r| r.get(0),
            )?;
            conn.execute(
                "INSERT INTO client_keys
                   (id, owner_id, expert_id, name, key_hash, is_active, device_token_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    new.id,
                    owner_id,
                    new.expert_id,
                    new.name,
                    &new.key_hash[..],
                    new.is_active,
                    new.device_token_hash.as_ref().map(|h| &h[..]),
                    new.created_at
                ],
            )?;
            Ok(ClientKeyRecord {
                id: new.id,
                owner_id,
                expert_id: new.expert_id,
                name: new.name,
                is_active: new.is_active,
                device_token_hash: new.device_token_hash,
                rate_limit_per_minute: None,
                has_devices: false,
            })
        })
        .await
    }

    pub(super) async fn revoke_client_key(&self, key_id: &str) -> Result<bool, StoreError> {
        let key_id = key_id.to_owned();
        self.write(move |conn| {
            let changed = conn.execute(
                "UPDATE client_keys SET is_active = 0, previous_key_hash = NULL WHERE id = ?1",
                [key_id],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    pub(super) async fn rotate_client_key(
        &self,
        key_id: &str,
        new_hash: KeyHash,
        grace_until: Millis,
    ) -> Result<bool, StoreError> {
        let key_id = key_id.to_owned();
        self.write(move |conn| {
            let changed = conn.execute(
                "UPDATE client_keys
                 SET previous_key_hash = key_hash, previous_key_expires_at = ?2, key_hash = ?3
                 WHERE id = ?1 AND is_active = 1",
                params![key_id, grace_until, &new_hash[..]],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    pub(super) async fn client_key_by_hash(
        &self,
        hash: KeyHash,
        now: Millis,
    ) -> Result<Option<ClientKeyRecord>, StoreError> {
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, owner_id, expert_id, name, is_active, device_token_hash,
                        rate_limit_per_minute,
                        EXISTS (SELECT 1 FROM devices WHERE devices.client_key_id = client_keys.id)
                 FROM client_keys
                 WHERE key_hash = ?1
                    OR (previous_key_hash = ?1 AND previous_key_expires_at > ?2)
                 LIMIT 1",
            )?;
            Ok(stmt
                .query_row(params![&hash[..], now], |row| {
                    Ok(ClientKeyRecord {
                        id: row.get(0)?,
                        owner_id: row.get(1)?,
                        expert_id: row.get(2)?,
                        name: row.get(3)?,
                        is_active: row.get(4)?,
                        device_token_hash: hash_column(row, 5)?,
                        rate_limit_per_minute: row.get(6)?,
                        has_devices: row.get(7)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    pub(super) async fn expert_by_hash(
        &self,
        hash: KeyHash,
    ) -> Result<Option<ExpertRecord>, StoreError> {
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached(&format!("{EXPERT_SELECT} WHERE key_hash = ?1"))?;
            Ok(stmt.query_row([&hash[..]], expert_row).optional()?)
        })
        .await
    }

    pub(super) async fn expert(&self, id: &str) -> Result<Option<ExpertRecord>, StoreError> {
        let id = id.to_owned();
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached(&format!("{EXPERT_SELECT} WHERE id = ?1"))?;
            Ok(stmt.query_row([id], expert_row).optional()?)
        })
        .await
    }

    pub(super) async fn owner(&self, id: &str) -> Result<Option<OwnerRecord>, StoreError> {
        let id = id.to_owned();
        self.read_point(move |conn| {
            Ok(conn
                .query_row("SELECT id, name FROM owners WHERE id = ?1", [id], |row| {
                    Ok(OwnerRecord {
                        id: row.get(0)?,
                        name: row.get(1)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    pub(super) async fn set_expert_keys(
        &self,
        expert_id: &str,
        sign: String,
        encrypt: String,
        fingerprint: String,
    ) -> Result<(), StoreError> {
        let expert_id = expert_id.to_owned();
        self.write(move |conn| {
            conn.execute(
                "UPDATE experts SET sign_public_key = ?2, encrypt_public_key = ?3, fingerprint = ?4
                 WHERE id = ?1",
                params![expert_id, sign, encrypt, fingerprint],
            )?;
            Ok(())
        })
        .await
    }

    pub(super) async fn devices(
        &self,
        client_key_id: &str,
    ) -> Result<Vec<DeviceRecord>, StoreError> {
        let client_key_id = client_key_id.to_owned();
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, client_key_id, public_key, created_at FROM devices
                 WHERE client_key_id = ?1 ORDER BY created_at",
            )?;
            let rows = stmt.query_map([client_key_id], |row| {
                Ok(DeviceRecord {
                    id: row.get(0)?,
                    client_key_id: row.get(1)?,
                    public_key: row.get(2)?,
                    created_at: row.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub(super) async fn insert_device(
        &self,
        device: DeviceRecord,
        only_if_first: bool,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let inserted = conn.execute(
                "INSERT OR IGNORE INTO devices (id, client_key_id, public_key, created_at)
                 SELECT ?1, ?2, ?3, ?4
                 WHERE NOT ?5 OR NOT EXISTS (SELECT 1 FROM devices WHERE client_key_id = ?2)",
                params![
                    device.id,
                    device.client_key_id,
                    device.public_key,
                    device.created_at,
                    only_if_first
                ],
            )?;
            Ok(inserted == 1)
        })
        .await
    }

    pub(super) async fn idempotent_response(
        &self,
        client_key_id: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let (client_key_id, key) = (client_key_id.to_owned(), key.to_owned());
        self.read_point(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT response_json FROM idempotency_keys
                     WHERE client_key_id = ?1 AND idempotency_key = ?2",
                )?
                .query_row(params![client_key_id, key], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    pub(super) async fn record_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        expires_at: Millis,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let (device_id, nonce) = (device_id.to_owned(), nonce.to_owned());
        self.write(move |conn| {
            // An expired entry may linger until the sweeper prunes it: replace it.
            let mut stmt = conn.prepare_cached(
                "INSERT INTO nonces (device_id, nonce, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (device_id, nonce) DO UPDATE SET expires_at = excluded.expires_at
                 WHERE nonces.expires_at <= ?4",
            )?;
            let changed = stmt.execute(params![device_id, nonce, expires_at, now])?;
            Ok(changed == 1)
        })
        .await
    }

    pub(super) async fn create_request(
        &self,
        new: NewRequest,
    ) -> Result<CreateOutcome, StoreError> {
        self.write_logged(move |conn, appended| {
            if let Some(idem) = &new.idempotency {
                let existing: Option<String> = conn
                    .prepare_cached(
                        "SELECT response_json FROM idempotency_keys
                         WHERE client_key_id = ?1 AND idempotency_key = ?2",
                    )?
                    .query_row(params![idem.client_key_id, idem.key], |r| r.get(0))
                    .optional()?;
                if let Some(response) = existing {
                    return Ok(CreateOutcome::Replayed(response));
                }
            }
            let r = &new.request;
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO requests (
                    id, ref_code, client_key_id, expert_id, status, response_required,
                    requires_approval, sealed, question, messages_json, content_flags,
                    consumer_sign_key, consumer_encrypt_key, legacy_public_key,
                    expert_sign_key, expert_encrypt_key, created_at, expires_at,
                    status_changed_at, message_count)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                         ?17, ?18, ?19, ?20)",
                )?
                .execute(params![
                    r.id,
                    r.ref_code,
                    r.client_key_id,
                    r.expert_id,
                    r.status.as_str(),
                    r.response_required,
                    r.requires_approval,
                    r.sealed,
                    r.question,
                    r.messages_json,
                    r.content_flags,
                    r.consumer_sign_key,
                    r.consumer_encrypt_key,
                    r.legacy_public_key,
                    r.expert_sign_key,
                    r.expert_encrypt_key,
                    r.created_at,
                    r.expires_at,
                    r.status_changed_at,
                    r.message_count,
                ]);
            match inserted {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, Some(msg)))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation
                        && msg.contains("ref_code") =>
                {
                    return Err(StoreError::RefCodeTaken);
                }
                Err(other) => return Err(other.into()),
            }
            if let Some(message) = &new.first_message {
                insert_message(conn, message)?;
            }
            if let Some(idem) = &new.idempotency {
                conn.prepare_cached(
                    "INSERT INTO idempotency_keys
                       (client_key_id, idempotency_key, request_id, response_json, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    idem.client_key_id,
                    idem.key,
                    r.id,
                    idem.response_json,
                    r.created_at
                ])?;
            }
            for event in &new.events {
                appended.push(insert_event(conn, event)?);
            }
            Ok(CreateOutcome::Created)
        })
        .await
    }

    pub(super) async fn request(&self, id: &str) -> Result<Option<RequestRecord>, StoreError> {
        let id = id.to_owned();
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT * FROM requests WHERE id = ?1")?;
            stmt.query_row([id], request_row).optional()?.transpose()
        })
        .await
    }

    pub(super) async fn request_by_ref(
        &self,
        ref_code: &str,
    ) -> Result<Option<RequestRecord>, StoreError> {
        let ref_code = ref_code.to_owned();
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT * FROM requests WHERE ref_code = ?1")?;
            stmt.query_row([ref_code], request_row)
                .optional()?
                .transpose()
        })
        .await
    }

    pub(super) async fn requests_for_expert(
        &self,
        expert_id: &str,
        status: Option<String>,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let expert_id = expert_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT * FROM requests WHERE expert_id = ?1 AND (?2 IS NULL OR status = ?2)
                 ORDER BY created_at DESC, id DESC LIMIT 1000",
            )?;
            collect_requests(stmt.query_map(params![expert_id, status], request_row)?)
        })
        .await
    }

    pub(super) async fn all_requests(
        &self,
        status: Option<String>,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT * FROM requests WHERE (?1 IS NULL OR status = ?1)
                 ORDER BY created_at DESC, id DESC",
            )?;
            collect_requests(stmt.query_map(params![status], request_row)?)
        })
        .await
    }

    pub(super) async fn expert_pending(
        &self,
        expert_id: &str,
        now: Millis,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let expert_id = expert_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT * FROM requests
                 WHERE expert_id = ?1 AND expert_delivered_at IS NULL AND expires_at > ?2
                   AND status IN ('pending', 'reviewing', 'active')
                 ORDER BY created_at, id LIMIT 500",
            )?;
            collect_requests(stmt.query_map(params![expert_id, now], request_row)?)
        })
        .await
    }

    pub(super) async fn consumer_pending(
        &self,
        client_key_id: &str,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let client_key_id = client_key_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT * FROM requests
                 WHERE client_key_id = ?1 AND (
                    COALESCE(last_expert_event, 0) > COALESCE(consumer_ack_event, 0)
                    OR (status IN ('cancelled', 'acknowledged', 'expired')
                        AND COALESCE(last_status_event, 0) > COALESCE(consumer_ack_event, 0)))
                 ORDER BY created_at, id LIMIT 500",
            )?;
            collect_requests(stmt.query_map(params![client_key_id], request_row)?)
        })
        .await
    }

    pub(super) async fn messages(
        &self,
        request_id: &str,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let request_id = request_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, request_id, sender, ciphertext, iv, auth_tag, signature, message_id,
                        plaintext, created_at
                 FROM messages WHERE request_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([request_id], |row| {
                let sender: String = row.get(2)?;
                Ok((
                    sender,
                    MessageRecord {
                        id: row.get(0)?,
                        request_id: row.get(1)?,
                        sender: Sender::Consumer,
                        ciphertext: row.get(3)?,
                        iv: row.get(4)?,
                        auth_tag: row.get(5)?,
                        signature: row.get(6)?,
                        message_id: row.get(7)?,
                        plaintext: row.get(8)?,
                        created_at: row.get(9)?,
                    },
                ))
            })?;
            let mut messages = Vec::new();
            for row in rows {
                let (sender, mut message) = row?;
                message.sender = parse_sender(&sender)?;
                messages.push(message);
            }
            Ok(messages)
        })
        .await
    }

    pub(super) async fn apply(&self, change: Change) -> Result<ApplyOutcome, StoreError> {
        self.write_logged(move |conn, appended| {
            if let Some(message) = &change.message {
                let exists = conn
                    .prepare_cached(
                        "SELECT 1 FROM messages WHERE request_id = ?1 AND message_id = ?2",
                    )?
                    .exists(params![change.request_id, message.message_id])?;
                if exists {
                    return Ok(ApplyOutcome::DuplicateMessage);
                }
            }
            let p = &change.patch;
            let status_changed = p
                .status
                .as_ref()
                .is_some_and(|s| *s != change.expected_status);
            let updated = conn
                .prepare_cached(
                    "UPDATE requests SET
                        status = COALESCE(?3, status),
                        status_changed_at = CASE WHEN ?4 THEN ?5 ELSE status_changed_at END,
                        approval_decision = COALESCE(?6, approval_decision),
                        expert_sign_key = COALESCE(?7, expert_sign_key),
                        expert_encrypt_key = COALESCE(?8, expert_encrypt_key),
                        responded_at = COALESCE(?9, responded_at),
                        closed_at = COALESCE(?10, closed_at),
                        acknowledged_at = COALESCE(?11, acknowledged_at),
                        client_timed_out_at = COALESCE(?12, client_timed_out_at),
                        latest_expert_message_at = COALESCE(?13, latest_expert_message_at),
                        rating = COALESCE(?14, rating),
                        rating_feedback = COALESCE(?15, rating_feedback),
                        rated_at = COALESCE(?16, rated_at),
                        message_count = message_count + ?17,
                        version = version + 1
                     WHERE id = ?1 AND version = ?2",
                )?
                .execute(params![
                    change.request_id,
                    change.expected_version,
                    p.status.as_ref().map(Status::as_str),
                    status_changed,
                    change.at,
                    p.approval_decision.map(ApprovalDecision::as_str),
                    p.expert_sign_key,
                    p.expert_encrypt_key,
                    p.responded_at,
                    p.closed_at,
                    p.acknowledged_at,
                    p.client_timed_out_at,
                    p.latest_expert_message_at,
                    p.rating,
                    p.rating_feedback,
                    p.rated_at,
                    u32::from(change.message.is_some()),
                ])?;
            if updated != 1 {
                return Err(StoreError::Conflict);
            }
            if let Some(message) = &change.message {
                insert_message(conn, message)?;
            }
            for event in &change.events {
                let logged = insert_event(conn, event)?;
                let position = logged.id;
                appended.push(logged);
                let column = match event.event_type {
                    "new_message"
                        if change
                            .message
                            .as_ref()
                            .is_some_and(|m| m.sender == Sender::Expert) =>
                    {
                        Some("last_expert_event")
                    }
                    "new_message" => None,
                    _ if status_changed => Some("last_status_event"),
                    _ => None,
                };
                if let Some(column) = column {
                    conn.prepare_cached(&format!(
                        "UPDATE requests SET {column} = ?2 WHERE id = ?1"
                    ))?
                    .execute(params![change.request_id, position])?;
                }
            }
            let record = conn
                .prepare_cached("SELECT * FROM requests WHERE id = ?1")?
                .query_row([&change.request_id], request_row)??;
            Ok(ApplyOutcome::Applied(Box::new(record)))
        })
        .await
    }

    pub(super) async fn mark_delivered(
        &self,
        request_id: &str,
        side: FeedSide,
        at: Millis,
    ) -> Result<(), StoreError> {
        let request_id = request_id.to_owned();
        self.write(move |conn| {
            let sql = match side {
                FeedSide::Expert => "UPDATE requests SET expert_delivered_at = ?2 WHERE id = ?1",
                FeedSide::Consumer => {
                    "UPDATE requests SET consumer_delivered_at = ?2,
                        consumer_ack_event = MAX(COALESCE(last_expert_event, 0),
                                                 COALESCE(last_status_event, 0))
                     WHERE id = ?1"
                }
            };
            conn.prepare_cached(sql)?.execute(params![request_id, at])?;
            Ok(())
        })
        .await
    }

    pub(super) async fn due_for_expiry(
        &self,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM requests
                 WHERE status NOT IN ('closed', 'expired', 'cancelled', 'acknowledged')
                   AND expires_at <= ?1
                 ORDER BY expires_at LIMIT ?2",
            )?;
            let ids = stmt.query_map(params![now, limit], |r| r.get(0))?;
            Ok(ids.collect::<Result<Vec<String>, _>>()?)
        })
        .await
    }

    pub(super) async fn prune(
        &self,
        now: Millis,
        idempotency_before: Millis,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute("DELETE FROM nonces WHERE expires_at <= ?1", [now])?;
            conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?1",
                [idempotency_before],
            )?;
            Ok(())
        })
        .await
    }
}

const EXPERT_SELECT: &str = "SELECT id, owner_id, name, is_active, sign_public_key,
    encrypt_public_key, fingerprint FROM experts";

fn expert_row(row: &Row<'_>) -> rusqlite::Result<ExpertRecord> {
    Ok(ExpertRecord {
        id: row.get(0)?,
        owner_id: row.get(1)?,
        name: row.get(2)?,
        is_active: row.get(3)?,
        sign_public_key: row.get(4)?,
        encrypt_public_key: row.get(5)?,
        fingerprint: row.get(6)?,
    })
}

fn hash_column(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<KeyHash>> {
    let bytes: Option<Vec<u8>> = row.get(index)?;
    Ok(bytes.and_then(|b| b.try_into().ok()))
}

fn parse_sender(text: &str) -> Result<Sender, StoreError> {
    match text {
        "consumer" => Ok(Sender::Consumer),
        "expert" => Ok(Sender::Expert),
        other => Err(StoreError::Corrupt(format!("message sender {other:?}"))),
    }
}

fn parse_decision(text: Option<String>) -> Result<Option<ApprovalDecision>, StoreError> {
    match text.as_deref() {
        None => Ok(None),
        Some("approved") => Ok(Some(ApprovalDecision::Approved)),
        Some("denied") => Ok(Some(ApprovalDecision::Denied)),
        Some(other) => Err(StoreError::Corrupt(format!("approval decision {other:?}"))),
    }
}

/// Maps a `SELECT *` row of `requests`; the outer error is SQLite's, the inner one a value that
/// does not parse.
fn request_row(row: &Row<'_>) -> rusqlite::Result<Result<RequestRecord, StoreError>> {
    let status: String = row.get("status")?;
    let decision: Option<String> = row.get("approval_decision")?;
    let rating: Option<i64> = row.get("rating")?;
    let record = RequestRecord {
        id: row.get("id")?,
        ref_code: row.get("ref_code")?,
        client_key_id: row.get("client_key_id")?,
        expert_id: row.get("expert_id")?,
        status: Status::from_wire(&status),
        version: row.get("version")?,
        response_required: row.get("response_required")?,
        requires_approval: row.get("requires_approval")?,
        approval_decision: None,
        sealed: row.get("sealed")?,
        question: row.get("question")?,
        messages_json: row.get("messages_json")?,
        content_flags: row.get("content_flags")?,
        consumer_sign_key: row.get("consumer_sign_key")?,
        consumer_encrypt_key: row.get("consumer_encrypt_key")?,
        legacy_public_key: row.get("legacy_public_key")?,
        expert_sign_key: row.get("expert_sign_key")?,
        expert_encrypt_key: row.get("expert_encrypt_key")?,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
        status_changed_at: row.get("status_changed_at")?,
        responded_at: row.get("responded_at")?,
        closed_at: row.get("closed_at")?,
        acknowledged_at: row.get("acknowledged_at")?,
        client_timed_out_at: row.get("client_timed_out_at")?,
        expert_delivered_at: row.get("expert_delivered_at")?,
        consumer_delivered_at: row.get("consumer_delivered_at")?,
        latest_expert_message_at: row.get("latest_expert_message_at")?,
        message_count: row.get("message_count")?,
        last_expert_event: row.get("last_expert_event")?,
        last_status_event: row.get("last_status_event")?,
        consumer_ack_event: row.get("consumer_ack_event")?,
        rating: rating.and_then(|r| u8::try_from(r).ok()),
        rating_feedback: row.get("rating_feedback")?,
        rated_at: row.get("rated_at")?,
    };
    Ok(
        parse_decision(decision).map(|approval_decision| RequestRecord {
            approval_decision,
            ..record
        }),
    )
}

fn collect_requests(
    rows: impl Iterator<Item = rusqlite::Result<Result<RequestRecord, StoreError>>>,
) -> Result<Vec<RequestRecord>, StoreError> {
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

fn insert_message(conn: &Connection, m: &MessageRecord) -> Result<(), StoreError> {
    let sender = match m.sender {
        Sender::Consumer => "consumer",
        Sender::Expert => "expert",
    };
    conn.prepare_cached(
        "INSERT INTO messages (id, request_id, sender, ciphertext, iv, auth_tag, signature,
                               message_id, plaintext, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        m.id,
        m.request_id,
        sender,
        m.ciphertext,
        m.iv,
        m.auth_tag,
        m.signature,
        m.message_id,
        m.plaintext,
        m.created_at
    ])?;
    Ok(())
}

fn insert_event(conn: &Connection, e: &NewEvent) -> Result<LoggedEvent, StoreError> {
    conn.prepare_cached(
        "INSERT INTO events (event_type, request_id, client_key_id, expert_id, payload, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        e.event_type,
        e.request_id,
        e.client_key_id,
        e.expert_id,
        e.payload,
        e.created_at
    ])?;
    Ok(LoggedEvent {
        id: conn.last_insert_rowid(),
        event_type: e.event_type.to_owned(),
        request_id: e.request_id.clone(),
        client_key_id: e.client_key_id.clone(),
        expert_id: e.expert_id.clone(),
        payload: e.payload.clone(),
        created_at: e.created_at,
    })
}

const EVENT_SELECT: &str = "SELECT id, event_type, request_id, client_key_id, expert_id, payload,
    created_at FROM events";

fn event_row(row: &Row<'_>) -> rusqlite::Result<LoggedEvent> {
    Ok(LoggedEvent {
        id: row.get(0)?,
        event_type: row.get(1)?,
        request_id: row.get(2)?,
        client_key_id: row.get(3)?,
        expert_id: row.get(4)?,
        payload: row.get(5)?,
        created_at: row.get(6)?,
    })
}
