//! Walking a chain: each entry must follow the previous one (the next number, the previous
//! hash), hash to what it says, and carry a valid signature by the audit key. The first entry
//! that does not is reported, with what is wrong with it.

use std::fmt;

use super::chain::{AuditEntry, GENESIS_HASH};
use super::key::AuditPublicKey;

/// The first entry at which a chain is broken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit log broken at entry {seq}: {problem}")]
pub struct ChainBreak {
    /// The position of the entry that is missing or wrong.
    pub seq: i64,
    /// What is wrong.
    pub problem: Problem,
}

/// What is wrong at a [`ChainBreak`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The entry is not there: the numbering jumps over it.
    Missing {
        /// The next number present.
        found: i64,
    },
    /// The entry does not link to the entry before it.
    Unlinked,
    /// The entry's fields do not hash to its stored hash.
    Changed,
    /// The entry names another signing key.
    ForeignKey {
        /// The key id it names.
        key_id: String,
    },
    /// The signature is not the audit key's signature of the entry's hash.
    BadSignature,
    /// The entry's hash is not the one recorded for it earlier (see [`Verifier::expect`]).
    NotAsRecorded,
    /// The entry recorded earlier is gone: the log ends before it.
    CutOff {
        /// The newest entry present (0 when none).
        last: i64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { found } => write!(
                f,
                "missing, the next entry present is {found} (an entry was removed)"
            ),
            Self::Unlinked => f.write_str(
                "its previous-entry hash does not match the entry before it \
                 (an entry was removed, replaced or reordered)",
            ),
            Self::Changed => f.write_str("its contents do not match its hash (it was changed)"),
            Self::ForeignKey { key_id } => write!(
                f,
                "signed by key {key_id}, not by this server's audit key (it was replaced)"
            ),
            Self::BadSignature => {
                f.write_str("its signature does not verify (its hash was rewritten)")
            }
            Self::NotAsRecorded => f.write_str(
                "its hash is not the one recorded earlier (the log was rewritten up to here)",
            ),
            Self::CutOff { last } => write!(
                f,
                "missing, the log ends at entry {last} (entries were cut from the end)"
            ),
        }
    }
}

/// What an intact chain holds: how many entries and its newest one. Keep the head somewhere
/// else to detect, later, that entries were cut from the end ([`Verifier::expect`]). Shown as
/// `audit log intact: N entries, head SEQ:HASH`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainSummary {
    /// Number of entries.
    pub entries: u64,
    /// The newest entry's position (0 when empty).
    pub head_seq: i64,
    /// The newest entry's hash (the genesis hash when empty).
    pub head_hash: String,
}

impl fmt::Display for ChainSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "audit log intact: {} entries, head {}:{}",
            self.entries, self.head_seq, self.head_hash
        )
    }
}

/// Checks a chain one entry at a time, in order of position.
#[derive(Debug)]
pub struct Verifier {
    key: AuditPublicKey,
    summary: ChainSummary,
    expected: Option<(i64, String)>,
}

impl Verifier {
    /// A verifier of chains signed by `key`.
    pub fn new(key: AuditPublicKey) -> Self {
        Self {
            key,
            summary: ChainSummary {
                entries: 0,
                head_seq: 0,
                head_hash: GENESIS_HASH.to_owned(),
            },
            expected: None,
        }
    }

    /// The chain must still hold entry `seq` with hash `hash` (a head an earlier verification
    /// printed): it finds entries cut from the end, which leave a shorter but intact chain.
    #[must_use]
    pub fn expect(mut self, seq: i64, hash: &str) -> Self {
        self.expected = Some((seq, hash.to_ascii_lowercase()));
        self
    }

    /// Checks the next entry (entries come in increasing `seq`).
    pub fn check(&mut self, entry: &AuditEntry) -> Result<(), ChainBreak> {
        let expected = self.summary.head_seq.saturating_add(1);
        let broken = |seq, problem| Err(ChainBreak { seq, problem });
        if entry.seq != expected {
            return broken(expected, Problem::Missing { found: entry.seq });
        }
        if entry.prev_hash != self.summary.head_hash {
            return broken(entry.seq, Problem::Unlinked);
        }
        if entry.computed_hash() != entry.hash {
            return broken(entry.seq, Problem::Changed);
        }
        if entry.key_id != self.key.key_id() {
            let key_id = entry.key_id.clone();
            return broken(entry.seq, Problem::ForeignKey { key_id });
        }
        let mut digest = [0u8; 32];
        if hex::decode_to_slice(&entry.hash, &mut digest).is_err()
            || !self.key.verifies(&digest, &entry.signature)
        {
            return broken(entry.seq, Problem::BadSignature);
        }
        if let Some((seq, hash)) = &self.expected
            && *seq == entry.seq
            && *hash != entry.hash
        {
            return broken(entry.seq, Problem::NotAsRecorded);
        }
        self.summary.entries += 1;
        self.summary.head_seq = entry.seq;
        self.summary.head_hash.clone_from(&entry.hash);
        Ok(())
    }

