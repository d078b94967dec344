//! Signed requests (PROTOCOL B4): how the guard, or a Rust agent with a device key, proves that a
//! request comes from an enrolled device and was not altered or replayed.
//!
//! The signature is Ed25519 over the UTF-8 canonical text
//!
//! ```text
//! HEYSUMMON-SIG-V1
//! <METHOD>
//! <path and query exactly as sent>
//! <timestamp, milliseconds since the Unix epoch>
//! <nonce, 32 lowercase hex digits>
//! <lowercase hex SHA-256 of the body bytes>
//! <lowercase hex SHA-256 of the x-api-key value>
//! ```
//!
//! carried in four headers ([`HEADER_TIMESTAMP`], [`HEADER_NONCE`], [`HEADER_SIGNATURE`],
//! [`HEADER_DEVICE`]). A request without an `x-api-key` header hashes the empty string.
//!
//! Verification takes the verifier's clock and a [`NonceStore`] as inputs, so a server can back
//! the nonces with its database and a test can move time. A request is accepted when its
//! timestamp is at most [`VerifyWindow::max_age_ms`] (300 s) old and at most
//! [`VerifyWindow::max_future_ms`] (30 s) ahead of the verifier's clock, the signature verifies,
//! and the nonce has not been seen from that device while its timestamp was inside the window.

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::error::SignatureRejection;
use crate::keys::{SignPublicKey, SigningKeyPair};

/// The version line that starts every canonical text.
pub const SIGNATURE_VERSION: &str = "HEYSUMMON-SIG-V1";
/// Milliseconds since the Unix epoch at signing time.
pub const HEADER_TIMESTAMP: &str = "x-heysummon-timestamp";
/// 16 random bytes, lowercase hex.
pub const HEADER_NONCE: &str = "x-heysummon-nonce";
/// Standard base64 of the Ed25519 signature.
pub const HEADER_SIGNATURE: &str = "x-heysummon-signature";
/// Lowercase hex SHA-256 of the signing device's DER SPKI.
pub const HEADER_DEVICE: &str = "x-heysummon-device";
/// The API key header, whose value the canonical text covers by hash.
pub const HEADER_API_KEY: &str = "x-api-key";

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
/// once for a key that signs many requests, then use [`RequestSigner::sign_with_key_hash`].
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

/// The four signature headers of one request.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// Milliseconds since the Unix epoch at signing time.
    pub timestamp_ms: i64,
    /// The request nonce.
    pub nonce: Nonce,
    /// The Ed25519 signature over the canonical text.
    pub signature: [u8; 64],
    /// Which device signed: lowercase hex SHA-256 of its DER SPKI.
    pub device_id: String,
}

impl fmt::Debug for SignatureHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureHeaders")
            .field("timestamp_ms", &self.timestamp_ms)
            .field("nonce", &self.nonce)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

impl SignatureHeaders {
    /// The header names and values to attach to the request.
    pub fn to_pairs(&self) -> [(&'static str, String); 4] {
        [
            (HEADER_TIMESTAMP, self.timestamp_ms.to_string()),
            (HEADER_NONCE, self.nonce.to_string()),
            (HEADER_SIGNATURE, BASE64.encode(self.signature)),
            (HEADER_DEVICE, self.device_id.clone()),
        ]
    }

    /// Reads the four headers through a look-up function (header name → value).
    ///
    /// `Ok(None)` when none of them is present (an unsigned request); `Err(Invalid)` when only
    /// some are present or any is malformed.
    pub fn from_lookup<'a>(
        mut header: impl FnMut(&str) -> Option<&'a str>,
    ) -> Result<Option<Self>, SignatureRejection> {
        let values = [
            header(HEADER_TIMESTAMP),
            header(HEADER_NONCE),
            header(HEADER_SIGNATURE),
            header(HEADER_DEVICE),
        ];
        let [Some(timestamp), Some(nonce), Some(signature), Some(device)] = values else {
            return if values.iter().all(Option::is_none) {
                Ok(None)
            } else {
                Err(SignatureRejection::Invalid)
            };
        };
        let invalid = SignatureRejection::Invalid;
        let timestamp_ms = if timestamp.bytes().all(|b| b.is_ascii_digit()) {
            timestamp.parse::<i64>().map_err(|_| invalid)?
        } else {
            return Err(invalid);
        };
        let nonce = Nonce::parse(nonce).ok_or(invalid)?;
        let signature: [u8; 64] = BASE64
            .decode(signature)
            .map_err(|_| invalid)?
            .try_into()
            .map_err(|_| invalid)?;
        let device_ok = device.len() == 64
            && device
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !device_ok {
            return Err(invalid);
        }
        Ok(Some(Self {
            timestamp_ms,
            nonce,
            signature,
            device_id: device.to_owned(),
        }))
    }
}

