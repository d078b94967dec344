//! The signer: a device key that signs requests, now or at a given time and nonce.

use super::canonical::{ApiKeyHash, Nonce, RequestParts, canonical_text_with_key_hash};
use super::headers::SignatureHeaders;
use crate::keys::{SignPublicKey, SigningKeyPair};

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

    /// The device id that goes into [`HEADER_DEVICE`](super::HEADER_DEVICE).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The device's public key, for enrollment.
    pub fn public_key(&self) -> SignPublicKey {
        self.key.public()
    }

    /// Signs a request now, with a fresh nonce.
    pub fn sign(&self, request: &RequestParts<'_>) -> SignatureHeaders {
        self.sign_with_key_hash(request, &ApiKeyHash::of(request.api_key))
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
