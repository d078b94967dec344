//! Requests, their messages and the writes of the lifecycle.

use heysummon_sdk::wire::{ApprovalDecision, Sender, Status};

use super::NewEvent;
use crate::audit::AuditNote;
use crate::clock::Millis;

/// A help request. `Debug` leaves out the question, the context and the keys.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// Opaque id.
    pub id: String,
    /// `HS-XXXXXXXX`.
    pub ref_code: String,
    /// The client key that created it.
    pub client_key_id: String,
    /// The expert it is routed to.
    pub expert_id: String,
    /// Current status.
    pub status: Status,
    /// Bumped by every lifecycle step (optimistic concurrency).
    pub version: i64,
    /// `false` for notifications.
    pub response_required: bool,
    /// Approval mode.
    pub requires_approval: bool,
    /// The decision, once made.
    pub approval_decision: Option<ApprovalDecision>,
    /// Whether the question was sealed (the server holds only ciphertext).
    pub sealed: bool,
    /// The plaintext question (never for sealed requests).
    pub question: Option<String>,
    /// The plaintext `messages` context, as JSON.
    pub messages_json: Option<String>,
    /// Content-safety flags, as JSON.
    pub content_flags: Option<String>,
    /// Consumer Ed25519 key as sent.
    pub consumer_sign_key: Option<String>,
    /// Consumer X25519 key as sent.
    pub consumer_encrypt_key: Option<String>,
    /// Legacy RSA key as sent.
    pub legacy_public_key: Option<String>,
    /// Expert Ed25519 key (after key exchange or from the published keys).
    pub expert_sign_key: Option<String>,
    /// Expert X25519 key.
    pub expert_encrypt_key: Option<String>,
    /// Creation time.
    pub created_at: Millis,
    /// Expiry time.
    pub expires_at: Millis,
    /// When the status last changed.
    pub status_changed_at: Millis,
    /// When the expert first answered.
    pub responded_at: Option<Millis>,
    /// When it was closed.
    pub closed_at: Option<Millis>,
    /// When a notification was acknowledged.
    pub acknowledged_at: Option<Millis>,
    /// When the client reported a timeout.
    pub client_timed_out_at: Option<Millis>,
    /// When the expert acknowledged it in the pending feed.
    pub expert_delivered_at: Option<Millis>,
    /// When the consumer acknowledged it in the pending feed.
    pub consumer_delivered_at: Option<Millis>,
    /// Time of the newest expert message.
    pub latest_expert_message_at: Option<Millis>,
    /// Number of stored messages.
    pub message_count: u32,
    /// The mark of the newest expert message's event. Marks of one request grow with each of
    /// its events and are only compared with each other: the event's log position on SQLite,
    /// its stamp on PostgreSQL (taken when staged, before the sequencer gives it a position).
    pub last_expert_event: Option<i64>,
    /// The mark of the newest status change's event.
    pub last_status_event: Option<i64>,
    /// The newest mark the consumer acknowledged in its pending feed.
    pub consumer_ack_event: Option<i64>,
    /// The action an approval request asks about (PROTOCOL H4), as JSON.
    pub action_json: Option<String>,
    /// The action's hash (PROTOCOL H4): of `action_json`, or as the agent of a sealed request
    /// gave it.
    pub action_hash: Option<String>,
    /// The expert's signature over its decision, base64 (PROTOCOL H4).
    pub decision_signature: Option<String>,
    /// When the expert signed its decision.
    pub decided_at: Option<Millis>,
    /// Consumer rating 1–5.
    pub rating: Option<u8>,
    /// Consumer feedback.
    pub rating_feedback: Option<String>,
    /// When it was rated.
    pub rated_at: Option<Millis>,
}

impl RequestRecord {
    /// A request as created: `pending` at version 0, expecting a response, without approval,
    /// unsealed, its status changed at creation, no messages, and every optional field empty.
    pub fn new(
        id: String,
        ref_code: String,
        client_key_id: String,
        expert_id: String,
        created_at: Millis,
        expires_at: Millis,
    ) -> Self {
        Self {
            id,
            ref_code,
            client_key_id,
            expert_id,
            status: Status::Pending,
            version: 0,
            response_required: true,
            requires_approval: false,
            approval_decision: None,
            action_json: None,
            action_hash: None,
            decision_signature: None,
            decided_at: None,
            sealed: false,
            question: None,
            messages_json: None,
            content_flags: None,
            consumer_sign_key: None,
            consumer_encrypt_key: None,
            legacy_public_key: None,
            expert_sign_key: None,
            expert_encrypt_key: None,
            created_at,
            expires_at,
            status_changed_at: created_at,
            responded_at: None,
            closed_at: None,
            acknowledged_at: None,
            client_timed_out_at: None,
            expert_delivered_at: None,
            consumer_delivered_at: None,
            latest_expert_message_at: None,
            message_count: 0,
            last_expert_event: None,
            last_status_event: None,
            consumer_ack_event: None,
            rating: None,
            rating_feedback: None,
            rated_at: None,
        }
    }
}

