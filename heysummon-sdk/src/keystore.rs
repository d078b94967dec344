//! Where an agent keeps its keys between runs.
//!
//! A consumer makes a fresh key pair per request; if the agent crashes while it waits, the answer
//! can only be opened with that request's private keys. A [`KeyStore`] keeps them, keyed by the
//! request's idempotency key (and found again by request id once the server has answered). It
//! also records trust-on-first-use pins of expert fingerprints and named long-term identities (an
//! expert's own key pair).
//!
//! Two implementations: [`MemoryKeyStore`] for tests and short-lived processes, and
//! [`FileKeyStore`], one owner-only JSON file per record, each written atomically so that two
//! processes sharing a directory never see a torn file.
//!
//! Neither the stores nor [`StoredRequest`] print private keys in `Debug`, and errors never quote
//! key material.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::Error;
use crate::keys::{Fingerprint, PartyKeys, PublicKeys};
use crate::wire::{ExpertId, RefCode, RequestId, Timestamp};

mod file;
mod record;
#[cfg(test)]
mod tests;

pub use file::FileKeyStore;

/// Which kind of request a record belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum RequestKind {
    /// A question the expert answers in words.
    Question,
    /// A yes/no approval.
    Approval,
    /// A notification that needs no answer.
    Notification,
}

/// What an agent keeps about one of its requests. `Debug` never prints private keys.
#[derive(Clone)]
#[non_exhaustive]
pub struct StoredRequest {
    /// The client-chosen idempotency key: the record's primary key.
    pub idempotency_key: String,
    /// The server's id of the request; `None` until the server answered.
    pub request_id: Option<RequestId>,
    /// The human-facing reference code, once known.
    pub ref_code: Option<RefCode>,
    /// Which kind of request this is.
    pub kind: RequestKind,
    /// The per-request consumer key pairs (private halves included).
    pub keys: PartyKeys,
    /// The expert's pinned public keys when the question was sealed to them.
    pub expert_keys: Option<PublicKeys>,
    /// Whether the question was sent end-to-end encrypted.
    pub sealed: bool,
    /// The hash of the action an approval asks about (PROTOCOL H4): the expert's signed
    /// decision must cover it.
    pub action_hash: Option<String>,
    /// When the record was made.
    pub created_at: Timestamp,
    /// When the request expires, once known.
    pub expires_at: Option<Timestamp>,
}

impl StoredRequest {
    /// A record made now, with no server-side details yet and not sealed.
    pub fn new(idempotency_key: impl Into<String>, kind: RequestKind, keys: PartyKeys) -> Self {
        Self {
            idempotency_key: idempotency_key.into(),
            request_id: None,
            ref_code: None,
            kind,
            keys,
            expert_keys: None,
            sealed: false,
            action_hash: None,
            created_at: Timestamp::now(),
            expires_at: None,
        }
    }
}

impl fmt::Debug for StoredRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredRequest")
            .field("idempotency_key", &self.idempotency_key)
            .field("request_id", &self.request_id)
            .field("ref_code", &self.ref_code)
            .field("kind", &self.kind)
            .field("public_keys", &self.keys.public())
            .field("expert_keys", &self.expert_keys)
            .field("sealed", &self.sealed)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Where an agent keeps request keys, expert pins and identities.
///
/// Methods are synchronous: the records are small local files. Implementations are safe to share
/// between threads.
pub trait KeyStore: Send + Sync + fmt::Debug {
    /// Inserts or replaces the record with this record's idempotency key.
    fn save_request(&self, record: &StoredRequest) -> Result<(), Error>;

    /// The record saved under an idempotency key.
    fn request_by_idempotency_key(&self, key: &str) -> Result<Option<StoredRequest>, Error>;

    /// The record whose `request_id` is `id`.
    fn request_by_id(&self, id: &RequestId) -> Result<Option<StoredRequest>, Error>;

    /// Forgets a record; a missing record is not an error.
    fn remove_request(&self, idempotency_key: &str) -> Result<(), Error>;

    /// The fingerprint pinned for an expert.
    fn pinned_fingerprint(&self, expert_id: &ExpertId) -> Result<Option<Fingerprint>, Error>;

