//! Online backups of an SQLite store and restoring them (`heysummon-server backup` and
//! `restore`), with SQLite's online backup API.
//!
//! A backup is one consistent snapshot: the pages are copied in one step under one read
//! transaction on the live database, so a server writing meanwhile is not blocked, and what it
//! commits after the snapshot began is not in the backup. The copy is made in a temporary file
//! beside the destination, switched out of WAL mode (one self-contained file), checked, synced
//! and renamed into place, so a failed backup leaves nothing that looks like one.
//!
//! A restore checks the backup (`PRAGMA integrity_check`, foreign keys, that it is a HeySummon
//! database), refuses to replace a database holding data unless forced, and copies the backup
//! page by page into the database through SQLite (so a write-ahead log of the old database
//! cannot be replayed over it), then opens it as the server would (a backup of an older
//! version is migrated). The server must be stopped: a running one would keep what it has in
//! memory (its event cursor, its caches) and go on from there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::location::Location;
use super::{Store, StoreError};

/// How long a connection waits for a lock another holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempts at the one-step copy when the database is momentarily locked.
const ATTEMPTS: u32 = 50;

/// What a backup wrote.
#[derive(Clone, Debug, Serialize)]
pub struct BackupSummary {
    /// The backup file.
    pub backup: PathBuf,
    /// The database backed up.
    pub database: PathBuf,
    /// The backup's size.
    pub bytes: u64,
    /// Experts in the backup.
    pub experts: u64,
    /// Requests in the backup.
    pub requests: u64,
    /// Events in the backup's log.
    pub events: u64,
}

/// What a restore put back.
#[derive(Clone, Debug, Serialize)]
pub struct RestoreSummary {
    /// The backup file restored.
    pub restored: PathBuf,
    /// The database replaced.
    pub database: PathBuf,
    /// Experts now in the database.
    pub experts: u64,
    /// Requests now in the database.
    pub requests: u64,
    /// Events now in its log.
    pub events: u64,
}

/// Why a backup or a restore did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The database is PostgreSQL's.
    #[error(
        "backup and restore work on SQLite databases; back up PostgreSQL with pg_dump \
         (pg_dump --format=custom --file=heysummon.dump URL) and restore with pg_restore"
    )]
    Postgres,
    /// The database or the backup does not exist.
    #[error("no SQLite database at {}", .0.display())]
    Missing(PathBuf),
    /// The backup's destination exists.
    #[error("{} already exists; back up to a new file", .0.display())]
    Exists(PathBuf),
    /// The file to restore is damaged or not a HeySummon database.
    #[error("{} cannot be restored: {reason}", .path.display())]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The database to replace holds data and the restore was not forced.
    #[error(
        "the database at {} is not empty (it has rows in {}); stop the server and pass \
         --force to replace it",
        .path.display(), .tables.join(", ")
    )]
    NotEmpty {
        /// The database.
        path: PathBuf,
        /// The tables that have rows.
        tables: Vec<&'static str>,
    },
    /// The database stayed locked.
    #[error(
        "the database at {} stayed locked; try again (restore: stop the server first)",
        .0.display()
    )]
    Busy(PathBuf),
    /// A file could not be written, synced or renamed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// A database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn sql(error: rusqlite::Error) -> BackupError {
    BackupError::Store(StoreError::Backend(Box::new(error)))
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> BackupError {
    move |source| BackupError::Io { what, source }
}

fn task_failed<E>(_: E) -> BackupError {
    BackupError::Store(StoreError::Unavailable("the backup task failed".to_owned()))
}

/// The SQLite file a database URL names.
fn sqlite_path(url: &str) -> Result<PathBuf, BackupError> {
    match Location::parse(url)? {
        Location::Sqlite(path) => Ok(path),
        Location::Postgres(_) => Err(BackupError::Postgres),
    }
}

/// Backs up the SQLite database at `url` into the new file `to`, online.
pub async fn backup(url: &str, to: &Path) -> Result<BackupSummary, BackupError> {
    let (database, to) = (sqlite_path(url)?, to.to_owned());
    tokio::task::spawn_blocking(move || {
        let partial = with_suffix(&to, ".partial");
        let done = back_up(&database, &to, &partial);
        if done.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        done
    })
    .await
    .map_err(task_failed)?
}

