//! `heysummon-server audit verify` and `audit export`: checking the whole audit log against
//! the audit key's public half, and writing it out.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::print;
use crate::audit::{AuditEntry, AuditKey, AuditPublicKey, ChainBreak, ChainSummary, Verifier};
use crate::store::{Store, StoreError};

/// Entries read per page.
const PAGE: u32 = 1000;

/// `audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole audit log and check every entry: numbered without gaps, linked to the
    /// entry before by its hash, hashing to what it says, signed by the audit key. Prints the
    /// number of entries and the newest entry's hash (keep it elsewhere: a later log must
    /// still contain it); on the first broken entry, prints which and why on stderr and exits
    /// with a failure.
    Verify(VerifyArgs),
    /// Write every audit entry, oldest first. With --json, one JSON object per line
    /// (seq, createdAt, kind, actor, subject, details, prevHash, hash, keyId, signature);
    /// else one readable line per entry.
    Export,
}

/// The key `audit verify` checks signatures with.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The audit key's public half, 64 hex digits (`audit verify` prints it with --json).
    #[arg(long, conflicts_with = "key_file")]
    pub public_key: Option<String>,
    /// The audit key file [default: the configured one, else beside the SQLite database].
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// `SEQ:HASH`: an entry the log must still hold, as an earlier `audit verify` printed its
    /// head (finds entries cut from the end of the log).
    #[arg(long, value_parser = parse_head)]
    pub expect: Option<(i64, String)>,
}

fn parse_head(text: &str) -> Result<(i64, String), String> {
    let (seq, hash) = text
        .split_once(':')
        .ok_or_else(|| "expected SEQ:HASH".to_owned())?;
    let seq = seq
        .parse()
        .map_err(|_| format!("not an entry number: {seq}"))?;
    let valid = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err("the hash must be 64 hex digits".to_owned());
    }
    Ok((seq, hash.to_owned()))
}

/// What `audit verify --json` prints for an intact log.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Verified {
    entries: u64,
    head_seq: i64,
    head_hash: String,
    key_id: String,
    public_key: String,
}

/// Why a verification failed: the log is broken somewhere, or could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The log is broken at an entry.
    #[error(transparent)]
    Broken(#[from] ChainBreak),
    /// The log could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks the whole audit log of `store` against `key`, page by page.
pub async fn verify_log(store: &Store, key: AuditPublicKey) -> Result<ChainSummary, VerifyError> {
    walk(store, Verifier::new(key)).await
}

/// Feeds every entry of the log to `verifier`.
async fn walk(store: &Store, mut verifier: Verifier) -> Result<ChainSummary, VerifyError> {
    each_page(store, |entries| {
        entries.iter().try_for_each(|entry| verifier.check(entry))?;
        Ok::<_, VerifyError>(())
    })
    .await?;
    Ok(verifier.finish()?)
}

/// Calls `visit` with every page of the log, in order.
async fn each_page<E: From<StoreError>>(
    store: &Store,
    mut visit: impl FnMut(&[AuditEntry]) -> Result<(), E>,
) -> Result<(), E> {
    let mut after = 0;
    loop {
        let page = store.audit_entries_after(after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.seq;
        visit(&page)?;
    }
}

/// The public key to verify with: given, else from the key file (never created here).
fn public_key(args: VerifyArgs, store: &Store) -> anyhow::Result<AuditPublicKey> {
    if let Some(hex) = args.public_key {
        return Ok(AuditPublicKey::from_hex(&hex)?);
    }
    let path = args
        .key_file
        .or_else(|| store.audit_key_file().map(PathBuf::from))
        .ok_or_else(|| anyhow::anyhow!("no audit key file: pass --public-key or --key-file"))?;
    Ok(AuditKey::load(&path)?.public().clone())
}

/// Runs an `audit` subcommand.
pub(super) async fn run(command: AuditCommand, store: &Store, json: bool) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify(args) => {
            let expected = args.expect.clone();
            let key = public_key(args, store)?;
            let mut verifier = Verifier::new(key.clone());
            if let Some((seq, hash)) = expected {
                verifier = verifier.expect(seq, &hash);
            }
            let summary = walk(store, verifier).await?;
            let verified = Verified {
                entries: summary.entries,
                head_seq: summary.head_seq,
                head_hash: summary.head_hash.clone(),
                key_id: key.key_id().to_owned(),
                public_key: key.to_hex(),
            };
            print(json, &verified, |_| summary.to_string());
        }
        AuditCommand::Export => {
            each_page(store, |entries| {
                for entry in entries {
                    print(json, entry, readable);
                }
                Ok::<_, StoreError>(())
            })
            .await?;
        }
    }
    Ok(())
}

fn readable(e: &AuditEntry) -> String {
    format!(
        "{}  {}  {}  {}  {}  {}",
        e.seq,
        crate::clock::timestamp(e.created_at),
        e.kind,
        e.actor,
        e.subject,
        e.details
    )
}
