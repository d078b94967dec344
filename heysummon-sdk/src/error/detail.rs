//! What exactly was wrong with a key or a signed request: the details of
//! [`super::Error::InvalidPublicKey`], [`super::Error::InvalidPrivateKey`] and
//! [`super::Error::Signature`].

use std::fmt;

/// The two key algorithms of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// Ed25519 signing keys.
    Ed25519,
    /// X25519 key-agreement keys.
    X25519,
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ed25519 => "Ed25519",
            Self::X25519 => "X25519",
        })
    }
}

/// What exactly was wrong with a key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// The text is neither hex, PEM nor base64 of a DER public key.
    UnrecognisedEncoding,
    /// The text looked like hex but is not valid hex.
    BadHex,
    /// The text looked like base64 but is not valid base64.
    BadBase64,
    /// The text looked like PEM but is not a valid `PUBLIC KEY` block.
    BadPem,
    /// The decoded key has the wrong number of bytes.
    WrongLength {
        /// Bytes the encoding needs.
        expected: usize,
        /// Bytes that were given.
        actual: usize,
    },
    /// The DER prefix names another algorithm (or none of ours).
    WrongAlgorithm {
        /// The algorithm the prefix names, when it is one of ours.
        found: Option<KeyAlgorithm>,
    },
    /// The key is a small-order point: agreement with it would not depend on our secret, or
    /// signatures under it would be forgeable.
    WeakKey,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnrecognisedEncoding => {
                f.write_str("not hex, PEM or base64 of a DER SubjectPublicKeyInfo")
            }
            Self::BadHex => f.write_str("malformed hex"),
            Self::BadBase64 => f.write_str("malformed base64"),
            Self::BadPem => f.write_str("malformed PEM (expected a PUBLIC KEY block)"),
            Self::WrongLength { expected, actual } => {
                write!(f, "wrong length: expected {expected} bytes, got {actual}")
            }
            Self::WrongAlgorithm { found: Some(found) } => {
                write!(f, "wrong algorithm prefix: this is an {found} key")
            }
            Self::WrongAlgorithm { found: None } => {
                f.write_str("wrong algorithm prefix: not an Ed25519 or X25519 SubjectPublicKeyInfo")
            }
            Self::WeakKey => f.write_str("weak (small-order) key"),
        }
    }
}

/// Why a signed request was rejected; each maps to the `code` of the 401 response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureRejection {
    /// The headers are malformed, the device is unknown or the signature does not verify.
    Invalid,
    /// The timestamp is outside the accepted window around the verifier's clock.
    Expired,
    /// The nonce was already used within the window.
    Replayed,
    /// The request must be signed and is not.
    Required,
}

impl SignatureRejection {
    /// The machine code sent in the error body.
    pub fn code(self) -> &'static str {
        match self {
            Self::Invalid => "SIGNATURE_INVALID",
            Self::Expired => "SIGNATURE_EXPIRED",
            Self::Replayed => "SIGNATURE_REPLAYED",
            Self::Required => "SIGNATURE_REQUIRED",
        }
    }

    /// A sentence for the error body; never names a key or a secret.
    pub fn message(self) -> &'static str {
        match self {
            Self::Invalid => "Request signature is invalid",
            Self::Expired => "Request signature has expired or is from the future",
            Self::Replayed => "Request signature was already used",
            Self::Required => "This API key requires signed requests",
        }
    }
}

impl fmt::Display for SignatureRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.code())
    }
}