fn back_up(database: &Path, to: &Path, partial: &Path) -> Result<BackupSummary, BackupError> {
    if !database.is_file() {
        return Err(BackupError::Missing(database.to_owned()));
    }
    if to.exists() {
        return Err(BackupError::Exists(to.to_owned()));
    }
    match std::fs::remove_file(partial) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(io(format!("removing {}", partial.display()))(e));
        }
        _ => {}
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let source = Connection::open_with_flags(database, flags).map_err(sql)?;
    source.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    let mut copy = Connection::open(partial).map_err(sql)?;
    copy_pages(&source, &mut copy, database)?;
    drop(source);
    copy.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sql)?;
    check(&copy, partial)?;
    let (experts, requests, events) = counts(&copy)?;
    copy.close().map_err(|(_, e)| sql(e))?;
    let file =
        std::fs::File::open(partial).map_err(io(format!("opening {}", partial.display())))?;
    file.sync_all()
        .map_err(io(format!("syncing {}", partial.display())))?;
    let bytes = file
        .metadata()
        .map_err(io("reading its size".into()))?
        .len();
    std::fs::rename(partial, to).map_err(io(format!("renaming to {}", to.display())))?;
    sync_directory(to)?;
    Ok(BackupSummary {
        backup: to.to_owned(),
        database: database.to_owned(),
        bytes,
        experts,
        requests,
        events,
    })
}

/// Replaces the SQLite database at `url` with the backup `from`; refuses a database holding
/// data unless `force`. The server must be stopped.
pub async fn restore(from: &Path, url: &str, force: bool) -> Result<RestoreSummary, BackupError> {
    let (database, from) = (sqlite_path(url)?, from.to_owned());
    let (restored, target) = (from.clone(), database.clone());
    tokio::task::spawn_blocking(move || put_back(&from, &target, force))
        .await
        .map_err(task_failed)??;
    // Opened as the server opens it: migrated if the backup is older, checkpointed whole.
    let store = Store::open_sqlite(&database).await?;
    store.final_checkpoint().await?;
    drop(store);
    let conn = Connection::open(&database).map_err(sql)?;
    let (experts, requests, events) = counts(&conn)?;
    Ok(RestoreSummary {
        restored,
        database,
        experts,
        requests,
        events,
    })
}

fn put_back(from: &Path, database: &Path, force: bool) -> Result<(), BackupError> {
    if !from.is_file() {
        return Err(BackupError::Missing(from.to_owned()));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let backup = Connection::open_with_flags(from, flags).map_err(sql)?;
    check(&backup, from)?;
    let unusable = |reason: &str| BackupError::Unusable {
        path: from.to_owned(),
        reason: reason.to_owned(),
    };
    let version: i64 = backup
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql)?;
    let has_experts: bool = backup
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'experts')",
            [],
            |r| r.get(0),
        )
        .map_err(sql)?;
    if version < 1 || !has_experts {
        return Err(unusable("it is not a HeySummon database"));
    }
    let mut target = Connection::open(database).map_err(sql)?;
    target.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    let occupied = super::copy::sqlite_occupied(&target)?;
    if !occupied.is_empty() && !force {
        return Err(BackupError::NotEmpty {
            path: database.to_owned(),
            tables: occupied,
        });
    }
    copy_pages(&backup, &mut target, database)
}

/// Copies every page of `from` into `to` in one step (one snapshot of `from`).
fn copy_pages(from: &Connection, to: &mut Connection, locked: &Path) -> Result<(), BackupError> {
    let backup = Backup::new(from, to).map_err(sql)?;
    for _ in 0..ATTEMPTS {
        match backup.step(-1).map_err(sql)? {
            StepResult::Done => return Ok(()),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    Err(BackupError::Busy(locked.to_owned()))
}

/// `PRAGMA integrity_check` and `PRAGMA foreign_key_check` of a database file.
fn check(conn: &Connection, path: &Path) -> Result<(), BackupError> {
    let unusable = |reason: String| BackupError::Unusable {
        path: path.to_owned(),
        reason,
    };
    // The first column of every row of a pragma: integrity_check's findings ("ok" alone when
    // there are none), foreign_key_check's tables with a row referring to a missing one.
    let findings = |pragma: &str| -> Result<Vec<String>, rusqlite::Error> {
        let mut statement = conn.prepare(pragma)?;
        let rows = statement.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    };
    let integrity = findings("PRAGMA integrity_check").map_err(|e| unusable(e.to_string()))?;
    if integrity != ["ok"] {
        let first: Vec<_> = integrity.into_iter().take(5).collect();
        return Err(unusable(format!("integrity check: {}", first.join("; "))));
    }
    let mut orphans = findings("PRAGMA foreign_key_check").map_err(|e| unusable(e.to_string()))?;
    if !orphans.is_empty() {
        let rows = orphans.len();
        orphans.dedup();
        return Err(unusable(format!(
            "{rows} rows refer to rows it does not hold (in {})",
            orphans.join(", ")
        )));
    }
    Ok(())
}

/// Experts, requests and events in a database.
fn counts(conn: &Connection) -> Result<(u64, u64, u64), BackupError> {
    let count = |table: &str| -> Result<u64, BackupError> {
        let n: i64 = conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .map_err(sql)?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok((count("experts")?, count("requests")?, count("events")?))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Syncs the directory holding `path`, so the rename survives a power loss.
fn sync_directory(path: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(format!("syncing {}", dir.display())))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
