//! How SQLite's errors become backend-neutral [`StoreError`]s.

use rusqlite::{ErrorCode, ffi};

use crate::store::StoreError;

/// What a database closure fails with inside this backend: an SQLite error not yet classified,
/// or an error the code decided on itself. Converted to [`StoreError`] before leaving the
/// backend, so no `rusqlite` type reaches the public error.
#[derive(Debug)]
pub(super) enum Failure {
    /// From SQLite.
    Sqlite(rusqlite::Error),
    /// Already neutral (a conflict, a corrupt value, …).
    Store(StoreError),
}

/// The result of a database closure.
pub(super) type SqlResult<T> = Result<T, Failure>;

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Store(error) => error,
            Failure::Sqlite(error) => classify(error),
        }
    }
}

/// The prefix of SQLite's message for a violated UNIQUE or PRIMARY KEY constraint, followed by
/// the table-qualified columns (`requests.ref_code`, or `t.a, t.b` for several).
const UNIQUE_FAILED: &str = "UNIQUE constraint failed: ";

fn classify(error: rusqlite::Error) -> StoreError {
    let rusqlite::Error::SqliteFailure(cause, message) = &error else {
        return match error {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            other => StoreError::Backend(Box::new(other)),
        };
    };
    let unique = matches!(
        cause.extended_code,
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    );
    if let Some(columns) = message
        .as_deref()
        .and_then(|m| m.strip_prefix(UNIQUE_FAILED))
        .filter(|_| unique)
    {
        return StoreError::UniqueViolation {
            constraint: columns.to_owned(),
        };
    }
    if matches!(
        cause.code,
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked
    ) {
        return StoreError::Unavailable(error.to_string());
    }
    StoreError::Backend(Box::new(error))
}

/// A blocking task that panicked or was cancelled, or a channel to one that is gone.
pub(super) fn task_failed<E>(_: E) -> StoreError {
    StoreError::Unavailable("database task failed".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rusqlite::Connection;

    use super::*;

    fn failure(conn: &Connection, sql: &str) -> StoreError {
        Failure::from(conn.execute_batch(sql).unwrap_err()).into()
    }

    #[test]
    fn unique_and_primary_key_violations_name_their_columns() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id TEXT PRIMARY KEY, code TEXT UNIQUE, a INT, b INT NOT NULL,
                             UNIQUE (a, b));
             INSERT INTO t VALUES ('x', 'c', 1, 1);",
        )
        .unwrap();
        let code = failure(&conn, "INSERT INTO t VALUES ('y', 'c', 2, 2)");
        assert!(code.is_unique_violation("t.code"), "{code:?}");
        let id = failure(&conn, "INSERT INTO t VALUES ('x', 'd', 3, 3)");
        assert!(id.is_unique_violation("t.id"), "{id:?}");
        let pair = failure(&conn, "INSERT INTO t VALUES ('z', 'e', 1, 1)");
        assert!(pair.is_unique_violation("t.a, t.b"), "{pair:?}");
        // Other constraints are not unique violations, whatever their message says.
        let not_null = failure(&conn, "INSERT INTO t VALUES ('w', 'f', 4, NULL)");
        assert!(matches!(not_null, StoreError::Backend(_)), "{not_null:?}");
    }

    #[test]
    fn missing_rows_busy_databases_and_the_rest() {
        let conn = Connection::open_in_memory().unwrap();
        let none = conn
            .query_row("SELECT 1 WHERE 0", [], |r| r.get::<_, i64>(0))
            .unwrap_err();
        assert!(matches!(
            StoreError::from(Failure::from(none)),
            StoreError::NotFound
        ));
        let busy = rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_BUSY), None);
        assert!(matches!(
            StoreError::from(Failure::from(busy)),
            StoreError::Unavailable(_)
        ));
        let syntax = failure(&conn, "SELEKT 1");
        assert!(matches!(syntax, StoreError::Backend(_)), "{syntax:?}");
    }
}
