//! Messages: `POST /api/v1/message/:id` and `GET /api/v1/messages/:id`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::{
    ApprovalDecision, EncryptedPayload, MessageId, MessageRowId, RefCode, RequestId, Sender,
    Status, Timestamp,
};

/// The value of `iv`, `authTag` and `signature` on a message the server stored as plaintext.
pub const PLAINTEXT_MARKER: &str = "plaintext";

/// The prefix HeySummon puts before the base64 text of plaintext messages that arrived through
/// a notification channel (Telegram, Slack, …).
const CHANNEL_PLAINTEXT_PREFIX: &str = "plaintext:";

/// The body of `POST /api/v1/message/:id`: either `plaintext`, or all five encrypted members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SendMessageRequest {
    /// The sending side; must match the role of the key.
    pub from: Sender,
    /// The text, for a message the server may read (at most 100 000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<String>,
    /// Base64 AES-256-GCM ciphertext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext: Option<String>,
    /// Base64 GCM nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iv: Option<String>,
    /// Base64 GCM tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_tag: Option<String>,
    /// Base64 Ed25519 signature over the ciphertext bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The message id: HKDF salt and per-request deduplication key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    /// An expert's decision on an approval request, sent with the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_decision: Option<ApprovalDecision>,
}

impl SendMessageRequest {
    /// A message the server can read.
    pub fn plaintext(from: Sender, text: impl Into<String>) -> Self {
        Self {
            from,
            plaintext: Some(text.into()),
            ciphertext: None,
            iv: None,
            auth_tag: None,
            signature: None,
            message_id: None,
            approval_decision: None,
        }
    }

    /// An end-to-end encrypted message (PROTOCOL part C).
    pub fn encrypted(from: Sender, payload: EncryptedPayload) -> Self {
        Self {
            from,
            plaintext: None,
            ciphertext: Some(payload.ciphertext),
            iv: Some(payload.iv),
            auth_tag: Some(payload.auth_tag),
            signature: Some(payload.signature),
            message_id: Some(payload.message_id),
            approval_decision: None,
        }
    }

    /// Sets the message id (for a plaintext message; an encrypted one carries its own).
    #[must_use]
    pub fn with_message_id(mut self, message_id: MessageId) -> Self {
        self.message_id = Some(message_id);
        self
    }

    /// Adds an expert's approval decision.
    #[must_use]
    pub fn with_approval_decision(mut self, decision: ApprovalDecision) -> Self {
        self.approval_decision = Some(decision);
        self
    }

    /// The encrypted payload, when all five encrypted members are present.
    pub fn encrypted_payload(&self) -> Option<EncryptedPayload> {
        Some(EncryptedPayload {
            ciphertext: self.ciphertext.clone()?,
            iv: self.iv.clone()?,
            auth_tag: self.auth_tag.clone()?,
            signature: self.signature.clone()?,
            message_id: self.message_id.clone()?,
        })
    }
}

/// The answer to `POST /api/v1/message/:id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SendMessageResponse {
    /// Always `true` on success.
    pub success: bool,
    /// The message id, chosen by the sender or by the server.
    pub message_id: MessageId,
    /// When the message was stored; absent for a duplicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// `true` when this `messageId` was already stored on the request and nothing happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<bool>,
}

/// The answer to `GET /api/v1/messages/:id`: the keys of both sides and the messages, oldest
/// first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessagesResponse {
    /// The request.
    pub request_id: RequestId,
    /// Its reference code.
    pub ref_code: RefCode,
    /// Its current status.
    pub status: Status,
    /// The consumer's Ed25519 public key.
    /// (Always written, `null` when unset, as HeySummon does.)
    #[serde(default)]
    pub consumer_sign_pub_key: Option<String>,
    /// The consumer's X25519 public key.
    /// (Always written, `null` when unset, as HeySummon does.)
    #[serde(default)]
    pub consumer_encrypt_pub_key: Option<String>,
    /// The expert's Ed25519 public key, once exchanged.
    /// (Always written, `null` when unset, as HeySummon does.)
    #[serde(default)]
    pub expert_sign_pub_key: Option<String>,
    /// The expert's X25519 public key, once exchanged.
    /// (Always written, `null` when unset, as HeySummon does.)
    #[serde(default)]
    pub expert_encrypt_pub_key: Option<String>,
    /// The messages, oldest first.
    pub messages: Vec<MessageItem>,
    /// When the request expires.
    pub expires_at: Timestamp,
    /// The action an approval request asks about (H4), when the server holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<serde_json::Value>))]
    pub action: Option<serde_json::Value>,
    /// The action's hash (H4), which the expert's signed decision covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub action_hash: Option<String>,
}