/// Signs requests with a device key.
#[derive(Clone, Debug)]
pub struct RequestSigner {
    key: SigningKeyPair,
    device_id: String,
}

impl RequestSigner {
    /// A signer for a device key.
    pub fn new(key: SigningKeyPair) -> Self {
        let device_id = key.public().device_id();
        Self { key, device_id }
    }

    /// The device id that goes into [`HEADER_DEVICE`].
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The device's public key, for enrollment.
    pub fn public_key(&self) -> SignPublicKey {
        self.key.public()
    }

    /// Signs a request now, with a fresh nonce.
    pub fn sign(&self, request: &RequestParts<'_>) -> SignatureHeaders {
        let now_ms = chrono::Utc::now().timestamp_millis();
        self.sign_at(request, now_ms, Nonce::random())
    }

    /// Signs a request with a given timestamp and nonce (deterministic; for tests and for
    /// callers with their own clock).
    pub fn sign_at(
        &self,
        request: &RequestParts<'_>,
        timestamp_ms: i64,
        nonce: Nonce,
    ) -> SignatureHeaders {
        self.sign_at_with_key_hash(
            request,
            &ApiKeyHash::of(request.api_key),
            timestamp_ms,
            nonce,
        )
    }

    /// [`Self::sign`] with the hash of the `x-api-key` value computed beforehand
    /// (see [`canonical_text_with_key_hash`]; `request.api_key` is ignored).
    pub fn sign_with_key_hash(
        &self,
        request: &RequestParts<'_>,
        key_hash: &ApiKeyHash,
    ) -> SignatureHeaders {
        let now_ms = chrono::Utc::now().timestamp_millis();
        self.sign_at_with_key_hash(request, key_hash, now_ms, Nonce::random())
    }

    /// [`Self::sign_at`] with the hash of the `x-api-key` value computed beforehand
    /// (see [`canonical_text_with_key_hash`]; `request.api_key` is ignored).
    pub fn sign_at_with_key_hash(
        &self,
        request: &RequestParts<'_>,
        key_hash: &ApiKeyHash,
        timestamp_ms: i64,
        nonce: Nonce,
    ) -> SignatureHeaders {
        let text = canonical_text_with_key_hash(request, key_hash, timestamp_ms, &nonce);
        SignatureHeaders {
            timestamp_ms,
            nonce,
            signature: self.key.sign(text.as_bytes()),
            device_id: self.device_id.clone(),
        }
    }
}

/// How far a signed timestamp may be from the verifier's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyWindow {
    /// How old a signature may be (default 300 000 ms).
    pub max_age_ms: i64,
    /// How far ahead of the verifier's clock a signature may be (default 30 000 ms).
    pub max_future_ms: i64,
}

impl Default for VerifyWindow {
    fn default() -> Self {
        Self {
            max_age_ms: 300_000,
            max_future_ms: 30_000,
        }
    }
}

impl VerifyWindow {
    /// Whether a timestamp is acceptable at `now_ms`.
    pub fn contains(&self, timestamp_ms: i64, now_ms: i64) -> bool {
        let age = now_ms.saturating_sub(timestamp_ms);
        age <= self.max_age_ms && age >= -self.max_future_ms
    }

    /// Until when a nonce signed at `timestamp_ms` must be remembered: after that instant the
    /// timestamp alone makes a replay fail.
    pub fn nonce_expiry(&self, timestamp_ms: i64) -> i64 {
        // `contains` still accepts the timestamp at exactly `max_age_ms`, so the nonce must
        // outlive that millisecond.
        timestamp_ms
            .saturating_add(self.max_age_ms)
            .saturating_add(1)
    }
}

/// Remembers the nonces seen within the window.
///
/// Implemented for closures `FnMut(&str, &Nonce, i64) -> bool` too.
pub trait NonceStore {
    /// Records `nonce` from `device_id` until `expires_at_ms`. Returns `true` if it was fresh,
    /// `false` if it was already recorded and has not expired (a replay).
    fn check_and_record(&mut self, device_id: &str, nonce: &Nonce, expires_at_ms: i64) -> bool;
}

