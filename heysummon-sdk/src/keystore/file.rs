//! [`FileKeyStore`]: one owner-only JSON file per record, each written atomically.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore as _};

use super::record::{
    self, IdentityRecord, PinRecord, RequestIdOnly, RequestRecord, corrupt, io_error,
};
use super::{KeyStore, StoredRequest};
use crate::error::Error;
use crate::keys::{Fingerprint, PartyKeys};
use crate::signing::sha256_hex;
use crate::wire::{ExpertId, RequestId};

const REQUESTS: &str = "requests";
const BY_ID: &str = "by-id";
const PINS: &str = "pins";
const IDENTITIES: &str = "identities";
const TEMP_PREFIX: &str = ".tmp-";

/// A key store in a directory, readable only by its owner.
///
/// Layout, every name the lowercase hex SHA-256 of the key it stands for:
///
/// - `requests/<sha256(idempotency key)>.json`: one request with its private keys;
/// - `by-id/<sha256(request id)>`: the idempotency-key hash of the request with that id;
/// - `pins/<sha256(expert id)>.json`: the pinned fingerprint of one expert;
/// - `identities/<sha256(name)>.json`: one named long-term key pair.
///
/// Directories are made with mode `0700` and files with `0600` (on Unix). Each file is written to
/// a fresh temporary file in the same directory, synced, and renamed over the target, so readers
/// (other threads, other processes) see the old record or the new one, never a torn file.
#[derive(Debug)]
pub struct FileKeyStore {
    root: PathBuf,
}

impl FileKeyStore {
    /// Opens the store in `dir`, creating it (and its parents) if missing. On Unix a directory
    /// that group or others may access is tightened to `0700`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let root = dir.into();
        private_dir(&root)?;
        for sub in [REQUESTS, BY_ID, PINS, IDENTITIES] {
            private_dir(&root.join(sub))?;
        }
        Ok(Self { root })
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    fn request_path(&self, key_hash: &str) -> PathBuf {
        self.root.join(REQUESTS).join(format!("{key_hash}.json"))
    }

    fn index_path(&self, id: &RequestId) -> PathBuf {
        self.root
            .join(BY_ID)
            .join(sha256_hex(id.as_str().as_bytes()))
    }

    fn pin_path(&self, expert_id: &ExpertId) -> PathBuf {
        let hash = sha256_hex(expert_id.as_str().as_bytes());
        self.root.join(PINS).join(format!("{hash}.json"))
    }

    fn identity_path(&self, name: &str) -> PathBuf {
        let hash = sha256_hex(name.as_bytes());
        self.root.join(IDENTITIES).join(format!("{hash}.json"))
    }

    /// The request at `path`, checked to be the one for `key`.
    fn read_request(&self, path: &Path, key: &str) -> Result<Option<StoredRequest>, Error> {
        let Some(found) = record::read::<RequestRecord>(path)? else {
            return Ok(None);
        };
        if found.idempotency_key != key {
            return Err(corrupt(path));
        }
        found.into_request().map(Some).ok_or_else(|| corrupt(path))
    }

    /// The request id recorded at `path`, without decoding its keys; `None` on any trouble.
    fn recorded_id(path: &Path) -> Option<RequestId> {
        let bytes = record::read_file(path).ok()??;
        record::parse::<RequestIdOnly>(&bytes, path)
            .ok()?
            .request_id
    }

    /// The idempotency-key hash the index for `id` points at.
    fn index_target(&self, id: &RequestId) -> Result<Option<String>, Error> {
        let path = self.index_path(id);
        let Some(bytes) = record::read_file(&path)? else {
            return Ok(None);
        };
        let hash = std::str::from_utf8(&bytes)
            .map_err(|_| corrupt(&path))?
            .trim();
        let well_formed =
            hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !well_formed {
            return Err(corrupt(&path));
        }
        Ok(Some(hash.to_owned()))
    }

    /// Removes the index for `id` if it still points at `key_hash`.
    fn drop_index(&self, id: &RequestId, key_hash: &str) -> Result<(), Error> {
        if self.index_target(id).ok().flatten().as_deref() == Some(key_hash) {
            remove(&self.index_path(id))?;
        }
        Ok(())
    }
}

impl KeyStore for FileKeyStore {
    fn save_request(&self, request: &StoredRequest) -> Result<(), Error> {
        let key_hash = sha256_hex(request.idempotency_key.as_bytes());
        let path = self.request_path(&key_hash);
        let previous_id = Self::recorded_id(&path);
        write_atomic(
            &path,
            &record::to_json(&RequestRecord::new(request), &path)?,
        )?;
        if let Some(id) = &request.request_id {
            write_atomic(&self.index_path(id), format!("{key_hash}\n").as_bytes())?;
        }
        if let Some(old) = previous_id
            && request.request_id.as_ref() != Some(&old)
        {
            self.drop_index(&old, &key_hash)?;
        }
        Ok(())
    }

