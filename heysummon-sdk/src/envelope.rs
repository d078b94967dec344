//! The end-to-end message envelope of PROTOCOL part C.
//!
//! A message from S to R: `shared = X25519(S.encPriv, R.encPub)`;
//! `key = HKDF-SHA256(ikm = shared, salt = UTF-8 of messageId, info = "heysummon-msg", L = 32)`;
//! a random 12-byte `iv`; AES-256-GCM over the UTF-8 plaintext with no associated data and the
//! 16-byte tag carried separately; `signature = Ed25519(S.signPriv, ciphertext bytes)`. On the
//! wire every binary member is standard base64 with padding.
//!
//! Opening verifies the signature first, then derives and decrypts. Every failure is the one
//! opaque [`Error::Crypto`]; a partial plaintext is never returned.
//!
//! Diffie–Hellman is symmetric, so one [`Channel`] per (local keys, remote keys) serves both
//! directions and computes the shared secret once.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::keys::{PartyKeys, PublicKeys, SignPublicKey, SigningKeyPair};
use crate::wire::{EncryptedPayload, MessageId};

/// The HKDF `info` of every message key.
pub const HKDF_INFO: &[u8] = b"heysummon-msg";
/// Bytes in an AES-GCM nonce (`iv`).
pub const IV_LEN: usize = 12;
/// Bytes in an AES-GCM tag (`authTag`).
pub const TAG_LEN: usize = 16;
/// Bytes in an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Derives the AES-256 key of one message from the shared secret and the message id.
///
/// (HKDF-SHA256 can expand up to 8160 bytes, so the 32 asked for here never fail; the `Result`
/// only keeps a panic out of library code.)
pub fn derive_message_key(
    shared: &[u8; 32],
    message_id: &MessageId,
) -> Result<Zeroizing<[u8; 32]>, Error> {
    let hkdf = Hkdf::<Sha256>::new(Some(message_id.as_str().as_bytes()), shared);
    let mut key = Zeroizing::new([0u8; 32]);
    hkdf.expand(HKDF_INFO, key.as_mut_slice())
        .map_err(|_| Error::Crypto)?;
    Ok(key)
}

/// A two-party channel: our key pairs and the peer's public keys, with the X25519 shared secret
/// computed once. Seals messages to the peer and opens the peer's messages.
#[derive(Clone)]
pub struct Channel {
    local_sign: SigningKeyPair,
    remote_sign: SignPublicKey,
    shared: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("local_sign", &self.local_sign.public())
            .field("remote_sign", &self.remote_sign)
            .finish_non_exhaustive()
    }
}

impl Channel {
    /// A channel between our key pairs and the peer's public keys.
    ///
    /// Fails with [`Error::InvalidPublicKey`] when the peer's X25519 key is a low-order point (the
    /// shared secret would not depend on our private key).
    pub fn new(local: &PartyKeys, remote: &PublicKeys) -> Result<Self, Error> {
        Ok(Self {
            local_sign: local.sign.clone(),
            remote_sign: remote.sign,
            shared: local.encrypt.agree(&remote.encrypt)?,
        })
    }

    /// The peer's signing key, which every opened message was verified against.
    pub fn remote_sign_key(&self) -> &SignPublicKey {
        &self.remote_sign
    }

    /// Seals a message to the peer with a fresh random `iv`. Without a `message_id` a random
    /// UUID v4 is used.
    pub fn seal(
        &self,
        plaintext: &str,
        message_id: Option<MessageId>,
    ) -> Result<EncryptedPayload, Error> {
        let mut iv = [0u8; IV_LEN];
        OsRng.fill_bytes(&mut iv);
        self.seal_with_iv(plaintext, message_id.unwrap_or_else(MessageId::random), iv)
    }

