//! End-to-end encryption for agents without cryptography.
//!
//! An agent that sends a plaintext `POST /api/v1/help` without keys of its own gets the Rust
//! SDK's treatment: the guard makes the per-request keys (kept in its key store, so answers can
//! still be opened after a restart), seals the question to the expert's pinned key when the
//! expert has published keys (PROTOCOL B3), and signs. `GET /api/v1/messages/:id` through the
//! guard gains `plaintext` for every message it could verify and decrypt, and a consumer's
//! plaintext follow-up on such a request is encrypted on the way out.
//!
//! Agents that bring their own keys (or a `sealedQuestion`) are left alone: their requests are
//! proxied unchanged.
//!
//! The work is done by [`heysummon_sdk::Client`], so the guard and the SDK share one
//! implementation of keys, sealing, pinning, idempotent creation and waiting.

use std::sync::Arc;

use bytes::Bytes;
use heysummon_sdk::client::{Content, Conversation};
use heysummon_sdk::keys::{
    ED25519_SPKI_PREFIX, PublicKeys, SPKI_LEN, SigningKeyPair, X25519_SPKI_PREFIX,
};
use heysummon_sdk::keystore::{FileKeyStore, KeyStore, MemoryKeyStore};
use heysummon_sdk::wire::{MessageId, MessagesResponse, RequestId};
use heysummon_sdk::{Client, EncryptionPolicy};
use serde_json::{Map, Value, json};

use crate::ask::{AskError, Asker, Deadlines};
use crate::config::Config;
use crate::error::Error;
use crate::response::Refusal;
use crate::tls::Trust;

/// The guard's SDK clients (the guard's API key, device key and key store) and the ask core
/// over them.
#[derive(Clone, Debug)]
pub struct E2e {
    asker: Asker,
}

impl E2e {
    /// A client for the configured upstream, signing with `device_key`, keeping per-request keys
    /// in `config.key_store_dir` (in memory when it is `None`), trusting what
    /// [`Trust::load`] makes of `config`.
    ///
    /// # Errors
    /// [`Error::Config`] when the key store cannot be opened, the CA file is not usable or the
    /// client cannot be made; [`Error::Io`] when the CA file cannot be read.
    pub fn new(config: &Config, device_key: SigningKeyPair) -> Result<Self, Error> {
        Self::with_key_store(
            config,
            device_key,
            open_key_store(config)?,
            &Trust::load(config)?,
            Deadlines::new(),
        )
    }

    /// A client like [`E2e::new`]'s over a key store opened before (see [`open_key_store`]),
    /// which several clients may share: every client that serves the same agents must see the
    /// same per-request keys and pins, or a request made through one could not be followed
    /// through another. Likewise the callers' `deadlines`. The clients trust what `trust`
    /// trusts, as the proxy's upstream does.
    ///
    /// # Errors
    /// [`Error::Config`] when the client cannot be made.
    pub fn with_key_store(
        config: &Config,
        device_key: SigningKeyPair,
        key_store: Arc<dyn KeyStore>,
        trust: &Trust,
        deadlines: Deadlines,
    ) -> Result<Self, Error> {
        let client =
            |policy| build_client(config, device_key.clone(), key_store.clone(), trust, policy);
        let asker = Asker::new(client(EncryptionPolicy::Preferred)?)
            .with_strict_client(client(EncryptionPolicy::Required)?)
            .with_safety(config.safety)
            .with_deadlines(deadlines);
        Ok(Self { asker })
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        self.asker.client()
    }

    /// The ask core over the guard's clients.
    pub fn asker(&self) -> &Asker {
        &self.asker
    }

    /// `POST /api/v1/message/:id` from the consumer in plaintext, on a request the guard holds
    /// keys for: sent encrypted (when the expert's keys are known). `None` to forward as is.
    ///
    /// # Errors
    /// A [`Refusal`] with the server's answer or the reason.
    pub async fn send(
        &self,
        id: &RequestId,
        object: &Map<String, Value>,
    ) -> Result<Option<Value>, Refusal> {
        let from_consumer = object.get("from").and_then(Value::as_str) == Some("consumer");
        let (Some(text), false) = (
            object.get("plaintext").and_then(Value::as_str),
            object.contains_key("ciphertext"),
        ) else {
            return Ok(None);
        };
        if !from_consumer {
            return Ok(None);
        }
        let Some(conversation) = self.lookup(id)? else {
            return Ok(None);
        };
        let message_id = match object.get("messageId") {
            None | Some(Value::Null) => MessageId::random(),
            Some(Value::String(id)) if !id.is_empty() && id.len() <= 256 => MessageId::new(id),
            Some(_) => {
                return Err(AskError::InvalidInput(
                    "messageId must be a string of 1 to 256 characters".into(),
                )
                .into());
            }
        };
        let message_id = conversation.send_with_id(text, message_id).await?;
        Ok(Some(json!({ "success": true, "messageId": message_id })))
    }

    /// The conversation of a request the guard created; `None` for any other.
    ///
    /// # Errors
    /// 500 when the key store cannot be read: the guard then forwards nothing, rather than
    /// treating one of its own requests as someone else's (and sending a follow-up in
    /// plaintext).
    pub fn lookup(&self, id: &RequestId) -> Result<Option<Conversation>, Refusal> {
        Ok(self.asker.conversation(id)?)
    }

