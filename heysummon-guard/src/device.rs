//! The device key: an Ed25519 key generated on first run and kept in a file readable only by
//! its owner.
//!
//! File format: the 32-byte RFC 8032 seed as 64 lowercase hex digits and a newline. The file is
//! created with mode 0600 (its directory, when the guard creates it, with 0700) and written
//! atomically: a temporary file in the same directory is written and synced, then hard-linked
//! into place, which fails rather than overwrites if another process created the key first (that
//! key is then used). The seed is zeroized after use; [`SigningKeyPair`] zeroizes its copy.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use heysummon_sdk::keys::SigningKeyPair;
use zeroize::Zeroizing;

use crate::error::Error;

/// A loaded device key and whether it was just created.
#[derive(Debug)]
pub struct DeviceKey {
    /// The key pair.
    pub key: SigningKeyPair,
    /// Whether this run generated it.
    pub created: bool,
}

/// Loads the device key, generating and saving one first if the file does not exist.
pub fn load_or_create(path: &Path) -> Result<DeviceKey, Error> {
    match load(path) {
        Ok(key) => Ok(DeviceKey {
            key,
            created: false,
        }),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKeyPair::generate();
            if save_new(path, &key)? {
                Ok(DeviceKey { key, created: true })
            } else {
                // Another process won the race; use its key.
                Ok(DeviceKey {
                    key: load(path)?,
                    created: false,
                })
            }
        }
        Err(other) => Err(other),
    }
}

/// Loads an existing device key.
pub fn load(path: &Path) -> Result<SigningKeyPair, Error> {
    let text = Zeroizing::new(fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?);
    let invalid = |reason| Error::DeviceKey {
        path: path.to_owned(),
        reason,
    };
    let hex_seed = text.trim();
    if hex_seed.len() != 64 {
        return Err(invalid("expected 64 hex digits"));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(hex_seed, seed.as_mut_slice())
        .map_err(|_| invalid("expected 64 hex digits"))?;
    warn_if_readable_by_others(path);
    Ok(SigningKeyPair::from_seed(&seed))
}

/// Writes a new key file; `Ok(false)` when the file appeared meanwhile (nothing overwritten).
fn save_new(path: &Path, key: &SigningKeyPair) -> Result<bool, Error> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    create_private_dir(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "device.key".into());
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        hex::encode(heysummon_sdk::signing::Nonce::random().as_bytes())
    ));
    let seed = key.seed();
    let mut text = Zeroizing::new(hex::encode(seed.as_slice()));
    text.push('\n');
    let written = write_private(&tmp, text.as_bytes());
    if let Err(error) = written {
        let _ = fs::remove_file(&tmp);
        return Err(error);
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(dir);
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io("create", path, e)),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("write", path, e))
}

fn create_private_dir(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Error::io("create directory", PathBuf::from(dir), e))
}

fn sync_dir(dir: &Path) {
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %path.display(),
                "the device key file is accessible to other users; chmod 600 it"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn created_once_then_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/device.key");
        let first = load_or_create(&path).unwrap();
        assert!(first.created);
        let second = load_or_create(&path).unwrap();
        assert!(!second.created);
        assert_eq!(first.key.public(), second.key.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers = fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn garbage_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(Error::DeviceKey { .. })
        ));
        assert_eq!(fs::read_to_string(&path).unwrap(), "not a key");
    }
}
