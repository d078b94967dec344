//! The verifier: the timestamp window, the nonce store that rejects replays, and the checks of
//! a signed request in their order.

use std::collections::HashMap;

use super::canonical::{Nonce, RequestParts, canonical_text};
use super::headers::SignatureHeaders;
use crate::error::SignatureRejection;
use crate::keys::SignPublicKey;

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
