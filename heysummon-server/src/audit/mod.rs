//! The tamper-evident audit log: every client or expert key created, rotated or revoked, every
//! expert public key published and device key enrolled, every sign-in to the dashboard, every decision and every request closed, expired, cancelled or
//! acknowledged is one entry of a hash chain, appended in the same transaction as what it
//! records.
//!
//! - [`chain`]: an entry, its canonical encoding and hash, and sealing a new one onto the chain;
//! - [`key`]: the server's Ed25519 audit key (a file with owner-only permissions) and its public
//!   half, which is all a verifier needs;
//! - [`verify`]: walking a chain and naming the first entry that was changed, removed or
//!   reordered;
//! - `notes`: the entries a lifecycle step and a device enrollment record.
//!
//! An entry's details never hold a key, a token or message text: only ids, statuses and the
//! decision.

pub mod chain;
pub mod key;
mod notes;
pub mod verify;

use std::fmt;

use serde_json::{Map, Value};

pub use chain::AuditEntry;
pub use key::{AuditKey, AuditKeyError, AuditPublicKey, default_key_path};
pub(crate) use notes::{device_note, lifecycle_notes};
pub use verify::{ChainBreak, ChainSummary, Verifier};

use crate::clock::Millis;

/// What an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditKind {
    /// A client or expert key was created.
    KeyCreated,
    /// A client key was replaced by a new one.
    KeyRotated,
    /// A client key was deactivated.
    KeyRevoked,
    /// An expert published (or replaced) the long-term public keys sealed questions are
    /// encrypted to.
    ExpertKeysPublished,
    /// A device's signing key was enrolled for a client key.
    DeviceEnrolled,
    /// An expert signed in to the dashboard.
    SignedIn,
    /// An approval was decided (approved or denied).
    Decision,
    /// A request was closed.
    Closed,
    /// A request expired.
    Expired,
    /// A request was cancelled.
    Cancelled,
    /// A notification was acknowledged.
    Acknowledged,
}

impl AuditKind {
    /// The kind as stored and exported (`key_created`, `decision`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyCreated => "key_created",
            Self::KeyRotated => "key_rotated",
            Self::KeyRevoked => "key_revoked",
            Self::ExpertKeysPublished => "expert_keys_published",
            Self::DeviceEnrolled => "device_enrolled",
            Self::SignedIn => "signed_in",
            Self::Decision => "decision",
            Self::Closed => "closed",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
            Self::Acknowledged => "acknowledged",
        }
    }
}

/// Who caused what an entry records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Actor {
    /// The server itself (expiry by the sweeper or on read).
    System,
    /// An operator at the command line (`heysummon-server client add`, …).
    #[default]
    Admin,
    /// An expert, by id.
    Expert(String),
    /// A client (agent) key, by id.
    Client(String),
}

impl fmt::Display for Actor {
    /// `system`, `admin`, `expert:ID` or `client:ID`, as stored.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::System => f.write_str("system"),
            Self::Admin => f.write_str("admin"),
            Self::Expert(id) => write!(f, "expert:{id}"),
            Self::Client(id) => write!(f, "client:{id}"),
        }
    }
}

/// An entry to append: what happened, by whom, to what, when. The store chains, hashes and
/// signs it inside the transaction of the change it records.
#[derive(Clone, Debug)]
pub struct AuditNote {
    /// What happened.
    pub kind: AuditKind,
    /// Who did it.
    pub actor: Actor,
    /// What it happened to: a request id, a client key id or an expert id.
    pub subject: String,
    /// A few facts (`{"decision":"approved"}`); never a key, a token or message text.
    pub details: Map<String, Value>,
    /// When.
    pub at: Millis,
}

impl AuditNote {
    /// A note without details.
    pub fn new(kind: AuditKind, actor: Actor, subject: impl Into<String>, at: Millis) -> Self {
        Self {
            kind,
            actor,
            subject: subject.into(),
            details: Map::new(),
            at,
        }
    }

    /// Adds one fact to the details.
    #[must_use]
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.details.insert(name.to_owned(), value.into());
        self
    }
}
