//! The store's side of the audit log: the key it signs entries with, appending entries inside
//! the transaction of the change they record (each backend serialises its appends so the chain
//! stays linear), and reading entries back. No method deletes or changes an entry: retention
//! and every other write leave the log alone.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::OnceCell;

use super::{Backend, Store, StoreError};
use crate::audit::chain::{ChainHead, seal_all};
use crate::audit::{AuditEntry, AuditKey, AuditNote, AuditPublicKey};

/// Where the store's audit key comes from.
#[derive(Debug)]
pub(super) struct AuditSigning {
    /// The key file, read (or created) on first use; `None` for a key given in memory, or
    /// none at all (a PostgreSQL store without a configured key).
    file: Option<PathBuf>,
    key: OnceCell<Arc<AuditKey>>,
}

impl AuditSigning {
    /// A key in a file, read or created when first needed.
    pub(super) fn file(path: PathBuf) -> Arc<Self> {
        Arc::new(Self {
            file: Some(path),
            key: OnceCell::new(),
        })
    }

    /// No key: appending fails until one is given.
    pub(super) fn none() -> Arc<Self> {
        Arc::new(Self {
            file: None,
            key: OnceCell::new(),
        })
    }
}

/// Entries to append in a write's transaction, and the key that signs them.
#[derive(Debug)]
pub(crate) struct AuditAppend {
    key: Arc<AuditKey>,
    notes: Vec<AuditNote>,
}

impl AuditAppend {
    /// The entries the notes become after the chain's newest entry `head`.
    pub(crate) fn entries_after(&self, head: Option<ChainHead>) -> Vec<AuditEntry> {
        seal_all(head, &self.notes, &self.key)
    }
}

impl Store {
    /// This store signs audit entries with `key` (instead of a key file).
    #[must_use]
    pub fn with_audit_key(mut self, key: AuditKey) -> Self {
        let signing = AuditSigning::none();
        let _ = signing.key.set(Arc::new(key));
        self.audit = signing;
        self
    }

    /// This store signs audit entries with the key in `path`, created on first use when
    /// missing (SQLite stores default to a file beside the database, see
    /// [`crate::audit::default_key_path`]).
    #[must_use]
    pub fn with_audit_key_file(mut self, path: PathBuf) -> Self {
        self.audit = AuditSigning::file(path);
        self
    }

    /// The file of the audit key, when the key comes from one.
    pub fn audit_key_file(&self) -> Option<&Path> {
        self.audit.file.as_deref()
    }

    /// The public half of the audit key (see [`Self::audit_key`]): what verifies the log.
    pub async fn audit_public_key(&self) -> Result<AuditPublicKey, StoreError> {
        Ok(self.audit_key().await?.public().clone())
    }

    /// The audit key, read from its file (or created there) on first use. A store without a
    /// key (PostgreSQL without `audit_key_file`) is unavailable for audited writes.
    pub(crate) async fn audit_key(&self) -> Result<Arc<AuditKey>, StoreError> {
        let signing = &self.audit;
        let key = signing
            .key
            .get_or_try_init(|| async {
                let path = signing.file.clone().ok_or_else(|| {
                    StoreError::Unavailable(
                        "no audit key: set audit_key_file (HEYSUMMON_AUDIT_KEY_FILE)".to_owned(),
                    )
                })?;
                let loaded = tokio::task::spawn_blocking(move || AuditKey::load_or_create(&path))
                    .await
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                loaded
                    .map(Arc::new)
                    .map_err(|e| StoreError::Unavailable(e.to_string()))
            })
            .await?;
        Ok(Arc::clone(key))
    }

    /// The append of `notes` for a write, `None` when there are none.
    pub(super) async fn audit_append(
        &self,
        notes: Vec<AuditNote>,
    ) -> Result<Option<AuditAppend>, StoreError> {
        if notes.is_empty() {
            return Ok(None);
        }
        let key = self.audit_key().await?;
        Ok(Some(AuditAppend { key, notes }))
    }

    /// At most `limit` audit entries after position `after`, in order (a verifier or an
    /// export pages through the whole log with these).
    pub async fn audit_entries_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        delegate!(self.audit_entries_after(after, limit))
    }

    /// The newest audit entry, if any.
    pub async fn audit_last_entry(&self) -> Result<Option<AuditEntry>, StoreError> {
        delegate!(self.audit_last_entry())
    }

    /// The audit entries about one subject (a request, a key), oldest first.
    pub async fn audit_entries_about(&self, subject: &str) -> Result<Vec<AuditEntry>, StoreError> {
        delegate!(self.audit_entries_about(subject))
    }
}
