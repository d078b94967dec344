//! The server's audit key: an Ed25519 key generated on first start and kept in a file readable
//! by its owner only (64 hex digits of the secret seed and a newline). Instances sharing one
//! PostgreSQL database share the file. Only the public half is needed to verify a chain.
//! Neither `Debug` nor any log shows the secret.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::OsRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Why an audit key could not be read, created or parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditKeyError {
    /// The file could not be read or written.
    #[error("audit key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file does not hold a key.
    #[error("audit key file {0} does not hold an audit key (64 hex digits)")]
    Malformed(PathBuf),
    /// A public key given as hex is not one.
    #[error("not an Ed25519 public key (64 hex digits)")]
    BadPublicKey,
}

/// The audit signing key. `Debug` shows its id only; the secret is wiped when dropped.
#[derive(Clone)]
pub struct AuditKey {
    signing: SigningKey,
    public: AuditPublicKey,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKey")
            .field("key_id", &self.public.key_id)
            .finish_non_exhaustive()
    }
}

/// Where the audit key of an SQLite database lives unless configured: beside the database,
/// named after it (`heysummon.db` → `heysummon.db.audit-key`).
pub fn default_key_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".audit-key");
    PathBuf::from(name)
}

impl AuditKey {
    /// A new random key, kept in memory only (tests; a server keeps its key in a file).
    pub fn generate() -> Self {
        Self::from_signing(SigningKey::generate(&mut OsRng))
    }

    fn from_signing(signing: SigningKey) -> Self {
        let public = AuditPublicKey::from_verifying(signing.verifying_key());
        Self { signing, public }
    }

    /// Reads the key in `path`.
    pub fn load(path: &Path) -> Result<Self, AuditKeyError> {
        let io = |source| AuditKeyError::Io {
            path: path.to_owned(),
            source,
        };
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        warn_if_readable_by_others(path);
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), seed.as_mut_slice())
            .map_err(|_| AuditKeyError::Malformed(path.to_owned()))?;
        Ok(Self::from_signing(SigningKey::from_bytes(&seed)))
    }

    /// Reads the key in `path`, creating the file with a new key (owner-only permissions)
    /// when there is none. Several processes starting together agree on one key: the file
    /// appears complete or not at all (written aside, then linked into place).
    pub fn load_or_create(path: &Path) -> Result<Self, AuditKeyError> {
        match Self::load(path) {
            Err(AuditKeyError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            loaded => return loaded,
        }
        let key = Self::generate();
        match key.write_new(path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), key_id = %key.key_id(), "created the audit key");
                Ok(key)
            }
            // Another process created it first: theirs is the key.
            Err(AuditKeyError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                Self::load(path)
            }
            Err(error) => Err(error),
        }
    }

    /// Writes the key to a new file at `path` (never replacing one).
    fn write_new(&self, path: &Path) -> Result<(), AuditKeyError> {
        let io = |source| AuditKeyError::Io {
            path: path.to_owned(),
            source,
        };
        let mut aside = path.as_os_str().to_owned();
        aside.push(format!(".{}.tmp", crate::ids::new_id()));
        let aside = PathBuf::from(aside);
        let written = (|| {
            let mut file = owner_only_file(&aside)?;
            let seed = Zeroizing::new(self.signing.to_bytes());
            let text = Zeroizing::new(format!("{}\n", hex::encode(seed.as_slice())));
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::hard_link(&aside, path)
        })();
        let _ = std::fs::remove_file(&aside);
        written.map_err(io)
    }

    /// The key's id: see [`AuditPublicKey::key_id`].
    pub fn key_id(&self) -> &str {
        &self.public.key_id
    }

    /// The public half, which verifies what this key signed.
    pub fn public(&self) -> &AuditPublicKey {
        &self.public
    }

    /// Signs an entry hash: the signature in hex.
    pub(crate) fn sign(&self, digest: &[u8; 32]) -> String {
        hex::encode(self.signing.sign(digest).to_bytes())
    }
}

#[cfg(unix)]
fn owner_only_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn owner_only_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the audit key file is readable by others than its owner (chmod 600 it)"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// The public half of an audit key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditPublicKey {
    verifying: VerifyingKey,
    key_id: String,
}

impl AuditPublicKey {
    fn from_verifying(verifying: VerifyingKey) -> Self {
        let fingerprint = Sha256::digest(verifying.as_bytes());
        Self {
            verifying,
            key_id: hex::encode(&fingerprint[..16]),
        }
    }

    /// A public key from its 64 hex digits (as [`Self::to_hex`] writes it).
    pub fn from_hex(text: &str) -> Result<Self, AuditKeyError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| AuditKeyError::BadPublicKey)?;
        let verifying =
            VerifyingKey::from_bytes(&bytes).map_err(|_| AuditKeyError::BadPublicKey)?;
        Ok(Self::from_verifying(verifying))
    }

    /// The key in 64 hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.verifying.as_bytes())
    }

    /// The key's id, stored with every entry it signs: the first 16 bytes of the SHA-256 of
    /// the public key, in hex.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Whether `signature` (hex) is this key's signature of `digest`.
    pub(crate) fn verifies(&self, digest: &[u8; 32], signature: &str) -> bool {
        let mut bytes = [0u8; 64];
        if hex::decode_to_slice(signature, &mut bytes).is_err() {
            return false;
        }
        self.verifying
            .verify_strict(digest, &Signature::from_bytes(&bytes))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_reads_back_and_is_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.audit-key");
        let created = AuditKey::load_or_create(&path).unwrap();
        let again = AuditKey::load_or_create(&path).unwrap();
        assert_eq!(created.public(), again.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Nothing left aside.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn debug_shows_the_id_and_never_the_secret() {
        let key = AuditKey::generate();
        let shown = format!("{key:?}");
        assert!(shown.contains(key.key_id()), "{shown}");
        assert!(
            !shown.contains(&hex::encode(key.signing.to_bytes())),
            "{shown}"
        );
    }

    #[test]
    fn a_public_key_round_trips_through_hex_and_verifies() {
        let key = AuditKey::generate();
        let public = AuditPublicKey::from_hex(&key.public().to_hex()).unwrap();
        assert_eq!(public.key_id(), key.key_id());
        let digest = [7u8; 32];
        let signature = key.sign(&digest);
        assert!(public.verifies(&digest, &signature));
        assert!(!public.verifies(&[8u8; 32], &signature));
        assert!(!public.verifies(&digest, "00"));
        assert!(AuditPublicKey::from_hex("zz").is_err());
    }

    #[test]
    fn a_malformed_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "not a key\n").unwrap();
        assert!(matches!(
            AuditKey::load(&path),
            Err(AuditKeyError::Malformed(_))
        ));
    }

    #[test]
    fn the_default_path_is_beside_the_database() {
        assert_eq!(
            default_key_path(Path::new("/var/lib/heysummon/heysummon.db")),
            Path::new("/var/lib/heysummon/heysummon.db.audit-key")
        );
    }
}
