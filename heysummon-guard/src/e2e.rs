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
use std::time::Duration;

use bytes::Bytes;
use heysummon_sdk::client::{AskOptions, Content, Conversation};
use heysummon_sdk::keys::{
    ED25519_SPKI_PREFIX, PublicKeys, SPKI_LEN, SigningKeyPair, X25519_SPKI_PREFIX,
};
use heysummon_sdk::keystore::{FileKeyStore, KeyStore, MemoryKeyStore};
use heysummon_sdk::wire::{IDEMPOTENCY_KEY_HEADER, MessageId, MessagesResponse, RequestId};
use heysummon_sdk::{Client, EncryptionPolicy};
use hyper::StatusCode;
use hyper::header::HeaderMap;
use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::error::Error;
use crate::response::Refusal;

/// The guard's SDK client: the guard's API key, device key and key store.
#[derive(Clone, Debug)]
pub struct E2e {
    client: Client,
}

impl E2e {
    /// A client for the configured upstream, signing with `device_key`, keeping per-request keys
    /// in `config.key_store_dir` (in memory when it is `None`).
    ///
    /// # Errors
    /// [`Error::Config`] when the key store cannot be opened or the client cannot be made.
    pub fn new(config: &Config, device_key: SigningKeyPair) -> Result<Self, Error> {
        Self::with_key_store(config, device_key, open_key_store(config)?)
    }

