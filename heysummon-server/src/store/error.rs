//! The backend-neutral storage error.

/// A storage failure, the same for every backend. Never carries key material or message
/// content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A row that had to exist does not.
    #[error("not found")]
    NotFound,
    /// A write would duplicate a unique value. `constraint` names the table-qualified
    /// columns, comma-separated (`requests.ref_code`), whatever the backend.
    #[error("unique constraint violated: {constraint}")]
    UniqueViolation {
        /// The table-qualified columns of the constraint.
        constraint: String,
    },
    /// The request changed underneath an optimistic update; re-read and retry.
    #[error("request changed concurrently")]
    Conflict,
    /// The database cannot take the operation now (busy or locked, the writer or a task gone,
    /// a transaction aborted); it may succeed later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Any other failure the backend reported.
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored value could not be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The database URL is not one this build understands.
    #[error("unsupported database URL (expected sqlite://PATH or postgres://…): {0}")]
    UnsupportedUrl(String),
}

impl StoreError {
    /// The unique constraint on a request's reference code: a creation that violates it drew
    /// a code already taken and should draw another.
    pub const REF_CODE_UNIQUE: &'static str = "requests.ref_code";

    /// Whether this is a violation of the unique constraint `constraint` (see
    /// [`StoreError::UniqueViolation`]).
    pub fn is_unique_violation(&self, constraint: &str) -> bool {
        matches!(self, Self::UniqueViolation { constraint: c } if c == constraint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_match_their_constraint_only() {
        let error = StoreError::UniqueViolation {
            constraint: StoreError::REF_CODE_UNIQUE.to_owned(),
        };
        assert!(error.is_unique_violation("requests.ref_code"));
        assert!(!error.is_unique_violation("requests.id"));
        assert!(!StoreError::Conflict.is_unique_violation("requests.ref_code"));
    }
}
