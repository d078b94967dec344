//! The canonical text a signature covers, and what goes into it: the nonce, the request parts
//! and the hashes of the body and the API key.

use std::fmt;

use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// The version line that starts every canonical text.
pub const SIGNATURE_VERSION: &str = "HEYSUMMON-SIG-V1";

/// A request nonce: 16 random bytes, written as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nonce([u8; 16]);

impl Nonce {
    /// A fresh nonce from the operating system's CSPRNG.
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// From raw bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// Parses exactly 32 lowercase hex digits (the header form is canonical: the signed text
    /// must match what was sent).
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 32 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// `N` fresh nonces from one read of the operating system's CSPRNG, for signers that keep a
    /// small supply instead of one system call per request.
    pub fn random_batch<const N: usize>() -> [Self; N] {
        let mut nonces = [Self([0u8; 16]); N];
        for chunk in nonces.chunks_mut(64) {
            let mut bytes = [0u8; 16 * 64];
            let bytes = &mut bytes[..16 * chunk.len()];
            OsRng.fill_bytes(bytes);
            for (nonce, raw) in chunk.iter_mut().zip(bytes.chunks_exact(16)) {
                nonce.0.copy_from_slice(raw);
            }
        }
        nonces
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({self})")
    }
}

/// Lowercase hex SHA-256, as the canonical text writes hashes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The parts of a request that a signature covers.
#[derive(Clone, Copy)]
pub struct RequestParts<'a> {
    /// The HTTP method as sent (`POST`).
    pub method: &'a str,
    /// The path and query exactly as sent (`/api/v1/help/abc?wait=50`).
    pub path_and_query: &'a str,
    /// The body bytes (empty for none).
    pub body: &'a [u8],
    /// The `x-api-key` header value (empty when the header is absent).
    pub api_key: &'a str,
}

impl fmt::Debug for RequestParts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestParts")
            .field("method", &self.method)
            .field("path_and_query", &self.path_and_query)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// The canonical text of PROTOCOL B4 for a request signed at `timestamp_ms` with `nonce`.
pub fn canonical_text(request: &RequestParts<'_>, timestamp_ms: i64, nonce: &Nonce) -> String {
    canonical_text_with_key_hash(
        request,
        &ApiKeyHash::of(request.api_key),
        timestamp_ms,
        nonce,
    )
}

/// [`canonical_text`] with the hash of the `x-api-key` value computed beforehand, for a signer
/// that sends the same key on many requests (a proxy holding one key). `request.api_key` is
/// ignored: `key_hash` must be [`ApiKeyHash::of`] the key the request carries, or the signature
/// will not verify.
pub fn canonical_text_with_key_hash(
    request: &RequestParts<'_>,
    key_hash: &ApiKeyHash,
    timestamp_ms: i64,
    nonce: &Nonce,
) -> String {
    use std::fmt::Write as _;
    let mut body_hash = [0u8; 64];
    // 32 bytes always fit 64 hex digits.
    let _ = hex::encode_to_slice(Sha256::digest(request.body), &mut body_hash);
    let mut nonce_hex = [0u8; 32];
    let _ = hex::encode_to_slice(nonce.0, &mut nonce_hex);
    let mut text = String::with_capacity(
        SIGNATURE_VERSION.len() + request.method.len() + request.path_and_query.len() + 190,
    );
    text.push_str(SIGNATURE_VERSION);
    text.push('\n');
    text.push_str(request.method);
    text.push('\n');
    text.push_str(request.path_and_query);
    text.push('\n');
    let _ = write!(text, "{timestamp_ms}");
    text.push('\n');
    text.push_str(std::str::from_utf8(&nonce_hex).unwrap_or_default());
    text.push('\n');
    text.push_str(std::str::from_utf8(&body_hash).unwrap_or_default());
    text.push('\n');
    text.push_str(key_hash.as_str());
    text
}

/// The lowercase hex SHA-256 of an `x-api-key` value, as the canonical text writes it: compute it
/// once for a key that signs many requests, then use [`RequestSigner::sign_with_key_hash`](super::RequestSigner::sign_with_key_hash).
/// `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyHash(String);

impl ApiKeyHash {
    /// The hash of `api_key` (the empty string for a request without the header).
    pub fn of(api_key: &str) -> Self {
        Self(sha256_hex(api_key.as_bytes()))
    }

    /// The 64 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeyHash(<redacted>)")
    }
}
