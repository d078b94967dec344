//! Where a database is: the URL forms the store understands, parsed once for opening a store,
//! copying one to another and backing one up.

use std::path::PathBuf;

use super::StoreError;

/// A database named by a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    /// An SQLite file: `sqlite://PATH`, `sqlite:PATH` or a bare path.
    Sqlite(PathBuf),
    /// A PostgreSQL database: `postgres://…` or `postgresql://…`, as given.
    Postgres(String),
}

impl Location {
    /// Parses a database URL.
    pub(crate) fn parse(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.contains("://") || path.is_empty() {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// Whether two locations are the same database (the same file, however it is spelled,
    /// when it exists; the same URL otherwise).
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Sqlite(a), Self::Sqlite(b)) => match (a.canonicalize(), b.canonicalize()) {
                (Ok(a), Ok(b)) => a == b,
                _ => a == b,
            },
            (Self::Postgres(a), Self::Postgres(b)) => a == b,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn urls_name_a_file_or_a_server() {
        for url in ["sqlite://a/b.db", "sqlite:a/b.db", "a/b.db"] {
            assert_eq!(
                Location::parse(url).unwrap(),
                Location::Sqlite("a/b.db".into())
            );
        }
        for url in ["postgres://u@h/db", "postgresql://u@h/db"] {
            assert_eq!(
                Location::parse(url).unwrap(),
                Location::Postgres(url.to_owned())
            );
        }
        for url in ["mysql://h/db", "sqlite://", ""] {
            assert!(matches!(
                Location::parse(url),
                Err(StoreError::UnsupportedUrl(_))
            ));
        }
    }

    #[test]
    fn one_file_spelled_two_ways_is_the_same_database() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.db");
        std::fs::write(&file, b"").unwrap();
        let direct = Location::Sqlite(file.clone());
        let roundabout = Location::Sqlite(dir.path().join(".").join("x.db"));
        assert!(direct.same_as(&roundabout));
        assert!(!direct.same_as(&Location::Sqlite(dir.path().join("y.db"))));
        assert!(!direct.same_as(&Location::Postgres("postgres://h/x".into())));
    }
}