/// One stored message as `GET /messages/:id` lists it. Use [`MessageItem::kind`] to tell an
/// encrypted message from a plaintext one or an approval marker.
///
/// The encrypted members are optional because HeySummon lists messages that arrived through a
/// notification channel with only `plaintext`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessageItem {
    /// The stored row.
    pub id: MessageRowId,
    /// Who sent it.
    pub from: Sender,
    /// Base64 ciphertext; base64 of the text for plaintext; `approved`/`denied` for a marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext: Option<String>,
    /// Base64 GCM nonce, [`PLAINTEXT_MARKER`], or empty for a marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iv: Option<String>,
    /// Base64 GCM tag, [`PLAINTEXT_MARKER`], or empty for a marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_tag: Option<String>,
    /// Base64 Ed25519 signature, [`PLAINTEXT_MARKER`], or empty for a marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The sender's message id.
    pub message_id: MessageId,
    /// When it was stored.
    pub created_at: Timestamp,
    /// The text of a plaintext message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<String>,
}

/// What a [`MessageItem`] holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// An end-to-end encrypted message, to be verified and opened with the sender's keys.
    Encrypted(EncryptedPayload),
    /// A message the server could read; it is not authenticated end to end.
    Plaintext(String),
    /// The record of an approval decision (also reported by `GET /help/:id`).
    ApprovalMarker(ApprovalDecision),
}

impl MessageItem {
    /// An encrypted item, as a server lists it.
    pub fn encrypted(
        id: MessageRowId,
        from: Sender,
        payload: EncryptedPayload,
        created_at: Timestamp,
    ) -> Self {
        Self {
            id,
            from,
            ciphertext: Some(payload.ciphertext),
            iv: Some(payload.iv),
            auth_tag: Some(payload.auth_tag),
            signature: Some(payload.signature),
            message_id: payload.message_id,
            created_at,
            plaintext: None,
        }
    }

    /// A plaintext item, as a server lists it: the markers, base64 of the text, and the text.
    pub fn plaintext(
        id: MessageRowId,
        from: Sender,
        message_id: MessageId,
        text: impl Into<String>,
        created_at: Timestamp,
    ) -> Self {
        let text = text.into();
        Self {
            id,
            from,
            ciphertext: Some(STANDARD.encode(text.as_bytes())),
            iv: Some(PLAINTEXT_MARKER.to_owned()),
            auth_tag: Some(PLAINTEXT_MARKER.to_owned()),
            signature: Some(PLAINTEXT_MARKER.to_owned()),
            message_id,
            created_at,
            plaintext: Some(text),
        }
    }

    /// An approval marker from the expert: the decision as `ciphertext`, the rest empty.
    pub fn approval_marker(
        id: MessageRowId,
        decision: ApprovalDecision,
        message_id: MessageId,
        created_at: Timestamp,
    ) -> Self {
        Self {
            id,
            from: Sender::Expert,
            ciphertext: Some(decision.as_str().to_owned()),
            iv: Some(String::new()),
            auth_tag: Some(String::new()),
            signature: Some(String::new()),
            message_id,
            created_at,
            plaintext: None,
        }
    }

    /// Classifies the item; `None` when it fits none of the three forms (missing members, or a
    /// plaintext item whose text is neither given nor valid base64 of UTF-8).
    pub fn kind(&self) -> Option<MessageKind> {
        let iv = self.iv.as_deref();
        if iv == Some(PLAINTEXT_MARKER) || (self.ciphertext.is_none() && self.plaintext.is_some()) {
            return self.plaintext_text().map(MessageKind::Plaintext);
        }
        let ciphertext = self.ciphertext.as_deref()?;
        let auth_tag = self.auth_tag.as_deref().unwrap_or_default();
        let signature = self.signature.as_deref().unwrap_or_default();
        if iv.unwrap_or_default().is_empty() && auth_tag.is_empty() && signature.is_empty() {
            return match ciphertext {
                "approved" => Some(MessageKind::ApprovalMarker(ApprovalDecision::Approved)),
                "denied" => Some(MessageKind::ApprovalMarker(ApprovalDecision::Denied)),
                _ => None,
            };
        }
        let payload = EncryptedPayload {
            ciphertext: ciphertext.to_owned(),
            iv: self.iv.clone()?,
            auth_tag: self.auth_tag.clone()?,
            signature: self.signature.clone()?,
            message_id: self.message_id.clone(),
        };
        // The ciphertext of an empty plaintext is empty; iv, tag and signature never are.
        let complete = [&payload.iv, &payload.auth_tag, &payload.signature]
            .iter()
            .all(|member| !member.is_empty());
        complete.then_some(MessageKind::Encrypted(payload))
    }

