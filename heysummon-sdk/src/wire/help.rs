//! Creating a help request and following it: `POST /api/v1/help`, `GET /api/v1/help/:id` and
//! `POST /api/v1/help/:id/timeout`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ApprovalDecision, EncryptedPayload, RefCode, RequestId, Status, Timestamp};

/// The request header that makes `POST /help` idempotent (PROTOCOL B2): a repeat with the same
/// key and client returns the original response.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// The longest accepted `Idempotency-Key` value, in characters.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The longest long-poll a server holds open for `GET /help/:id?wait=N`, in seconds (B1).
pub const MAX_WAIT_SECS: u64 = 50;

/// The body of `POST /api/v1/help`.
///
/// The client key travels in the body (`apiKey`) and is redacted from `Debug` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreateHelpRequest {
    /// The client key; authenticates this call (the `x-api-key` header is ignored here).
    pub api_key: String,
    /// The consumer's Ed25519 public key for this request, hex of DER SPKI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_public_key: Option<String>,
    /// The consumer's X25519 public key for this request, hex of DER SPKI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypt_public_key: Option<String>,
    /// Legacy RSA public key (PEM), accepted instead of the two keys above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The question in plaintext (at most 50 000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// Conversation context, at most 200 items of any JSON (usually `{role, content}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<serde_json::Value>>,
    /// Keep only the last N of `messages` (0–1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_count: Option<u32>,
    /// The expert must approve or deny (default `false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_approval: Option<bool>,
    /// `false` makes this a notification that expects no answer (default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_required: Option<bool>,
    /// A short preview for notification channels (at most 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_preview: Option<String>,
    /// The question sealed to the expert's published keys (B3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_question: Option<EncryptedPayload>,
    /// The expert fingerprint the client pinned when it sealed the question (B3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expert_fingerprint: Option<String>,
    /// The action an approval request asks about: any JSON, usually the tool and its
    /// arguments (H4). A sealed request carries it inside the sealed plaintext instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<serde_json::Value>))]
    pub action: Option<serde_json::Value>,
    /// The [`crate::decision::action_hash`] of the action: with `action`, optional (checked);
    /// for a sealed question, whose action is inside the sealed plaintext, the only way the
    /// expert's signed decision is bound to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub action_hash: Option<String>,
}

impl CreateHelpRequest {
    /// A request authenticated by `api_key`, carrying the consumer's per-request public keys
    /// (lowercase hex of DER SPKI). Add the content with the `with_*` methods.
    pub fn new(
        api_key: impl Into<String>,
        sign_public_key: impl Into<String>,
        encrypt_public_key: impl Into<String>,
    ) -> Self {
        Self {
            api_key: api_key.into(),
            sign_public_key: Some(sign_public_key.into()),
            encrypt_public_key: Some(encrypt_public_key.into()),
            public_key: None,
            question: None,
            messages: None,
            message_count: None,
            requires_approval: None,
            response_required: None,
            question_preview: None,
            sealed_question: None,
            expert_fingerprint: None,
            action: None,
            action_hash: None,
        }
    }

    /// Sets the action an approval request asks about (H4); the expert's signed decision is
    /// bound to its [`crate::decision::action_hash`].
    #[must_use]
    pub fn with_action(mut self, action: serde_json::Value) -> Self {
        self.action = Some(action);
        self
    }

    /// Sets only the action's hash: for a sealed question, which carries the action inside its
    /// sealed plaintext.
    #[must_use]
    pub fn with_action_hash(mut self, hash: impl Into<String>) -> Self {
        self.action_hash = Some(hash.into());
        self
    }

    /// Sets the plaintext question.
    #[must_use]
    pub fn with_question(mut self, question: impl Into<String>) -> Self {
        self.question = Some(question.into());
        self
    }

    /// Sets the conversation context.
    #[must_use]
    pub fn with_messages(mut self, messages: Vec<serde_json::Value>) -> Self {
        self.messages = Some(messages);
        self
    }

    /// Asks the server to keep only the last `count` context messages.
    #[must_use]
    pub fn with_message_count(mut self, count: u32) -> Self {
        self.message_count = Some(count);
        self
    }