    /// A client like [`E2e::new`]'s over a key store opened before (see [`open_key_store`]),
    /// which several clients may share: every client that serves the same agents must see the
    /// same per-request keys and pins, or a request made through one could not be followed
    /// through another.
    ///
    /// # Errors
    /// [`Error::Config`] when the client cannot be made.
    pub fn with_key_store(
        config: &Config,
        device_key: SigningKeyPair,
        key_store: Arc<dyn KeyStore>,
    ) -> Result<Self, Error> {
        let builder = Client::builder()
            .base_url(config.upstream.to_string())
            .api_key(config.api_key.expose())
            .device_key(device_key)
            .request_timeout(config.limits.upstream_timeout)
            .connect_timeout(config.limits.connect_timeout)
            .encryption(EncryptionPolicy::Preferred)
            .shared_key_store(key_store);
        let builder = match &config.device_token {
            Some(token) => builder.device_token(token.expose()),
            None => builder,
        };
        Ok(Self {
            client: builder.build().map_err(sdk_error)?,
        })
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `POST /api/v1/help` (already checked for safety and carrying the guard's key): creates
    /// the request through the SDK when the agent brought no keys of its own, and returns the
    /// answer for the agent; `None` to forward the body as it is.
    ///
    /// # Errors
    /// A [`Refusal`] with the server's answer, or with what stopped the guard (a changed expert
    /// key: 409 `EXPERT_KEY_CHANGED`).
    pub async fn create(
        &self,
        headers: &HeaderMap,
        object: &Map<String, Value>,
    ) -> Result<Option<Value>, Refusal> {
        if brings_own_crypto(object) {
            return Ok(None);
        }
        let Some(question) = object.get("question").and_then(Value::as_str) else {
            return Ok(None);
        };
        let mut options = AskOptions::new().with_context(context(object));
        if let Some(key) = headers
            .get(IDEMPOTENCY_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            options = options.with_idempotency_key(key);
        }
        let flag = |name: &str, default: bool| match object.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(value)) => Ok(*value),
            Some(_) => Err(Refusal::new(StatusCode::BAD_REQUEST, "Validation failed")
                .with("details", json!(format!("{name} must be a boolean")))),
        };
        let approval = flag("requiresApproval", false)?;
        let notification = !flag("responseRequired", true)?;
        if approval && notification {
            return Err(
                Refusal::new(StatusCode::BAD_REQUEST, "Validation failed").with(
                    "details",
                    json!(
                        "an approval request needs a response (responseRequired must not be false)"
                    ),
                ),
            );
        }
        let conversation = if notification {
            self.client
                .notify(question, options)
                .await
                .map(|n| n.conversation().clone())
        } else if approval {
            self.client.submit_approval(question, &options).await
        } else {
            self.client.submit(question, &options).await
        }
        .map_err(refusal)?;
        let mut answer = json!({
            "requestId": conversation.request_id(),
            "refCode": conversation.ref_code(),
            "status": if conversation.is_sealed() { "active" } else { "pending" },
            "expiresAt": conversation.expires_at(),
            "sealed": conversation.is_sealed(),
        });
        if notification && let Value::Object(map) = &mut answer {
            map.insert("responseRequired".into(), Value::Bool(false));
        }
        Ok(Some(answer))
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
                return Err(
                    Refusal::new(StatusCode::BAD_REQUEST, "Validation failed").with(
                        "details",
                        json!("messageId must be a string of 1 to 256 characters"),
                    ),
                );
            }
        };
        let message_id = conversation
            .send_with_id(text, message_id)
            .await
            .map_err(refusal)?;
        Ok(Some(json!({ "success": true, "messageId": message_id })))
    }

    /// The conversation of a request the guard created; `None` for any other.
    ///
    /// # Errors
    /// 500 when the key store cannot be read: the guard then forwards nothing, rather than
    /// treating one of its own requests as someone else's (and sending a follow-up in
    /// plaintext).
    pub fn lookup(&self, id: &RequestId) -> Result<Option<Conversation>, Refusal> {
        match self.client.conversation(id) {
            Ok(conversation) => Ok(Some(conversation)),
            Err(heysummon_sdk::Error::UnknownRequest { .. }) => Ok(None),
            Err(error) => Err(refusal(error)),
        }
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

fn sdk_error(error: heysummon_sdk::Error) -> Error {
    Error::Config(format!("end-to-end client: {error}"))
}

/// Whether the agent did its own cryptography: a sealed question, a legacy key, or keys that
/// parse (an agent that sends placeholders such as `"none"` has none).
fn brings_own_crypto(object: &Map<String, Value>) -> bool {
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

/// The context messages, trimmed to the last `messageCount` when given.
fn context(object: &Map<String, Value>) -> Vec<Value> {
    let mut messages = object
        .get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(count) = object.get("messageCount").and_then(Value::as_u64) {
        let keep = usize::try_from(count).unwrap_or(usize::MAX);
        if messages.len() > keep {
            messages.drain(..messages.len() - keep);
        }
    }
    messages
}

/// What an SDK failure means to the agent.
pub(crate) fn refusal(error: heysummon_sdk::Error) -> Refusal {
    use heysummon_sdk::Error as E;
    match error {
        E::Http { status, body, .. } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            match body.and_then(|body| serde_json::to_value(*body).ok()) {
                Some(body) => Refusal { status, body },
                None => Refusal::new(status, "The HeySummon server refused the request"),
            }
        }
        E::ExpertKeyChanged {
            pinned, published, ..
        } => Refusal::new(
            StatusCode::CONFLICT,
            "The expert's key changed since it was pinned; nothing was sent",
        )
        .with("code", json!("EXPERT_KEY_CHANGED"))
        .with("pinned", json!(pinned))
        .with("published", json!(published)),
        E::EncryptionUnavailable(why) => Refusal::new(
            StatusCode::CONFLICT,
            "End-to-end encryption is required but not available; nothing was sent",
        )
        .with("code", json!("ENCRYPTION_UNAVAILABLE"))
        .with("details", json!(why)),
        E::ContentBlocked { flags } => Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            heysummon_sdk::safety::BLOCKED_ERROR,
        )
        .with(
            "flags",
            Value::Array(flags.into_iter().map(|f| json!({ "type": f })).collect()),
        ),
        E::UnknownRequest { .. } => Refusal::new(StatusCode::NOT_FOUND, "Request not found"),
        E::Config { message, .. } => Refusal::new(StatusCode::BAD_REQUEST, "Validation failed")
            .with("details", json!(message)),
        E::Timeout { waited } => Refusal::new(
            StatusCode::GATEWAY_TIMEOUT,
            "The HeySummon server did not answer in time",
        )
        .with("waitedMs", json!(millis(waited))),
        E::Crypto => Refusal::new(
            StatusCode::BAD_GATEWAY,
            "message could not be authenticated",
        ),
        error @ E::KeyStore { .. } => {
            tracing::error!(%error, "key store failure");
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The guard's key store failed",
            )
        }
        E::Network { .. } => Refusal::new(
            StatusCode::BAD_GATEWAY,
            "Could not reach the HeySummon server",
        ),
        other => {
            tracing::warn!(error = %other, "end-to-end step failed");
            Refusal::new(
                StatusCode::BAD_GATEWAY,
                "The request could not be completed",
            )
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
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