    /// The text of a plaintext item: the `plaintext` member, else the base64 `ciphertext`
    /// decoded (with or without HeySummon's `plaintext:` prefix).
    fn plaintext_text(&self) -> Option<String> {
        if let Some(text) = &self.plaintext {
            return Some(text.clone());
        }
        let encoded = self.ciphertext.as_deref()?;
        let encoded = encoded
            .strip_prefix(CHANNEL_PLAINTEXT_PREFIX)
            .unwrap_or(encoded);
        let bytes = STANDARD.decode(encoded).ok()?;
        String::from_utf8(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn payload() -> EncryptedPayload {
        EncryptedPayload {
            ciphertext: "rhnmoFnW4+fVDSYA".into(),
            iv: "AAECAwQFBgcICQoL".into(),
            auth_tag: "3IEnij4DQoKOuMLKJFCmww==".into(),
            signature: "pceKXHaHX2lvZFlY+36gvsNEAto4dECpZhr9UDz5sLbCWSbLms9sVwm9OUtb1rC8QzMUu/fdr+jxsEyJBb4IDA==".into(),
            message_id: MessageId::new("00000000-0000-4000-8000-000000000000"),
        }
    }

    #[test]
    fn send_request_constructors_round_trip() {
        let plain = SendMessageRequest::plaintext(Sender::Consumer, "Hello expert");
        let json = serde_json::to_string(&plain).unwrap();
        assert_eq!(json, r#"{"from":"consumer","plaintext":"Hello expert"}"#);
        assert_eq!(
            serde_json::from_str::<SendMessageRequest>(&json).unwrap(),
            plain
        );
        assert_eq!(plain.encrypted_payload(), None);

        let sealed = SendMessageRequest::encrypted(Sender::Expert, payload())
            .with_approval_decision(ApprovalDecision::Denied);
        let value = serde_json::to_value(&sealed).unwrap();
        assert_eq!(value["authTag"], "3IEnij4DQoKOuMLKJFCmww==");
        assert_eq!(value["messageId"], "00000000-0000-4000-8000-000000000000");
        assert_eq!(value["approvalDecision"], "denied");
        let back: SendMessageRequest = serde_json::from_value(value).unwrap();
        assert_eq!(back, sealed);
        assert_eq!(back.encrypted_payload(), Some(payload()));
    }

    #[test]
    fn send_request_with_nulls_and_extras() {
        let json = r#"{"from":"expert","plaintext":"ok","ciphertext":null,"messageId":null,"approvalDecision":null,"extra":1}"#;
        let request: SendMessageRequest = serde_json::from_str(json).unwrap();
        assert_eq!(request, SendMessageRequest::plaintext(Sender::Expert, "ok"));
    }

    #[test]
    fn golden_send_responses() {
        let stored: SendMessageResponse = serde_json::from_str(
            r#"{"success":true,"messageId":"m-1","createdAt":"2026-04-25T19:56:45.123Z"}"#,
        )
        .unwrap();
        assert_eq!(stored.created_at, Some(ts("2026-04-25T19:56:45.123Z")));
        assert_eq!(stored.duplicate, None);
        let duplicate: SendMessageResponse =
            serde_json::from_str(r#"{"success":true,"messageId":"m-1","duplicate":true}"#).unwrap();
        assert_eq!(duplicate.duplicate, Some(true));
        assert_eq!(
            serde_json::to_string(&duplicate).unwrap(),
            r#"{"success":true,"messageId":"m-1","duplicate":true}"#
        );
    }

    #[test]
    fn golden_messages_response_and_kinds() {
        let json = r#"{"requestId":"cm1","refCode":"HS-7K2QX9LB","status":"responded",
            "consumerSignPubKey":"302a300506032b6570032100aa","consumerEncryptPubKey":"302a300506032b656e032100bb",
            "expertSignPubKey":null,"expertEncryptPubKey":null,
            "messages":[
              {"id":"r1","from":"consumer","ciphertext":"rhnmoFnW4+fVDSYA","iv":"AAECAwQFBgcICQoL","authTag":"3IEnij4DQoKOuMLKJFCmww==","signature":"pceKXHaHX2lvZFlY+36gvsNEAto4dECpZhr9UDz5sLbCWSbLms9sVwm9OUtb1rC8QzMUu/fdr+jxsEyJBb4IDA==","messageId":"00000000-0000-4000-8000-000000000000","createdAt":"2026-04-25T19:56:45.123Z"},
              {"id":"r2","from":"expert","ciphertext":"WWVzLCBnbyBhaGVhZC4=","iv":"plaintext","authTag":"plaintext","signature":"plaintext","messageId":"m2","createdAt":"2026-04-25T19:57:00.000Z","plaintext":"Yes, go ahead."},
              {"id":"r3","from":"expert","ciphertext":"approved","iv":"","authTag":"","signature":"","messageId":"approval-cm1-1777147020000","createdAt":"2026-04-25T19:57:00.000Z"},
              {"id":"r4","from":"expert","plaintext":"from telegram","messageId":"tg-1","createdAt":"2026-04-25T19:58:00.000Z"}
            ],
            "expiresAt":"2026-04-28T19:56:45.123Z"}"#;
        let response: MessagesResponse = serde_json::from_str(json).unwrap();
        assert_eq!(response.status, Status::Responded);
        assert_eq!(response.expert_sign_pub_key, None);
        let kinds: Vec<_> = response.messages.iter().map(MessageItem::kind).collect();
        assert_eq!(
            kinds,
            vec![
                Some(MessageKind::Encrypted(payload())),
                Some(MessageKind::Plaintext("Yes, go ahead.".into())),
                Some(MessageKind::ApprovalMarker(ApprovalDecision::Approved)),
                Some(MessageKind::Plaintext("from telegram".into())),
            ]
        );
        let again: MessagesResponse =
            serde_json::from_value(serde_json::to_value(&response).unwrap()).unwrap();
        assert_eq!(again, response);
    }

    #[test]
    fn plaintext_without_the_member_is_decoded() {
        let mut item = MessageItem::plaintext(
            MessageRowId::new("r"),
            Sender::Expert,
            MessageId::new("m"),
            "Grüße",
            ts("2026-04-25T19:56:45.123Z"),
        );
        assert_eq!(item.ciphertext.as_deref(), Some("R3LDvMOfZQ=="));
        item.plaintext = None;
        assert_eq!(item.kind(), Some(MessageKind::Plaintext("Grüße".into())));
        item.ciphertext = Some("plaintext:R3LDvMOfZQ==".into());
        assert_eq!(item.kind(), Some(MessageKind::Plaintext("Grüße".into())));
        item.ciphertext = Some("not base64!".into());
        assert_eq!(item.kind(), None);
    }

    #[test]
    fn constructors_match_the_wire_forms() {
        let at = ts("2026-04-25T19:56:45.123Z");
        let marker = MessageItem::approval_marker(
            MessageRowId::new("r"),
            ApprovalDecision::Denied,
            MessageId::new("approval-cm1-1"),
            at,
        );
        let value = serde_json::to_value(&marker).unwrap();
        assert_eq!(value["ciphertext"], "denied");
        assert_eq!(value["iv"], "");
        assert_eq!(
            marker.kind(),
            Some(MessageKind::ApprovalMarker(ApprovalDecision::Denied))
        );
        let sealed =
            MessageItem::encrypted(MessageRowId::new("r"), Sender::Consumer, payload(), at);
        assert_eq!(sealed.kind(), Some(MessageKind::Encrypted(payload())));
    }

    #[test]
    fn malformed_items_have_no_kind() {
        let mut item = MessageItem::encrypted(
            MessageRowId::new("r"),
            Sender::Consumer,
            payload(),
            ts("2026-04-25T19:56:45.123Z"),
        );
        item.signature = Some(String::new());
        assert_eq!(item.kind(), None);
        item.signature = None;
        assert_eq!(item.kind(), None);
        item.iv = Some(String::new());
        item.auth_tag = None;
        item.ciphertext = Some("maybe".into());
        assert_eq!(item.kind(), None);
    }
}