    /// A `GET /api/v1/messages/:id` answer with `plaintext` added to every message the guard
    /// verified and decrypted; `None` when it has no keys for the request or the answer cannot
    /// be opened (it is then passed on unchanged).
    pub fn open_listing(&self, conversation: &Conversation, body: &[u8]) -> Option<Bytes> {
        let parsed: MessagesResponse = serde_json::from_slice(body).ok()?;
        let mut raw: Value = serde_json::from_slice(body).ok()?;
        let messages = match conversation.open_messages(&parsed) {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(request = %parsed.request_id, %error, "could not open the messages");
                return None;
            }
        };
        let items = raw.get_mut("messages")?.as_array_mut()?;
        if items.len() != messages.len() {
            return None;
        }
        for (item, message) in items.iter_mut().zip(&messages) {
            let Value::Object(item) = item else {
                return None;
            };
            // Only what the guard itself verified: whatever the server wrote there goes.
            item.remove("plaintext");
            item.remove("endToEnd");
            if let Content::Text(text) = &message.content {
                item.insert("plaintext".into(), Value::String(text.clone()));
                item.insert("endToEnd".into(), Value::Bool(message.end_to_end));
            }
        }
        serde_json::to_vec(&raw).ok().map(Bytes::from)
    }
}

/// The key store `config` names: the [`FileKeyStore`] in [`Config::key_store_dir`], or a fresh
/// [`MemoryKeyStore`] when that is `None`.
///
/// # Errors
/// [`Error::Config`] when the folder cannot be opened.
pub fn open_key_store(config: &Config) -> Result<Arc<dyn KeyStore>, Error> {
    Ok(match &config.key_store_dir {
        Some(dir) => Arc::new(FileKeyStore::open(dir).map_err(sdk_error)?),
        None => Arc::new(MemoryKeyStore::new()),
    })
}

/// A client of the guard's with `policy`.
fn build_client(
    config: &Config,
    device_key: SigningKeyPair,
    key_store: Arc<dyn KeyStore>,
    trust: &Trust,
    policy: EncryptionPolicy,
) -> Result<Client, Error> {
    let builder = trust
        .configure_sdk(Client::builder())
        .base_url(config.upstream.to_string())
        .api_key(config.api_key.expose())
        .device_key(device_key)
        .request_timeout(config.limits.upstream_timeout)
        .connect_timeout(config.limits.connect_timeout)
        .encryption(policy)
        .shared_key_store(key_store);
    let builder = match &config.device_token {
        Some(token) => builder.device_token(token.expose()),
        None => builder,
    };
    builder.build().map_err(sdk_error)
}

fn sdk_error(error: heysummon_sdk::Error) -> Error {
    Error::Config(format!("end-to-end client: {error}"))
}

/// Whether the agent did its own cryptography: a sealed question, a legacy key, or keys that
/// parse (an agent that sends placeholders such as `"none"` has none).
pub(crate) fn brings_own_crypto(object: &Map<String, Value>) -> bool {
    if object.contains_key("sealedQuestion") || object.contains_key("publicKey") {
        return true;
    }
    match (
        object.get("signPublicKey").and_then(Value::as_str),
        object.get("encryptPublicKey").and_then(Value::as_str),
    ) {
        // Our clients send lowercase hex of DER SPKI: recognised by its shape, without the
        // point decompression a full parse costs (the expert's side validates the keys fully).
        (Some(sign), Some(encrypt))
            if is_hex_spki(sign, &ED25519_SPKI_PREFIX)
                && is_hex_spki(encrypt, &X25519_SPKI_PREFIX) =>
        {
            true
        }
        (Some(sign), Some(encrypt)) => PublicKeys::parse(sign, encrypt).is_ok(),
        _ => false,
    }
}

/// Whether `text` is the hex of a DER SubjectPublicKeyInfo with this algorithm prefix.
fn is_hex_spki(text: &str, prefix: &[u8; 12]) -> bool {
    let mut der = [0u8; SPKI_LEN];
    text.len() == 2 * SPKI_LEN
        && hex::decode_to_slice(text, &mut der).is_ok()
        && der[..prefix.len()] == prefix[..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_keys_are_recognised_by_shape_and_placeholders_are_not() {
        let keys = heysummon_sdk::keys::PartyKeys::generate().public();
        let with = |sign: &str, encrypt: &str| {
            let mut object = Map::new();
            object.insert("signPublicKey".into(), json!(sign));
            object.insert("encryptPublicKey".into(), json!(encrypt));
            brings_own_crypto(&object)
        };
        assert!(with(&keys.sign.to_hex(), &keys.encrypt.to_hex()));
        assert!(with(&keys.sign.to_pem(), &keys.encrypt.to_base64()));
        assert!(!with("none", "none"));
        // The algorithms swapped: not keys of ours.
        assert!(!with(&keys.encrypt.to_hex(), &keys.sign.to_hex()));
        assert!(!brings_own_crypto(&Map::new()));
    }
}
