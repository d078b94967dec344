//! The passphrase-protected expert identity file (PROTOCOL E4): one expert's two private keys,
//! encrypted under a passphrase, so the same identity answers from the dashboard of several
//! browsers and from `ExpertClient` under one fingerprint. The dashboard (WebCrypto) reads and
//! writes exactly the same format.
//!
//! One UTF-8 JSON object:
//!
//! ```json
//! {
//!   "format": "heysummon-expert-identity",
//!   "version": 1,
//!   "fingerprint": "<64 lowercase hex>",
//!   "signPublicKey": "<lowercase hex of the Ed25519 DER SPKI>",
//!   "encryptPublicKey": "<lowercase hex of the X25519 DER SPKI>",
//!   "kdf": { "name": "PBKDF2-HMAC-SHA256", "iterations": 600000, "salt": "<base64, 16 bytes>" },
//!   "cipher": { "name": "AES-256-GCM", "iv": "<base64, 12 bytes>" },
//!   "ciphertext": "<base64 of the AES-GCM ciphertext followed by its 16-byte tag>"
//! }
//! ```
//!
//! - `key = PBKDF2-HMAC-SHA256(UTF-8 of the passphrase, salt, iterations, 32 bytes)`; writers use
//!   600,000 iterations, readers accept 100,000 ..= 10,000,000.
//! - AES-256-GCM under `key` and `iv`, with the associated data
//!   `UTF-8("heysummon-expert-identity/v1:" + fingerprint)`.
//! - The plaintext is the UTF-8 JSON
//!   `{"signPrivateKey":"<hex PKCS#8>","encryptPrivateKey":"<hex PKCS#8>"}`; writers use the
//!   48-byte PKCS#8 v1 layout, readers also accept v2 (see [`super::pkcs8`]).
//!
//! Reading checks everything: the names and version, the iteration range, the lengths, that the
//! fingerprint is the one of the public keys, the tag, and that the private keys give exactly the
//! public keys written beside them. Any failure is the one opaque [`Error::IdentityFile`]: a wrong
//! passphrase and a damaged file are indistinguishable, and nothing partial is returned. Every
//! buffer that held private key material is zeroized.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::pkcs8;
use super::{EncryptionKeyPair, PartyKeys, PublicKeys, SigningKeyPair};
use crate::error::{Error, KeyAlgorithm};

/// The `format` member of an expert identity file.
pub const IDENTITY_FILE_FORMAT: &str = "heysummon-expert-identity";
/// The `version` member this crate reads and writes.
pub const IDENTITY_FILE_VERSION: u32 = 1;
/// PBKDF2 iterations of the files this crate writes.
pub const IDENTITY_FILE_ITERATIONS: u32 = 600_000;
/// The fewest PBKDF2 iterations a reader accepts.
pub const IDENTITY_FILE_MIN_ITERATIONS: u32 = 100_000;
/// The most PBKDF2 iterations a reader accepts (more would make opening a file a denial of
/// service).
pub const IDENTITY_FILE_MAX_ITERATIONS: u32 = 10_000_000;

const KDF_NAME: &str = "PBKDF2-HMAC-SHA256";
const CIPHER_NAME: &str = "AES-256-GCM";
const AAD_PREFIX: &str = "heysummon-expert-identity/v1:";
const SALT_LEN: usize = 16;
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IdentityFile {
    format: String,
    version: u32,
    fingerprint: String,
    sign_public_key: String,
    encrypt_public_key: String,
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kdf {
    name: String,
    iterations: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cipher {
    name: String,
    iv: String,
}

/// The encrypted part: hex of the two PKCS#8 private keys. Zeroized on drop.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Secrets {
    pub(crate) sign_private_key: String,
    pub(crate) encrypt_private_key: String,
}

impl PartyKeys {
    /// Writes these keys as a passphrase-protected expert identity file (the module's format),
    /// with a fresh random salt and iv and [`IDENTITY_FILE_ITERATIONS`]. Takes a noticeable
    /// fraction of a second: the key derivation is slow on purpose.
    ///
    /// # Errors
    /// [`Error::EmptyPassphrase`] for an empty passphrase.
    pub fn to_identity_file(&self, passphrase: &str) -> Result<String, Error> {
        let mut salt = [0u8; SALT_LEN];
        OsRng.fill_bytes(&mut salt);
        let mut iv = [0u8; IV_LEN];
        OsRng.fill_bytes(&mut iv);
        let secrets = Secrets {
            sign_private_key: pkcs8_hex(KeyAlgorithm::Ed25519, &self.sign.seed()),
            encrypt_private_key: pkcs8_hex(KeyAlgorithm::X25519, &self.encrypt.secret_bytes()),
        };
        seal(
            &self.public(),
            &secrets,
            passphrase,
            IDENTITY_FILE_ITERATIONS,
            salt,
            iv,
        )
    }

    /// Reads an expert identity file written by [`PartyKeys::to_identity_file`] or by the
    /// dashboard.
    ///
    /// # Errors
    /// [`Error::IdentityFile`] for a wrong passphrase, a damaged or altered file, or a file that
    /// is not an identity file: deliberately one error.
    pub fn from_identity_file(text: &str, passphrase: &str) -> Result<Self, Error> {
        open(text, passphrase).ok_or(Error::IdentityFile)
    }
}

fn pkcs8_hex(algorithm: KeyAlgorithm, key: &[u8; 32]) -> String {
    hex::encode(pkcs8::encode_v1(algorithm, key).as_slice())
}

/// The associated data binding the ciphertext to the fingerprint written beside it.
fn aad(fingerprint: &str) -> Vec<u8> {
    format!("{AAD_PREFIX}{fingerprint}").into_bytes()
}

fn derive_key(passphrase: &str, salt: &[u8; SALT_LEN], iterations: u32) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<Sha256>(passphrase.as_bytes(), salt, iterations, key.as_mut_slice());
    key
}

