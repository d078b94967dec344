//! What asking is configured with and what it returns: [`EncryptionPolicy`], [`AskOptions`],
//! [`Answer`] and [`Approval`]. Shared by the asking calls and the [`super::Conversation`]
//! handle, so neither depends on the other for them.

use std::time::Duration;

use serde_json::Value;

use super::WaitOptions;
use super::message::ConversationMessage;
#[cfg(doc)]
use crate::Error;
use crate::wire::{ApprovalDecision, RefCode, RequestId};

/// Whether questions are sealed so that the server cannot read them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncryptionPolicy {
    /// Never send anything the server could read: questions are sealed to the expert's pinned
    /// keys, follow-ups are encrypted; without published keys the call fails with
    /// [`Error::EncryptionUnavailable`] before anything is sent.
    Required,
    /// Seal when the expert has published keys; otherwise use the HeySummon-compatible flow (the
    /// question in plaintext, replies encrypted once the expert exchanged keys). A pinned expert
    /// whose keys disappear is refused ([`Error::ExpertKeyChanged`]), never silently downgraded.
    #[default]
    Preferred,
    /// Never seal: the question goes in plaintext (replies are still decrypted when encrypted).
    Off,
}

/// Which decisions on an approval the agent acts on (PROTOCOL H4). Denials always count: acting
/// on a denial is safe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecisionTrust {
    /// An approval counts only when the expert signed it, with the key pinned for the request,
    /// over the request, the decision and the action asked about.
    RequireSigned,
    /// As `RequireSigned` for sealed requests (the expert's keys are pinned); for plaintext
    /// requests (an expert without published keys when the agent asked, HeySummon v1), whose
    /// expert keys were never pinned, the server's word counts, as it did for HeySummon. Once
    /// a key store has pinned an expert, its questions are always sealed.
    #[default]
    SignedWhenSealed,
    /// The server's word counts (HeySummon v1 experts without keys); a signature that is
    /// present must still verify.
    AcceptServerAttested,
}

/// Options of one ask, approval or notification. Start from [`AskOptions::new`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct AskOptions {
    /// Conversation context (usually `{"role", "content"}` objects). With a sealed question it
    /// is sealed together with the question, as text after it.
    pub context: Vec<Value>,
    /// Makes creation idempotent: asking again with the same key (after a crash, say) returns the
    /// same request instead of paging the human twice. Default: a random UUID per call.
    pub idempotency_key: Option<String>,
    /// How to wait for the answer.
    pub wait: WaitOptions,
    /// The action an approval asks about (any JSON: the tool and its arguments). The expert's
    /// signed decision is bound to its hash; sealed, it travels inside the sealed question.
    pub action: Option<Value>,
}

impl AskOptions {
    /// Default options: no context, a fresh idempotency key, [`WaitOptions::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds conversation context.
    #[must_use]
    pub fn with_context(mut self, context: Vec<Value>) -> Self {
        self.context = context;
        self
    }

    /// Sets the action an approval asks about (`null` is no action).
    #[must_use]
    pub fn with_action(mut self, action: Value) -> Self {
        self.action = Some(action).filter(|action| !action.is_null());
        self
    }

    /// Sets the idempotency key (at most 255 characters).
    #[must_use]
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Gives up waiting after `timeout` ([`Error::Timeout`]).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.wait.timeout = Some(timeout);
        self
    }

    /// Sets how to wait.
    #[must_use]
    pub fn with_wait(mut self, wait: WaitOptions) -> Self {
        self.wait = wait;
        self
    }
}

/// The expert's answer to a question.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Answer {
    /// The answer's text (the expert's latest message).
    pub text: String,
    /// Whether the answer came end-to-end encrypted and signed by the expert's key (`false`
    /// for a plaintext reply, which the server could read and alter).
    pub end_to_end: bool,
    /// The request.
    pub request_id: RequestId,
    /// Its reference code, for people.
    pub ref_code: RefCode,
    /// The whole conversation, oldest first, decrypted.
    pub conversation: Vec<ConversationMessage>,
}

/// An expert's decision on an approval request. Only ever produced by an explicit decision.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Approval {
    /// Approved or denied.
    pub decision: ApprovalDecision,
    /// The request.
    pub request_id: RequestId,
    /// Its reference code.
    pub ref_code: RefCode,
    /// The expert's latest text message, if the expert wrote one.
    pub comment: Option<String>,
    /// Whether the expert signed the decision with the key pinned for this request, over this
    /// request and its action (PROTOCOL H4): then not even the server could have forged it.
    pub signed: bool,
}

impl Approval {
    /// `true` only for an explicit approval.
    pub fn is_approved(&self) -> bool {
        self.decision == ApprovalDecision::Approved
    }
}
