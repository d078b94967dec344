//! The JSON records of [`super::FileKeyStore`] (version 1).
//!
//! Private keys are the lowercase hex of the 32-byte Ed25519 seed and X25519 secret; public keys
//! the hex of their DER SPKI. Every buffer that holds a secret is zeroized when dropped.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use super::{RequestKind, StoredRequest};
use crate::error::Error;
use crate::keys::{
    EncryptPublicKey, EncryptionKeyPair, Fingerprint, PartyKeys, PublicKeys, SignPublicKey,
    SigningKeyPair,
};
use crate::wire::{ExpertId, RefCode, RequestId, Timestamp};

/// The record format this code writes and reads.
pub(super) const VERSION: u32 = 1;

/// Records larger than this are refused unread: ours are a few hundred bytes.
const MAX_RECORD_LEN: u64 = 1 << 20;

/// The error for a file that is not one of our records. Never quotes the contents.
pub(super) fn corrupt(path: &Path) -> Error {
    Error::key_store(format!("{}: not a valid key store record", path.display()))
}

/// The error for a failed file operation; names the file, not its contents.
pub(super) fn io_error(action: &str, path: &Path, err: std::io::Error) -> Error {
    Error::key_store(format!("cannot {action} {}", path.display())).because(err)
}

/// A party's two key pairs, private halves included.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KeysRecord {
    sign_seed: String,
    encrypt_secret: String,
    sign_public_key: SignPublicKey,
    encrypt_public_key: EncryptPublicKey,
}

impl Drop for KeysRecord {
    fn drop(&mut self) {
        self.sign_seed.zeroize();
        self.encrypt_secret.zeroize();
    }
}

/// Lowercase hex of a secret, in one exactly sized allocation (no copies left by regrowth).
fn secret_hex(secret: &[u8; 32]) -> String {
    let mut buffer = Zeroizing::new([0u8; 64]);
    // 64 bytes of room for 32 bytes of input: cannot fail.
    if hex::encode_to_slice(secret, &mut *buffer).is_err() {
        return String::new();
    }
    let mut text = String::with_capacity(64);
    text.extend(buffer.iter().map(|&b| char::from(b)));
    text
}

fn secret_from_hex(text: &str) -> Option<Zeroizing<[u8; 32]>> {
    let mut secret = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text, &mut *secret).ok()?;
    Some(secret)
}

impl KeysRecord {
    pub(super) fn new(keys: &PartyKeys) -> Self {
        Self {
            sign_seed: secret_hex(&keys.sign.seed()),
            encrypt_secret: secret_hex(&keys.encrypt.secret_bytes()),
            sign_public_key: keys.sign.public(),
            encrypt_public_key: keys.encrypt.public(),
        }
    }

    /// The key pairs, if the secrets decode and give the recorded public keys.
    pub(super) fn keys(&self) -> Option<PartyKeys> {
        let keys = PartyKeys {
            sign: SigningKeyPair::from_seed(&*secret_from_hex(&self.sign_seed)?),
            encrypt: EncryptionKeyPair::from_secret_bytes(&*secret_from_hex(&self.encrypt_secret)?),
        };
        let expected = PublicKeys {
            sign: self.sign_public_key,
            encrypt: self.encrypt_public_key,
        };
        (keys.public() == expected).then_some(keys)
    }
}

/// One request of an agent.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RequestRecord {
    version: u32,
    pub(super) idempotency_key: String,
    pub(super) request_id: Option<RequestId>,
    ref_code: Option<RefCode>,
    kind: RequestKind,
    keys: KeysRecord,
    expert_keys: Option<PublicKeys>,
    sealed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    action_hash: Option<String>,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
}