    /// Pins an expert's fingerprint, replacing any earlier pin. Callers decide whether a change
    /// is acceptable: the SDK never silently re-pins.
    fn pin_fingerprint(&self, expert_id: &ExpertId, fingerprint: &Fingerprint)
    -> Result<(), Error>;

    /// Whether any expert is pinned. A store that has sealed to someone refuses to fall back
    /// to plaintext for an expert it has never seen (a server listing a new, keyless expert).
    fn has_pins(&self) -> Result<bool, Error>;

    /// A named long-term key pair (an expert's own keys).
    fn identity(&self, name: &str) -> Result<Option<PartyKeys>, Error>;

    /// Saves a named long-term key pair, replacing any earlier one of that name.
    fn save_identity(&self, name: &str, keys: &PartyKeys) -> Result<(), Error>;
}

impl<T: KeyStore + ?Sized> KeyStore for Arc<T> {
    fn save_request(&self, record: &StoredRequest) -> Result<(), Error> {
        (**self).save_request(record)
    }

    fn request_by_idempotency_key(&self, key: &str) -> Result<Option<StoredRequest>, Error> {
        (**self).request_by_idempotency_key(key)
    }

    fn request_by_id(&self, id: &RequestId) -> Result<Option<StoredRequest>, Error> {
        (**self).request_by_id(id)
    }

    fn remove_request(&self, idempotency_key: &str) -> Result<(), Error> {
        (**self).remove_request(idempotency_key)
    }

    fn pinned_fingerprint(&self, expert_id: &ExpertId) -> Result<Option<Fingerprint>, Error> {
        (**self).pinned_fingerprint(expert_id)
    }

    fn pin_fingerprint(
        &self,
        expert_id: &ExpertId,
        fingerprint: &Fingerprint,
    ) -> Result<(), Error> {
        (**self).pin_fingerprint(expert_id, fingerprint)
    }

    fn has_pins(&self) -> Result<bool, Error> {
        (**self).has_pins()
    }

    fn identity(&self, name: &str) -> Result<Option<PartyKeys>, Error> {
        (**self).identity(name)
    }

    fn save_identity(&self, name: &str, keys: &PartyKeys) -> Result<(), Error> {
        (**self).save_identity(name, keys)
    }
}

/// A key store in memory: for tests and processes that need not survive a crash.
///
/// `Debug` shows idempotency keys, request ids and public keys only.
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    requests: HashMap<String, StoredRequest>,
    pins: HashMap<ExpertId, Fingerprint>,
    identities: HashMap<String, PartyKeys>,
}

impl MemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryInner> {
        // The maps hold plain values, each replaced whole: a panic elsewhere cannot leave one
        // half-written, so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl KeyStore for MemoryKeyStore {
    fn save_request(&self, record: &StoredRequest) -> Result<(), Error> {
        self.lock()
            .requests
            .insert(record.idempotency_key.clone(), record.clone());
        Ok(())
    }

    fn request_by_idempotency_key(&self, key: &str) -> Result<Option<StoredRequest>, Error> {
        Ok(self.lock().requests.get(key).cloned())
    }

    fn request_by_id(&self, id: &RequestId) -> Result<Option<StoredRequest>, Error> {
        Ok(self
            .lock()
            .requests
            .values()
            .find(|record| record.request_id.as_ref() == Some(id))
            .cloned())
    }

    fn remove_request(&self, idempotency_key: &str) -> Result<(), Error> {
        self.lock().requests.remove(idempotency_key);
        Ok(())
    }

    fn pinned_fingerprint(&self, expert_id: &ExpertId) -> Result<Option<Fingerprint>, Error> {
        Ok(self.lock().pins.get(expert_id).copied())
    }

    fn pin_fingerprint(
        &self,
        expert_id: &ExpertId,
        fingerprint: &Fingerprint,
    ) -> Result<(), Error> {
        self.lock().pins.insert(expert_id.clone(), *fingerprint);
        Ok(())
    }

    fn has_pins(&self) -> Result<bool, Error> {
        Ok(!self.lock().pins.is_empty())
    }

    fn identity(&self, name: &str) -> Result<Option<PartyKeys>, Error> {
        Ok(self.lock().identities.get(name).cloned())
    }

    fn save_identity(&self, name: &str, keys: &PartyKeys) -> Result<(), Error> {
        self.lock().identities.insert(name.to_owned(), keys.clone());
        Ok(())
    }
}