    /// Sets the preview shown by notification channels.
    #[must_use]
    pub fn with_question_preview(mut self, preview: impl Into<String>) -> Self {
        self.question_preview = Some(preview.into());
        self
    }

    /// Makes this an approval request: the expert approves or denies.
    #[must_use]
    pub fn requiring_approval(mut self) -> Self {
        self.requires_approval = Some(true);
        self
    }

    /// Makes this a notification: the expert acknowledges, nobody answers.
    #[must_use]
    pub fn as_notification(mut self) -> Self {
        self.response_required = Some(false);
        self
    }

    /// Attaches a question sealed to the expert's published keys and the fingerprint of those
    /// keys as the client pinned it (B3).
    #[must_use]
    pub fn with_sealed_question(
        mut self,
        sealed: EncryptedPayload,
        expert_fingerprint: impl Into<String>,
    ) -> Self {
        self.sealed_question = Some(sealed);
        self.expert_fingerprint = Some(expert_fingerprint.into());
        self
    }

    /// Whether this is an approval request (`requiresApproval`, default `false`).
    pub fn approval_requested(&self) -> bool {
        self.requires_approval.unwrap_or(false)
    }

    /// Whether an answer is expected (`responseRequired`, default `true`).
    pub fn response_expected(&self) -> bool {
        self.response_required.unwrap_or(true)
    }
}

impl fmt::Debug for CreateHelpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateHelpRequest")
            .field("api_key", &"[redacted]")
            .field("sign_public_key", &self.sign_public_key)
            .field("encrypt_public_key", &self.encrypt_public_key)
            .field("public_key", &self.public_key)
            .field("question", &self.question)
            .field("messages", &self.messages)
            .field("message_count", &self.message_count)
            .field("requires_approval", &self.requires_approval)
            .field("response_required", &self.response_required)
            .field("question_preview", &self.question_preview)
            .field("sealed_question", &self.sealed_question)
            .field("expert_fingerprint", &self.expert_fingerprint)
            .finish()
    }
}

/// The answer to `POST /api/v1/help`: the request was created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreateHelpResponse {
    /// The new request.
    pub request_id: RequestId,
    /// Its reference code for people.
    pub ref_code: RefCode,
    /// `pending`, or `active` for a sealed question (B3).
    pub status: Status,
    /// When it expires unless it ends earlier.
    pub expires_at: Timestamp,
    /// `false` for a notification; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_required: Option<bool>,
}

/// HeySummon's answer to `POST /help` when the expert is outside their availability window:
/// HTTP 200 with `{"rejected":true,…}` and no request created. Our server never sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HelpRejected {
    /// Always `true`.
    pub rejected: bool,
    /// A machine reason such as `expert_unavailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the expert is available again, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_available_at: Option<Timestamp>,
    /// A sentence for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Any 200 answer to `POST /help`: created, or (HeySummon only) rejected for availability.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum CreateHelpOutcome {
    /// The request was created.
    Created(CreateHelpResponse),
    /// The expert is unavailable; nothing was created.
    Rejected(HelpRejected),
}

/// The answer to `GET /api/v1/help/:id`.
///
/// A request that expired lazily on this read comes back reduced to `requestId`, `refCode` and
/// `status`, hence the optional timestamps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HelpStatusResponse {
    /// The request.
    pub request_id: RequestId,
    /// Its reference code.
    pub ref_code: RefCode,
    /// Its current status.
    pub status: Status,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// The expert's decision on an approval request, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_decision: Option<ApprovalDecision>,
    /// When the expert answered or decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_at: Option<Timestamp>,
    /// The expert's signature over the decision (H4), standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_signature: Option<String>,
    /// When the expert signed the decision: the time in the signed statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    /// A plaintext answer, when one exists (channel replies); encrypted answers are read from
    /// `GET /messages/:id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

/// The answer to `POST /api/v1/help/:id/timeout`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TimeoutResponse {
    /// Always `true` on success.
    pub ok: bool,
    /// What the agent should do now: `proceed_cautiously`, `skip_continue` or `stop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_fallback: Option<String>,
    /// The fallback as an instruction for the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_instruction: Option<String>,
    /// `true` when the timeout had been reported before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub already_timed_out: Option<bool>,
    /// The status, when the request was no longer waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

#[cfg(test)]
mod tests;
