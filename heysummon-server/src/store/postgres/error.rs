//! How PostgreSQL's errors become backend-neutral [`StoreError`]s.

use tokio_postgres::error::SqlState;

use crate::store::StoreError;

/// The result of a query in this backend.
pub(crate) type PgResult<T> = Result<T, StoreError>;

/// Classifies a driver error: unique violations name their table-qualified columns (as
/// SQLite's do), serialisation failures and deadlocks are conflicts, a lost connection is
/// unavailability, anything else a backend error.
pub(crate) fn pg(error: tokio_postgres::Error) -> StoreError {
    let Some(db) = error.as_db_error() else {
        return if error.is_closed() {
            StoreError::Unavailable("the database connection closed".to_owned())
        } else {
            StoreError::Backend(Box::new(error))
        };
    };
    let code = db.code();
    if *code == SqlState::UNIQUE_VIOLATION {
        let table = db.table().unwrap_or_default();
        // "Key (a, b)=(…) already exists."
        let columns = db
            .detail()
            .and_then(|d| d.strip_prefix("Key ("))
            .and_then(|d| d.split_once(")="))
            .map(|(columns, _)| columns)
            .unwrap_or_default();
        let constraint = columns
            .split(", ")
            .map(|column| format!("{table}.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        return StoreError::UniqueViolation { constraint };
    }
    if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
        return StoreError::Conflict;
    }
    if code.code().starts_with("08") || *code == SqlState::ADMIN_SHUTDOWN {
        return StoreError::Unavailable(format!("database connection: {}", db.message()));
    }
    StoreError::Backend(Box::new(error))
}