    /// Ends the walk: what the chain holds, unless an expected entry (see [`Self::expect`])
    /// never came.
    pub fn finish(self) -> Result<ChainSummary, ChainBreak> {
        match self.expected {
            Some((seq, _)) if seq > self.summary.head_seq => Err(ChainBreak {
                seq,
                problem: Problem::CutOff {
                    last: self.summary.head_seq,
                },
            }),
            _ => Ok(self.summary),
        }
    }

    /// What the entries checked so far hold.
    pub fn summary(&self) -> &ChainSummary {
        &self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::chain::seal_all;
    use crate::audit::{Actor, AuditKey, AuditKind, AuditNote};

    fn chain(key: &AuditKey, length: usize) -> Vec<AuditEntry> {
        let notes: Vec<_> = (0..length)
            .map(|i| {
                AuditNote::new(AuditKind::Closed, Actor::System, format!("r{i}"), 1_000)
                    .with("previousStatus", "pending")
            })
            .collect();
        seal_all(None, &notes, key)
    }

    fn verify(key: &AuditKey, entries: &[AuditEntry]) -> Result<ChainSummary, ChainBreak> {
        let mut verifier = Verifier::new(key.public().clone());
        for entry in entries {
            verifier.check(entry)?;
        }
        Ok(verifier.summary().clone())
    }

    #[test]
    fn an_intact_chain_verifies_and_reports_its_head() {
        let key = AuditKey::generate();
        let entries = chain(&key, 4);
        let summary = verify(&key, &entries).unwrap();
        assert_eq!(summary.entries, 4);
        assert_eq!(summary.head_seq, 4);
        assert_eq!(summary.head_hash, entries[3].hash);
        assert_eq!(verify(&key, &[]).unwrap().head_hash, GENESIS_HASH);
    }

    #[test]
    fn a_changed_field_is_found() {
        let key = AuditKey::generate();
        let mut entries = chain(&key, 4);
        entries[2].details = r#"{"previousStatus":"active"}"#.into();
        let error = verify(&key, &entries).unwrap_err();
        assert_eq!((error.seq, error.problem), (3, Problem::Changed));
    }

    #[test]
    fn a_removed_entry_is_found() {
        let key = AuditKey::generate();
        let mut entries = chain(&key, 4);
        entries.remove(1);
        let error = verify(&key, &entries).unwrap_err();
        assert_eq!(
            (error.seq, error.problem),
            (2, Problem::Missing { found: 3 })
        );
        let mut first_gone = chain(&key, 2);
        first_gone.remove(0);
        assert_eq!(verify(&key, &first_gone).unwrap_err().seq, 1);
    }

    #[test]
    fn a_removed_entry_renumbered_to_close_the_gap_is_found() {
        let key = AuditKey::generate();
        let mut entries = chain(&key, 4);
        entries.remove(1);
        for entry in &mut entries[1..] {
            entry.seq -= 1;
        }
        let error = verify(&key, &entries).unwrap_err();
        assert_eq!((error.seq, error.problem), (2, Problem::Unlinked));
    }

    #[test]
    fn swapped_entries_are_found() {
        let key = AuditKey::generate();
        let mut entries = chain(&key, 4);
        entries.swap(1, 2);
        entries[1].seq = 2;
        entries[2].seq = 3;
        let error = verify(&key, &entries).unwrap_err();
        assert_eq!((error.seq, error.problem), (2, Problem::Unlinked));
    }

    #[test]
    fn a_rehashed_entry_fails_its_signature() {
        let key = AuditKey::generate();
        let mut entries = chain(&key, 1);
        entries[0].subject = "someone else".into();
        entries[0].hash = entries[0].computed_hash();
        let error = verify(&key, &entries).unwrap_err();
        assert_eq!(error.problem, Problem::BadSignature);
    }

    #[test]
    fn an_expected_head_finds_a_cut_or_a_rewrite() {
        let key = AuditKey::generate();
        let entries = chain(&key, 4);
        let walk = |verifier: Verifier, entries: &[AuditEntry]| {
            let mut verifier = verifier;
            for entry in entries {
                verifier.check(entry)?;
            }
            verifier.finish()
        };
        let head = Verifier::new(key.public().clone()).expect(3, &entries[2].hash);
        assert_eq!(walk(head, &entries).unwrap().entries, 4);
        let head = Verifier::new(key.public().clone()).expect(3, &entries[2].hash);
        let error = walk(head, &entries[..2]).unwrap_err();
        assert_eq!((error.seq, error.problem), (3, Problem::CutOff { last: 2 }));
        let wrong = Verifier::new(key.public().clone()).expect(3, &entries[1].hash);
        assert_eq!(
            walk(wrong, &entries).unwrap_err().problem,
            Problem::NotAsRecorded
        );
    }

    #[test]
    fn another_key_is_refused() {
        let key = AuditKey::generate();
        let entries = chain(&AuditKey::generate(), 1);
        let error = verify(&key, &entries).unwrap_err();
        assert!(matches!(error.problem, Problem::ForeignKey { .. }));
        assert!(
            error
                .to_string()
                .starts_with("audit log broken at entry 1: signed by key "),
            "{error}"
        );
    }
}