impl RequestRecord {
    pub(super) fn new(request: &StoredRequest) -> Self {
        Self {
            version: VERSION,
            idempotency_key: request.idempotency_key.clone(),
            request_id: request.request_id.clone(),
            ref_code: request.ref_code.clone(),
            kind: request.kind,
            keys: KeysRecord::new(&request.keys),
            expert_keys: request.expert_keys,
            sealed: request.sealed,
            action_hash: request.action_hash.clone(),
            created_at: request.created_at,
            expires_at: request.expires_at,
        }
    }

    /// The stored request; `None` if the keys are not consistent.
    pub(super) fn into_request(self) -> Option<StoredRequest> {
        Some(StoredRequest {
            keys: self.keys.keys()?,
            idempotency_key: self.idempotency_key,
            request_id: self.request_id,
            ref_code: self.ref_code,
            kind: self.kind,
            expert_keys: self.expert_keys,
            sealed: self.sealed,
            action_hash: self.action_hash,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

/// Only the request id of a request record: read without touching the secrets.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RequestIdOnly {
    pub(super) request_id: Option<RequestId>,
}

/// A trust-on-first-use pin of an expert's fingerprint.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PinRecord {
    version: u32,
    pub(super) expert_id: ExpertId,
    pub(super) fingerprint: Fingerprint,
    pinned_at: Timestamp,
}

impl PinRecord {
    pub(super) fn new(expert_id: &ExpertId, fingerprint: &Fingerprint) -> Self {
        Self {
            version: VERSION,
            expert_id: expert_id.clone(),
            fingerprint: *fingerprint,
            pinned_at: Timestamp::now(),
        }
    }
}

/// A named long-term key pair.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct IdentityRecord {
    version: u32,
    pub(super) name: String,
    pub(super) keys: KeysRecord,
}

impl IdentityRecord {
    pub(super) fn new(name: &str, keys: &PartyKeys) -> Self {
        Self {
            version: VERSION,
            name: name.to_owned(),
            keys: KeysRecord::new(keys),
        }
    }
}

#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

/// A record as pretty JSON, in a buffer zeroized on drop.
pub(super) fn to_json<T: Serialize>(record: &T, path: &Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    // Sized so that a record never makes the buffer grow (which would leave freed copies).
    let mut buffer = Zeroizing::new(Vec::with_capacity(16 * 1024));
    serde_json::to_writer_pretty(&mut *buffer, record)
        .map_err(|_| Error::key_store(format!("{}: cannot encode the record", path.display())))?;
    buffer.push(b'\n');
    Ok(buffer)
}

/// Reads a file whole into a buffer zeroized on drop; `None` if it does not exist.
pub(super) fn read_file(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_error("read", path, err)),
    };
    let len = file
        .metadata()
        .map_err(|err| io_error("read", path, err))?
        .len();
    if len > MAX_RECORD_LEN {
        return Err(corrupt(path));
    }
    // One allocation of the final size (plus one byte to see the end without regrowing).
    let capacity = usize::try_from(len).map_err(|_| corrupt(path))? + 1;
    let mut buffer = Zeroizing::new(Vec::with_capacity(capacity));
    file.take(MAX_RECORD_LEN)
        .read_to_end(&mut buffer)
        .map_err(|err| io_error("read", path, err))?;
    Ok(Some(buffer))
}

/// Parses a record of the current version. Errors name the file, never its contents.
pub(super) fn parse<T: DeserializeOwned>(bytes: &[u8], path: &Path) -> Result<T, Error> {
    let probe: VersionOnly = serde_json::from_slice(bytes).map_err(|_| corrupt(path))?;
    if probe.version != VERSION {
        return Err(Error::key_store(format!(
            "{}: unsupported key store record version {} (this build reads version {VERSION})",
            path.display(),
            probe.version
        )));
    }
    serde_json::from_slice(bytes).map_err(|_| corrupt(path))
}

/// Reads and parses a record; `None` if the file does not exist.
pub(super) fn read<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, Error> {
    match read_file(path)? {
        Some(bytes) => parse(&bytes, path).map(Some),
        None => Ok(None),
    }
}
