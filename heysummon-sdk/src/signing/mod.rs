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
//!
//! `canonical.rs` owns the canonical text and what goes into it (nonce, request parts, hashes),
//! `headers.rs` the four headers, `signer.rs` the signer, `verify.rs` the verifier with its window
//! and nonce rules.

mod canonical;
mod headers;
mod signer;
mod verify;

#[cfg(test)]
mod tests;

pub use canonical::{
    ApiKeyHash, Nonce, RequestParts, SIGNATURE_VERSION, canonical_text,
    canonical_text_with_key_hash, sha256_hex,
};
pub use headers::{
    HEADER_API_KEY, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
    SignatureHeaders,
};
pub use signer::RequestSigner;
pub use verify::{MemoryNonceStore, NonceStore, VerifyWindow, verify, verify_without_nonce};
