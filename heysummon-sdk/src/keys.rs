//! Keys: Ed25519 for signing, X25519 for key agreement (PROTOCOL part C).
//!
//! On the wire a public key is the lowercase hex of its DER `SubjectPublicKeyInfo`; on input PEM
//! (`-----BEGIN PUBLIC KEY-----`) and standard base64 of the DER are accepted too. Private keys
//! are zeroized on drop and never shown by `Debug`.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, KeyAlgorithm, KeyProblem};

mod identity_file;
mod pkcs8;

pub use identity_file::{
    IDENTITY_FILE_FORMAT, IDENTITY_FILE_ITERATIONS, IDENTITY_FILE_MAX_ITERATIONS,
    IDENTITY_FILE_MIN_ITERATIONS, IDENTITY_FILE_VERSION,
};

/// DER `SubjectPublicKeyInfo` prefix of an Ed25519 public key (OID 1.3.101.112).
pub const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// DER `SubjectPublicKeyInfo` prefix of an X25519 public key (OID 1.3.101.110).
pub const X25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
];
/// Length of a DER `SubjectPublicKeyInfo` of either kind: 12-byte prefix and 32-byte key.
pub const SPKI_LEN: usize = 44;

const PEM_LABEL: &str = "PUBLIC KEY";

impl KeyAlgorithm {
    fn spki_prefix(self) -> [u8; 12] {
        match self {
            Self::Ed25519 => ED25519_SPKI_PREFIX,
            Self::X25519 => X25519_SPKI_PREFIX,
        }
    }

    fn other(self) -> Self {
        match self {
            Self::Ed25519 => Self::X25519,
            Self::X25519 => Self::Ed25519,
        }
    }
}

/// Decodes hex, PEM or base64 text to the DER bytes it carries.
fn decode_text(algorithm: KeyAlgorithm, text: &str) -> Result<Vec<u8>, Error> {
    let fail = |problem| Error::InvalidPublicKey { algorithm, problem };
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        let (label, der) =
            pem_rfc7468::decode_vec(text.as_bytes()).map_err(|_| fail(KeyProblem::BadPem))?;
        if label != PEM_LABEL {
            return Err(fail(KeyProblem::BadPem));
        }
        Ok(der)
    } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|_| fail(KeyProblem::BadHex))
    } else if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        BASE64.decode(text).map_err(|_| fail(KeyProblem::BadBase64))
    } else {
        Err(fail(KeyProblem::UnrecognisedEncoding))
    }
}