    /// Seals with a caller-chosen `iv`: deterministic, for known-answer tests.
    ///
    /// Never reuse an (`iv`, `message_id`) pair on one channel: AES-GCM loses both
    /// confidentiality and integrity under a repeated key and nonce. [`Channel::seal`] picks a
    /// random `iv` for you.
    pub fn seal_with_iv(
        &self,
        plaintext: &str,
        message_id: MessageId,
        iv: [u8; IV_LEN],
    ) -> Result<EncryptedPayload, Error> {
        let key = derive_message_key(&self.shared, &message_id)?;
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| Error::Crypto)?;
        let mut buffer = plaintext.as_bytes().to_vec();
        let tag = cipher
            .encrypt_in_place_detached(Nonce::from_slice(&iv), b"", &mut buffer)
            .map_err(|_| Error::Crypto)?;
        let signature = self.local_sign.sign(&buffer);
        Ok(EncryptedPayload {
            ciphertext: BASE64.encode(&buffer),
            iv: BASE64.encode(iv),
            auth_tag: BASE64.encode(tag),
            signature: BASE64.encode(signature),
            message_id,
        })
    }

    /// Opens a message from the peer: verifies the Ed25519 signature over the ciphertext with
    /// the peer's signing key, then derives the key and decrypts.
    ///
    /// Any failure (malformed base64, wrong lengths, a bad signature, the wrong keys, an altered
    /// ciphertext, iv, tag or message id, a plaintext that is not UTF-8) is [`Error::Crypto`].
    pub fn open(&self, payload: &EncryptedPayload) -> Result<String, Error> {
        let ciphertext = BASE64
            .decode(&payload.ciphertext)
            .map_err(|_| Error::Crypto)?;
        let iv: [u8; IV_LEN] = decode_fixed(&payload.iv)?;
        let tag: [u8; TAG_LEN] = decode_fixed(&payload.auth_tag)?;
        let signature: [u8; SIGNATURE_LEN] = decode_fixed(&payload.signature)?;

        if !self.remote_sign.verify(&ciphertext, &signature) {
            return Err(Error::Crypto);
        }

        let key = derive_message_key(&self.shared, &payload.message_id)?;
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| Error::Crypto)?;
        let mut buffer = Zeroizing::new(ciphertext);
        cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&iv),
                b"",
                &mut buffer,
                Tag::from_slice(&tag),
            )
            .map_err(|_| Error::Crypto)?;
        String::from_utf8(std::mem::take(&mut *buffer)).map_err(|_| Error::Crypto)
    }
}

fn decode_fixed<const N: usize>(text: &str) -> Result<[u8; N], Error> {
    let bytes = BASE64.decode(text).map_err(|_| Error::Crypto)?;
    bytes.try_into().map_err(|_| Error::Crypto)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Channel, Channel) {
        let a = PartyKeys::generate();
        let b = PartyKeys::generate();
        (
            Channel::new(&a, &b.public()).unwrap(),
            Channel::new(&b, &a.public()).unwrap(),
        )
    }

    #[test]
    fn round_trip_both_directions() {
        let (a, b) = pair();
        let to_b = a.seal("hello", None).unwrap();
        assert_eq!(b.open(&to_b).unwrap(), "hello");
        let to_a = b.seal("", Some(MessageId::new("m-1"))).unwrap();
        assert_eq!(to_a.message_id.as_str(), "m-1");
        assert_eq!(a.open(&to_a).unwrap(), "");
    }

    #[test]
    fn sender_cannot_open_as_if_from_peer() {
        // A message we sealed is signed by us, not by the peer: it must not open on our side.
        let (a, _b) = pair();
        let sealed = a.seal("echo", None).unwrap();
        assert!(matches!(a.open(&sealed), Err(Error::Crypto)));
    }

    #[test]
    fn low_order_peer_key_is_refused() {
        let local = PartyKeys::generate();
        let mut remote = PartyKeys::generate().public();
        remote.encrypt = crate::keys::EncryptPublicKey::from_raw([0u8; 32]).unwrap();
        let err = Channel::new(&local, &remote).unwrap_err();
        assert!(err.to_string().contains("weak"), "{err}");
    }

    #[test]
    fn malformed_members_are_opaque_failures() {
        let (a, b) = pair();
        let good = a.seal("x", None).unwrap();
        let mut bad_b64 = good.clone();
        bad_b64.iv = "%%%".into();
        let mut short_tag = good.clone();
        short_tag.auth_tag = BASE64.encode([0u8; 8]);
        let mut short_sig = good;
        short_sig.signature = BASE64.encode([0u8; 63]);
        for payload in [bad_b64, short_tag, short_sig] {
            let err = b.open(&payload).unwrap_err();
            assert_eq!(err.to_string(), "message could not be authenticated");
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let (a, _) = pair();
        let shown = format!("{a:?}");
        assert!(shown.starts_with("Channel"));
        assert!(!shown.contains("shared"));
    }
}