    fn request_by_idempotency_key(&self, key: &str) -> Result<Option<StoredRequest>, Error> {
        self.read_request(&self.request_path(&sha256_hex(key.as_bytes())), key)
    }

    fn request_by_id(&self, id: &RequestId) -> Result<Option<StoredRequest>, Error> {
        let Some(key_hash) = self.index_target(id)? else {
            return Ok(None);
        };
        let path = self.request_path(&key_hash);
        let Some(found) = record::read::<RequestRecord>(&path)? else {
            return Ok(None);
        };
        if sha256_hex(found.idempotency_key.as_bytes()) != key_hash {
            return Err(corrupt(&path));
        }
        // A stale index (the record was saved again with another id) finds nothing.
        if found.request_id.as_ref() != Some(id) {
            return Ok(None);
        }
        found.into_request().map(Some).ok_or_else(|| corrupt(&path))
    }

    fn remove_request(&self, idempotency_key: &str) -> Result<(), Error> {
        let key_hash = sha256_hex(idempotency_key.as_bytes());
        let path = self.request_path(&key_hash);
        if let Some(id) = Self::recorded_id(&path) {
            self.drop_index(&id, &key_hash)?;
        }
        remove(&path)
    }

    fn pinned_fingerprint(&self, expert_id: &ExpertId) -> Result<Option<Fingerprint>, Error> {
        let path = self.pin_path(expert_id);
        let Some(pin) = record::read::<PinRecord>(&path)? else {
            return Ok(None);
        };
        if pin.expert_id != *expert_id {
            return Err(corrupt(&path));
        }
        Ok(Some(pin.fingerprint))
    }

    fn pin_fingerprint(
        &self,
        expert_id: &ExpertId,
        fingerprint: &Fingerprint,
    ) -> Result<(), Error> {
        let path = self.pin_path(expert_id);
        let json = record::to_json(&PinRecord::new(expert_id, fingerprint), &path)?;
        write_atomic(&path, &json)
    }

    fn has_pins(&self) -> Result<bool, Error> {
        let dir = self.root.join(PINS);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(error) => return Err(io_error("read directory", &dir, error)),
        };
        for entry in entries {
            let entry = entry.map_err(|error| io_error("read directory", &dir, error))?;
            if entry.path().extension().is_some_and(|ext| ext == "json") {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn identity(&self, name: &str) -> Result<Option<PartyKeys>, Error> {
        let path = self.identity_path(name);
        let Some(identity) = record::read::<IdentityRecord>(&path)? else {
            return Ok(None);
        };
        if identity.name != name {
            return Err(corrupt(&path));
        }
        identity.keys.keys().map(Some).ok_or_else(|| corrupt(&path))
    }

    fn save_identity(&self, name: &str, keys: &PartyKeys) -> Result<(), Error> {
        let path = self.identity_path(name);
        let json = record::to_json(&IdentityRecord::new(name, keys), &path)?;
        write_atomic(&path, &json)
    }
}

/// Creates a directory (and its parents) owner-only, or tightens an existing one.
fn private_dir(path: &Path) -> Result<(), Error> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .map_err(|err| io_error("create directory", path, err))?;
    let metadata = fs::metadata(path).map_err(|err| io_error("inspect", path, err))?;
    if !metadata.is_dir() {
        return Err(Error::key_store(format!(
            "{} is not a directory",
            path.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if metadata.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                .map_err(|err| io_error("restrict permissions of", path, err))?;
        }
    }
    Ok(())
}

/// Writes `contents` to `path` atomically: a fresh owner-only temporary file in the same
/// directory, synced, then renamed over the target; the directory is synced after (best effort).
fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut suffix = [0u8; 12];
    OsRng.fill_bytes(&mut suffix);
    let temp = dir.join(format!("{TEMP_PREFIX}{}", hex::encode(suffix)));
    let written = write_new(&temp, contents).and_then(|()| fs::rename(&temp, path));
    if let Err(err) = written {
        // Best effort: the temporary file may not exist, and the write error is what matters.
        let _ = fs::remove_file(&temp);
        return Err(io_error("write", path, err));
    }
    sync_dir(dir);
    Ok(())
}

fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Removes a file; a missing file is fine.
fn remove(path: &Path) -> Result<(), Error> {
    match fs::remove_file(path) {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                sync_dir(dir);
            }
            Ok(())
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(io_error("remove", path, err)),
    }
}

/// Makes a rename or removal in `dir` durable. Best effort: not every platform can open a
/// directory, and the data itself was synced already.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