/// Encrypts `secrets` for the keys `public` into the file's text. Separate from
/// [`PartyKeys::to_identity_file`] so tests can choose the iterations, salt, iv and plaintext.
pub(crate) fn seal(
    public: &PublicKeys,
    secrets: &Secrets,
    passphrase: &str,
    iterations: u32,
    salt: [u8; SALT_LEN],
    iv: [u8; IV_LEN],
) -> Result<String, Error> {
    if passphrase.is_empty() {
        return Err(Error::EmptyPassphrase);
    }
    let fingerprint = public.fingerprint().to_string();
    // Sized up front so that serialising never reallocates (which would leave a copy behind).
    let mut buffer = Zeroizing::new(Vec::with_capacity(512));
    serde_json::to_writer(&mut *buffer, secrets).map_err(|_| Error::Crypto)?;
    let key = derive_key(passphrase, &salt, iterations);
    let cipher = Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| Error::Crypto)?;
    let tag = cipher
        .encrypt_in_place_detached(
            Nonce::from_slice(&iv),
            &aad(&fingerprint),
            buffer.as_mut_slice(),
        )
        .map_err(|_| Error::Crypto)?;
    let mut sealed = Vec::with_capacity(buffer.len() + TAG_LEN);
    sealed.extend_from_slice(&buffer);
    sealed.extend_from_slice(&tag);

    let file = IdentityFile {
        format: IDENTITY_FILE_FORMAT.to_owned(),
        version: IDENTITY_FILE_VERSION,
        fingerprint,
        sign_public_key: public.sign.to_hex(),
        encrypt_public_key: public.encrypt.to_hex(),
        kdf: Kdf {
            name: KDF_NAME.to_owned(),
            iterations,
            salt: BASE64.encode(salt),
        },
        cipher: Cipher {
            name: CIPHER_NAME.to_owned(),
            iv: BASE64.encode(iv),
        },
        ciphertext: BASE64.encode(sealed),
    };
    let mut text = serde_json::to_string_pretty(&file).map_err(|_| Error::Crypto)?;
    text.push('\n');
    Ok(text)
}

/// Opens a file; `None` on any failure.
fn open(text: &str, passphrase: &str) -> Option<PartyKeys> {
    let file: IdentityFile = serde_json::from_str(text).ok()?;
    let well_formed = file.format == IDENTITY_FILE_FORMAT
        && file.version == IDENTITY_FILE_VERSION
        && file.kdf.name == KDF_NAME
        && file.cipher.name == CIPHER_NAME
        && (IDENTITY_FILE_MIN_ITERATIONS..=IDENTITY_FILE_MAX_ITERATIONS)
            .contains(&file.kdf.iterations);
    if !well_formed {
        return None;
    }
    let salt: [u8; SALT_LEN] = BASE64.decode(&file.kdf.salt).ok()?.try_into().ok()?;
    let iv: [u8; IV_LEN] = BASE64.decode(&file.cipher.iv).ok()?.try_into().ok()?;
    let mut sealed = Zeroizing::new(BASE64.decode(&file.ciphertext).ok()?);

    // The public keys in their exact wire form, and the fingerprint that is theirs: checked
    // before the slow key derivation.
    let public = PublicKeys::parse(&file.sign_public_key, &file.encrypt_public_key).ok()?;
    let canonical = public.sign.to_hex() == file.sign_public_key
        && public.encrypt.to_hex() == file.encrypt_public_key
        && public.fingerprint().to_string() == file.fingerprint;
    if !canonical || sealed.len() < TAG_LEN {
        return None;
    }

    let key = derive_key(passphrase, &salt, file.kdf.iterations);
    let cipher = Aes256Gcm::new_from_slice(key.as_slice()).ok()?;
    let body_len = sealed.len() - TAG_LEN;
    let (body, tag) = sealed.split_at_mut(body_len);
    cipher
        .decrypt_in_place_detached(
            Nonce::from_slice(&iv),
            &aad(&file.fingerprint),
            body,
            Tag::from_slice(tag),
        )
        .ok()?;
    let secrets: Secrets = serde_json::from_slice(body).ok()?;

    let sign_der = Zeroizing::new(hex::decode(&secrets.sign_private_key).ok()?);
    let encrypt_der = Zeroizing::new(hex::decode(&secrets.encrypt_private_key).ok()?);
    let sign = pkcs8::decode(KeyAlgorithm::Ed25519, &sign_der)?;
    let encrypt = pkcs8::decode(KeyAlgorithm::X25519, &encrypt_der)?;
    let keys = PartyKeys {
        sign: SigningKeyPair::from_seed(&sign.key),
        encrypt: EncryptionKeyPair::from_secret_bytes(&encrypt.key),
    };
    let derived = keys.public();
    let consistent = derived == public
        && sign.public.is_none_or(|raw| raw == derived.sign.raw())
        && encrypt
            .public
            .is_none_or(|raw| raw == derived.encrypt.raw());
    consistent.then_some(keys)
}
