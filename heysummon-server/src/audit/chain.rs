//! One entry of the chain and how it is hashed. An entry's hash is SHA-256 over a canonical
//! encoding of its fields and of the previous entry's hash; the server's audit key signs that
//! hash. Changing a field changes the hash; rewriting the hash breaks the signature and the
//! link from the next entry; removing or reordering entries breaks the sequence or a link.
//!
//! The canonical encoding (version 1), in order:
//!
//! ```text
//! "heysummon-audit-v1" 0x00
//! seq          8 bytes, big-endian two's complement
//! created_at   8 bytes, big-endian two's complement (Unix milliseconds)
//! kind, actor, subject, details, prev_hash, key_id
//!              each as its UTF-8 length (8 bytes, big-endian) then its UTF-8 bytes
//! ```
//!
//! `details` is hashed exactly as stored (the JSON text), so no re-serialisation can change
//! it; `prev_hash` is the previous entry's hash in lowercase hex (64 zeros for the first).

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::AuditNote;
use super::key::AuditKey;

/// The previous hash of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const DOMAIN: &[u8] = b"heysummon-audit-v1\0";

/// An entry as stored and exported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Position in the chain: 1, 2, 3, … without gaps.
    pub seq: i64,
    /// When it happened (Unix milliseconds).
    pub created_at: i64,
    /// What happened (`key_created`, `decision`, …).
    pub kind: String,
    /// Who did it (`system`, `admin`, `expert:ID`, `client:ID`).
    pub actor: String,
    /// What it happened to (a request, key or expert id).
    pub subject: String,
    /// A small JSON object of facts, as hashed.
    pub details: String,
    /// The previous entry's hash (hex).
    pub prev_hash: String,
    /// This entry's hash (hex).
    pub hash: String,
    /// The id of the audit key that signed it (see [`AuditKey::key_id`]).
    pub key_id: String,
    /// Ed25519 signature of the hash (hex).
    pub signature: String,
}

impl AuditEntry {
    /// The hash of this entry's fields as they are now (hex); equal to [`Self::hash`] unless
    /// the entry was changed.
    pub fn computed_hash(&self) -> String {
        hex::encode(self.digest())
    }

    fn digest(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(DOMAIN);
        hasher.update(self.seq.to_be_bytes());
        hasher.update(self.created_at.to_be_bytes());
        for field in [
            &self.kind,
            &self.actor,
            &self.subject,
            &self.details,
            &self.prev_hash,
            &self.key_id,
        ] {
            let length = u64::try_from(field.len()).unwrap_or(u64::MAX);
            hasher.update(length.to_be_bytes());
            hasher.update(field.as_bytes());
        }
        hasher.finalize().into()
    }
}

/// The newest entry of a chain, which a new entry follows: `None` for an empty chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// Its position.
    pub seq: i64,
    /// Its hash (hex).
    pub hash: String,
}

/// The entry `note` becomes after `head`: numbered, linked, hashed and signed by `key`.
pub(crate) fn seal(head: Option<&ChainHead>, note: &AuditNote, key: &AuditKey) -> AuditEntry {
    let mut entry = AuditEntry {
        seq: head.map_or(1, |head| head.seq.saturating_add(1)),
        created_at: note.at,
        kind: note.kind.as_str().to_owned(),
        actor: note.actor.to_string(),
        subject: note.subject.clone(),
        details: serde_json::Value::Object(note.details.clone()).to_string(),
        prev_hash: head.map_or_else(|| GENESIS_HASH.to_owned(), |head| head.hash.clone()),
        hash: String::new(),
        key_id: key.key_id().to_owned(),
        signature: String::new(),
    };
    let digest = entry.digest();
    entry.hash = hex::encode(digest);
    entry.signature = key.sign(&digest);
    entry
}

/// Seals several notes one after the other onto `head`.
pub(crate) fn seal_all(
    mut head: Option<ChainHead>,
    notes: &[AuditNote],
    key: &AuditKey,
) -> Vec<AuditEntry> {
    let mut entries = Vec::with_capacity(notes.len());
    for note in notes {
        let entry = seal(head.as_ref(), note, key);
        head = Some(ChainHead {
            seq: entry.seq,
            hash: entry.hash.clone(),
        });
        entries.push(entry);
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, AuditKind};

    fn note(subject: &str) -> AuditNote {
        AuditNote::new(
            AuditKind::Decision,
            Actor::Expert("e1".into()),
            subject,
            1_000,
        )
        .with("decision", "approved")
    }

    #[test]
    fn entries_are_numbered_and_linked_from_the_genesis_hash() {
        let key = AuditKey::generate();
        let entries = seal_all(None, &[note("r1"), note("r2"), note("r3")], &key);
        assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(entries[0].prev_hash, GENESIS_HASH);
        assert_eq!(entries[1].prev_hash, entries[0].hash);
        assert_eq!(entries[2].prev_hash, entries[1].hash);
        assert_eq!(entries[0].details, r#"{"decision":"approved"}"#);
        assert_eq!(entries[0].actor, "expert:e1");
        assert!(entries.iter().all(|e| e.computed_hash() == e.hash));
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let key = AuditKey::generate();
        let entry = seal(None, &note("r1"), &key);
        let changes: [fn(&mut AuditEntry); 8] = [
            |e| e.seq += 1,
            |e| e.created_at += 1,
            |e| e.kind = "closed".into(),
            |e| e.actor = "admin".into(),
            |e| e.subject = "r2".into(),
            |e| e.details = r#"{"decision":"denied"}"#.into(),
            |e| e.prev_hash = "1".repeat(64),
            |e| e.key_id = "other".into(),
        ];
        for change in changes {
            let mut changed = entry.clone();
            change(&mut changed);
            assert_ne!(changed.computed_hash(), entry.hash);
        }
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let key = AuditKey::generate();
        let mut a = seal(None, &note("ab"), &key);
        a.actor = "x".into();
        let mut b = a.clone();
        b.actor = "xa".into();
        b.subject = "b".into();
        assert_ne!(a.computed_hash(), b.computed_hash());
    }

    #[test]
    fn the_hash_of_a_known_entry_is_stable() {
        // A known-answer vector: the encoding must not drift between versions.
        let entry = AuditEntry {
            seq: 1,
            created_at: 1_700_000_000_000,
            kind: "closed".into(),
            actor: "system".into(),
            subject: "r1".into(),
            details: "{}".into(),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
            key_id: "k".into(),
            signature: String::new(),
        };
        // Computed independently (Python's hashlib over the encoding in the module's docs).
        assert_eq!(
            entry.computed_hash(),
            "0d10442c33703761a97f1b98eb2fa389d8fe8df740ab0379ff6ef17bce2d298a"
        );
    }
}