/// A stored message. `Debug` leaves out its content.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Row id (`id` on the wire).
    pub id: String,
    /// The request.
    pub request_id: String,
    /// Who sent it.
    pub sender: Sender,
    /// Base64 ciphertext, base64 of the plaintext, or an approval marker.
    pub ciphertext: String,
    /// Base64 iv, `plaintext`, or empty for markers.
    pub iv: String,
    /// Base64 tag, `plaintext`, or empty for markers.
    pub auth_tag: String,
    /// Base64 signature, `plaintext`, or empty for markers.
    pub signature: String,
    /// The sender's message id.
    pub message_id: String,
    /// The text of a plaintext message.
    pub plaintext: Option<String>,
    /// Creation time.
    pub created_at: Millis,
}

/// An idempotent creation: the client, its key and the response to replay.
#[derive(Clone, Debug)]
pub struct IdempotencyRecord {
    /// The client key.
    pub client_key_id: String,
    /// The `Idempotency-Key` header value.
    pub key: String,
    /// The JSON body of the original response.
    pub response_json: String,
}

/// Everything `create_request` writes.
#[derive(Clone, Debug)]
pub struct NewRequest {
    /// The request row.
    pub request: RequestRecord,
    /// The sealed question, stored as the first consumer message.
    pub first_message: Option<MessageRecord>,
    /// The idempotency record to write with it.
    pub idempotency: Option<IdempotencyRecord>,
    /// The events to append.
    pub events: Vec<NewEvent>,
}

/// The result of `create_request`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The request was created.
    Created,
    /// The idempotency key was used before; this is the original response body.
    Replayed(String),
}
/// The columns a lifecycle step may set. `None` leaves a column as it is.
#[derive(Clone, Debug, Default)]
pub struct RequestPatch {
    /// New status.
    pub status: Option<Status>,
    /// Approval decision.
    pub approval_decision: Option<ApprovalDecision>,
    /// The expert's signature over the decision.
    pub decision_signature: Option<String>,
    /// When the expert signed the decision.
    pub decided_at: Option<Millis>,
    /// Expert Ed25519 key.
    pub expert_sign_key: Option<String>,
    /// Expert X25519 key.
    pub expert_encrypt_key: Option<String>,
    /// First answer time.
    pub responded_at: Option<Millis>,
    /// Close time.
    pub closed_at: Option<Millis>,
    /// Acknowledgement time.
    pub acknowledged_at: Option<Millis>,
    /// Client timeout report time.
    pub client_timed_out_at: Option<Millis>,
    /// Newest expert message time.
    pub latest_expert_message_at: Option<Millis>,
    /// Rating.
    pub rating: Option<u8>,
    /// Rating feedback.
    pub rating_feedback: Option<String>,
    /// Rating time.
    pub rated_at: Option<Millis>,
}

/// One atomic lifecycle step.
#[derive(Clone, Debug)]
pub struct Change {
    /// The request.
    pub request_id: String,
    /// The status the step was planned from.
    pub expected_status: Status,
    /// The version the step was planned from; the step applies only if it is still current.
    pub expected_version: i64,
    /// The new column values.
    pub patch: RequestPatch,
    /// A message to insert (deduplicated by message id on the request).
    pub message: Option<MessageRecord>,
    /// Events to append.
    pub events: Vec<NewEvent>,
    /// Audit entries to append (a decision, the request's end), in the same transaction.
    pub audit: Vec<AuditNote>,
    /// The time of the step.
    pub at: Millis,
}

/// The result of [`Change`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Applied; the request as it is now.
    Applied(Box<RequestRecord>),
    /// The message id was already used on this request; nothing changed.
    DuplicateMessage,
}

/// Which side's pending feed an acknowledgement is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedSide {
    /// The expert's feed.
    Expert,
    /// The consumer's feed.
    Consumer,
}

impl std::fmt::Debug for RequestRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestRecord")
            .field("id", &self.id)
            .field("ref_code", &self.ref_code)
            .field("status", &self.status)
            .field("version", &self.version)
            .field("sealed", &self.sealed)
            .field("response_required", &self.response_required)
            .field("requires_approval", &self.requires_approval)
            .field("approval_decision", &self.approval_decision)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for MessageRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageRecord")
            .field("id", &self.id)
            .field("request_id", &self.request_id)
            .field("sender", &self.sender)
            .field("message_id", &self.message_id)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}