impl<F: FnMut(&str, &Nonce, i64) -> bool> NonceStore for F {
    fn check_and_record(&mut self, device_id: &str, nonce: &Nonce, expires_at_ms: i64) -> bool {
        self(device_id, nonce, expires_at_ms)
    }
}

/// An in-memory [`NonceStore`] for tests and single-process verifiers. It forgets everything
/// on restart; a server needs a persistent, shared one.
#[derive(Debug, Default)]
pub struct MemoryNonceStore {
    seen: HashMap<(String, Nonce), i64>,
    now_ms: i64,
}

impl MemoryNonceStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the store the current time, so expired entries can be dropped.
    pub fn set_now(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
        self.seen.retain(|_, expires| *expires > now_ms);
    }

    /// How many nonces are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

impl NonceStore for MemoryNonceStore {
    fn check_and_record(&mut self, device_id: &str, nonce: &Nonce, expires_at_ms: i64) -> bool {
        let key = (device_id.to_owned(), *nonce);
        match self.seen.get(&key) {
            Some(expires) if *expires > self.now_ms => false,
            _ => {
                self.seen.insert(key, expires_at_ms);
                true
            }
        }
    }
}

/// Checks the device, the timestamp and the signature, but not the nonce.
///
/// For verifiers whose nonce store is asynchronous: call this, then record the nonce until
/// [`VerifyWindow::nonce_expiry`] and reject with [`SignatureRejection::Replayed`] if it was
/// already there. Record only after this succeeded, so forged requests cannot burn nonces.
pub fn verify_without_nonce(
    headers: &SignatureHeaders,
    key: &SignPublicKey,
    request: &RequestParts<'_>,
    now_ms: i64,
    window: VerifyWindow,
) -> Result<(), SignatureRejection> {
    if headers.device_id != key.device_id() {
        return Err(SignatureRejection::Invalid);
    }
    if !window.contains(headers.timestamp_ms, now_ms) {
        return Err(SignatureRejection::Expired);
    }
    let text = canonical_text(request, headers.timestamp_ms, &headers.nonce);
    if !key.verify(text.as_bytes(), &headers.signature) {
        return Err(SignatureRejection::Invalid);
    }
    Ok(())
}

/// Verifies a signed request completely: device, timestamp window, signature, then the nonce.
pub fn verify(
    headers: &SignatureHeaders,
    key: &SignPublicKey,
    request: &RequestParts<'_>,
    now_ms: i64,
    window: VerifyWindow,
    nonces: &mut impl NonceStore,
) -> Result<(), SignatureRejection> {
    verify_without_nonce(headers, key, request, now_ms, window)?;
    let expires = window.nonce_expiry(headers.timestamp_ms);
    if !nonces.check_and_record(&headers.device_id, &headers.nonce, expires) {
        return Err(SignatureRejection::Replayed);
    }
    Ok(())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod key_hash_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sign_with_key_hash_matches_sign() {
        let signer = RequestSigner::new(SigningKeyPair::from_seed(&[7u8; 32]));
        for (body, api_key) in [
            (&b""[..], ""),
            (&b"{\"question\":\"q\"}"[..], "hs_cli_guard0001"),
        ] {
            let request = RequestParts {
                method: "POST",
                path_and_query: "/api/v1/help?x=1",
                body,
                api_key,
            };
            let nonce = Nonce::from_bytes([9u8; 16]);
            let hash = ApiKeyHash::of(api_key);
            assert_eq!(hash.as_str(), sha256_hex(api_key.as_bytes()));
            assert_eq!(
                canonical_text_with_key_hash(&request, &hash, 1_700_000_000_000, &nonce),
                canonical_text(&request, 1_700_000_000_000, &nonce)
            );
            let plain = signer.sign_at(&request, 1_700_000_000_000, nonce);
            let hashed = signer.sign_at_with_key_hash(&request, &hash, 1_700_000_000_000, nonce);
            assert_eq!(plain, hashed);
            let now = signer.sign_with_key_hash(&request, &hash);
            let mut nonces = MemoryNonceStore::new();
            let key = signer.public_key();
            verify(
                &now,
                &key,
                &request,
                now.timestamp_ms,
                VerifyWindow::default(),
                &mut nonces,
            )
            .unwrap();
        }
        assert!(!format!("{:?}", ApiKeyHash::of("secret")).contains("secret"));
    }

    #[test]
    fn random_batch_is_distinct() {
        let nonces = Nonce::random_batch::<130>();
        let distinct: std::collections::HashSet<_> = nonces.iter().collect();
        assert_eq!(distinct.len(), 130);
    }
}