/// Checks a DER `SubjectPublicKeyInfo` and returns the raw 32-byte key.
fn raw_from_der(algorithm: KeyAlgorithm, der: &[u8]) -> Result<[u8; 32], Error> {
    let fail = |problem| Error::InvalidPublicKey { algorithm, problem };
    if der.len() != SPKI_LEN {
        return Err(fail(KeyProblem::WrongLength {
            expected: SPKI_LEN,
            actual: der.len(),
        }));
    }
    let (prefix, raw) = der.split_at(12);
    if prefix != algorithm.spki_prefix() {
        let found = (prefix == algorithm.other().spki_prefix()).then(|| algorithm.other());
        return Err(fail(KeyProblem::WrongAlgorithm { found }));
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(raw);
    Ok(key)
}

fn der_of(algorithm: KeyAlgorithm, raw: &[u8; 32]) -> [u8; SPKI_LEN] {
    let mut der = [0u8; SPKI_LEN];
    der[..12].copy_from_slice(&algorithm.spki_prefix());
    der[12..].copy_from_slice(raw);
    der
}

fn pem_of(der: &[u8]) -> String {
    // Encoding 44 bytes under a fixed label cannot fail; fall back to an empty string rather than
    // panicking should the encoder ever disagree.
    pem_rfc7468::encode_string(PEM_LABEL, pem_rfc7468::LineEnding::LF, der).unwrap_or_default()
}

macro_rules! public_key_common {
    ($name:ident, $algorithm:expr) => {
        impl $name {
            /// Parses hex of DER SPKI (the wire form), PEM, or standard base64 of the DER.
            pub fn parse(text: &str) -> Result<Self, Error> {
                Self::from_der(&decode_text($algorithm, text)?)
            }

            /// Parses a DER `SubjectPublicKeyInfo`.
            pub fn from_der(der: &[u8]) -> Result<Self, Error> {
                Self::from_raw(raw_from_der($algorithm, der)?)
            }

            /// The DER `SubjectPublicKeyInfo`.
            pub fn to_der(&self) -> [u8; SPKI_LEN] {
                der_of($algorithm, &self.raw())
            }

            /// The wire form: lowercase hex of the DER `SubjectPublicKeyInfo`.
            pub fn to_hex(&self) -> String {
                hex::encode(self.to_der())
            }

            /// PEM (`-----BEGIN PUBLIC KEY-----`), as Node and OpenSSL write it.
            pub fn to_pem(&self) -> String {
                pem_of(&self.to_der())
            }

            /// Standard base64 of the DER `SubjectPublicKeyInfo`.
            pub fn to_base64(&self) -> String {
                BASE64.encode(self.to_der())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(text: &str) -> Result<Self, Error> {
                Self::parse(text)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// An Ed25519 public key: verifies the signatures of a party.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignPublicKey(VerifyingKey);

public_key_common!(SignPublicKey, KeyAlgorithm::Ed25519);

impl SignPublicKey {
    /// From the raw 32-byte encoding; rejects points that do not decode and small-order points.
    pub fn from_raw(raw: [u8; 32]) -> Result<Self, Error> {
        let fail = |problem| Error::InvalidPublicKey {
            algorithm: KeyAlgorithm::Ed25519,
            problem,
        };
        let key = VerifyingKey::from_bytes(&raw).map_err(|_| fail(KeyProblem::WeakKey))?;
        if key.is_weak() {
            return Err(fail(KeyProblem::WeakKey));
        }
        Ok(Self(key))
    }

    /// The raw 32-byte encoding.
    pub fn raw(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Verifies an Ed25519 signature strictly (no malleable or small-order forms).
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify_strict(message, &signature).is_ok()
    }

    /// The device id of PROTOCOL B4: lowercase hex SHA-256 of the DER SPKI.
    pub fn device_id(&self) -> String {
        hex::encode(Sha256::digest(self.to_der()))
    }
}

/// An X25519 public key: the key others encrypt to.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncryptPublicKey(x25519_dalek::PublicKey);

public_key_common!(EncryptPublicKey, KeyAlgorithm::X25519);

impl EncryptPublicKey {
    /// From the raw 32-byte encoding. Low-order points are refused later, at agreement time,
    /// where [`EncryptionKeyPair::agree`] checks that the shared secret is contributory.
    pub fn from_raw(raw: [u8; 32]) -> Result<Self, Error> {
        Ok(Self(x25519_dalek::PublicKey::from(raw)))
    }

    /// The raw 32-byte encoding.
    pub fn raw(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

/// An Ed25519 signing key pair. The secret half is zeroized on drop and never printed.
#[derive(Clone)]
pub struct SigningKeyPair(SigningKey);

impl SigningKeyPair {
    /// A fresh key pair from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self(SigningKey::generate(&mut OsRng))
    }

    /// From the 32-byte seed (the RFC 8032 private key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed, for key stores. Handle with care: it is the private key.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public half.
    pub fn public(&self) -> SignPublicKey {
        SignPublicKey(self.0.verifying_key())
    }

    /// Signs a message (Ed25519, deterministic).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

impl fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyPair")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

/// An X25519 key-agreement key pair. The secret half is zeroized on drop and never printed.
#[derive(Clone)]
pub struct EncryptionKeyPair {
    secret: x25519_dalek::StaticSecret,
    public: x25519_dalek::PublicKey,
}

impl EncryptionKeyPair {
    /// A fresh key pair from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self::from_secret(x25519_dalek::StaticSecret::random_from_rng(OsRng))
    }

    /// From the 32-byte private scalar (clamped as X25519 prescribes).
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        Self::from_secret(x25519_dalek::StaticSecret::from(*secret))
    }

    fn from_secret(secret: x25519_dalek::StaticSecret) -> Self {
        let public = x25519_dalek::PublicKey::from(&secret);
        Self { secret, public }
    }

    /// The 32-byte private scalar, for key stores. Handle with care: it is the private key.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The public half.
    pub fn public(&self) -> EncryptPublicKey {
        EncryptPublicKey(self.public)
    }

    /// X25519 with a peer's public key. Refuses a non-contributory (low-order) result, which an
    /// attacker-chosen public key would produce to make the secret predictable.
    pub fn agree(&self, peer: &EncryptPublicKey) -> Result<Zeroizing<[u8; 32]>, Error> {
        let shared = self.secret.diffie_hellman(&peer.0);
        if !shared.was_contributory() {
            return Err(Error::InvalidPublicKey {
                algorithm: KeyAlgorithm::X25519,
                problem: KeyProblem::WeakKey,
            });
        }
        Ok(Zeroizing::new(shared.to_bytes()))
    }
}

impl fmt::Debug for EncryptionKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKeyPair")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

/// One party's two key pairs: what a consumer makes per request and an expert publishes.
#[derive(Clone, Debug)]
pub struct PartyKeys {
    /// Signs the party's messages.
    pub sign: SigningKeyPair,
    /// Receives messages encrypted to the party.
    pub encrypt: EncryptionKeyPair,
}

impl PartyKeys {
    /// Fresh key pairs of both kinds.
    pub fn generate() -> Self {
        Self {
            sign: SigningKeyPair::generate(),
            encrypt: EncryptionKeyPair::generate(),
        }
    }

    /// The public halves.
    pub fn public(&self) -> PublicKeys {
        PublicKeys {
            sign: self.sign.public(),
            encrypt: self.encrypt.public(),
        }
    }
}

/// One party's two public keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeys {
    /// Verifies the party's signatures.
    #[serde(rename = "signPublicKey")]
    pub sign: SignPublicKey,
    /// Encrypts to the party.
    #[serde(rename = "encryptPublicKey")]
    pub encrypt: EncryptPublicKey,
}

impl PublicKeys {
    /// Parses the two wire strings (any accepted encoding).
    pub fn parse(sign: &str, encrypt: &str) -> Result<Self, Error> {
        Ok(Self {
            sign: SignPublicKey::parse(sign)?,
            encrypt: EncryptPublicKey::parse(encrypt)?,
        })
    }

    /// The expert fingerprint of these keys (PROTOCOL B3).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.sign, &self.encrypt)
    }
}

/// An expert's key fingerprint (PROTOCOL B3): SHA-256 of the Ed25519 DER SPKI followed by the
/// X25519 DER SPKI. Written as lowercase hex; shown to people in groups of four.
///
/// Equality is constant-time.
#[derive(Clone, Copy)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a key pair's public halves.
    pub fn of(sign: &SignPublicKey, encrypt: &EncryptPublicKey) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(sign.to_der());
        hasher.update(encrypt.to_der());
        Self(hasher.finalize().into())
    }

    /// Parses 64 hex digits, in either case, ignoring spaces, dashes and colons between groups.
    pub fn parse(text: &str) -> Option<Self> {
        let digits: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | ':'))
            .collect();
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(digits, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The form for people: groups of four hex digits separated by spaces.
    pub fn grouped(&self) -> String {
        let hex = hex::encode(self.0);
        let groups: Vec<&str> = hex
            .as_bytes()
            .chunks(4)
            .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
            .collect();
        groups.join(" ")
    }
}

impl PartialEq for Fingerprint {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Fingerprint {}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("invalid key fingerprint"))
    }
}

#[cfg(test)]
mod identity_file_tests;
#[cfg(test)]
mod tests;
