//! What an agent asks: [`AskInput`], its [`AskKind`] and [`Encryption`] preference, and the
//! checks every front end gets for free ([`AskInput::validate`]).

use std::time::Duration;

use heysummon_sdk::wire::MAX_WAIT_SECS;
use serde_json::Value;

use super::AskError;

/// The longest overall timeout accepted: a year.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// The largest action, in bytes of its JSON (the server's limit).
pub const MAX_ACTION_BYTES: usize = 64 * 1024;
/// How long one call holds by default before it answers "pending": the server's longest
/// long-poll, so that no caller's tool-call timeout is hit.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(MAX_WAIT_SECS);

/// What kind of request is made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AskKind {
    /// A question the expert answers in words.
    #[default]
    Question,
    /// An action the expert approves or denies. Only the expert's explicit approval is ever
    /// [`AskOutcome::Approved`](super::AskOutcome::Approved).
    Approval,
    /// A message the expert is told about; nobody answers it.
    Notification,
}

/// Whether the question must be sealed so that the server cannot read it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encryption {
    /// Sealed when the expert has published keys, else in plaintext (HeySummon-compatible);
    /// once an expert was pinned, never silently downgraded.
    #[default]
    Preferred,
    /// Sealed, or not sent at all ([`AskError::EncryptionUnavailable`]).
    Required,
}

/// One request to a human, independent of how it arrived (HTTP, MCP, the command line).
///
/// ```
/// use std::time::Duration;
/// use heysummon_guard::ask::AskInput;
///
/// let input = AskInput::approval("Drop the orders table?")
///     .with_timeout(Duration::from_secs(600))
///     .with_wait(Duration::from_secs(45));
/// assert!(input.validate().is_ok());
/// ```
///
/// `Debug` shows the sizes of the question and the context, never their text.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct AskInput {
    /// The question, the action to approve or the notification's text. Must not be blank.
    pub question: String,
    /// What kind of request it is.
    pub kind: AskKind,
    /// Conversation context (usually `{"role", "content"}` objects), sealed with the question.
    pub context: Vec<Value>,
    /// The caller's overall deadline, counted from the ask: afterwards a wait without an
    /// answer is [`AskOutcome::Timeout`](super::AskOutcome::Timeout), and an approval stays
    /// timed out for later resumes, whatever is decided after. `None`: the request's own
    /// expiry. From 1 s to [`MAX_TIMEOUT`].
    pub timeout: Option<Duration>,
    /// How long this one call may hold before it answers
    /// [`AskOutcome::Pending`](super::AskOutcome::Pending) (creating the request counts).
    /// Default [`DEFAULT_WAIT`].
    pub wait: Duration,
    /// Whether the question must be sealed.
    pub encryption: Encryption,
    /// Makes creation idempotent: the same key returns the same request instead of paging the
    /// human twice (1 to 255 characters). Default: a fresh key per ask.
    pub idempotency_key: Option<String>,
    /// The action an approval asks about, as JSON (the tool and its arguments): the expert's
    /// signed decision is bound to it (PROTOCOL H4). Approvals only; at most
    /// [`MAX_ACTION_BYTES`] of JSON.
    pub action: Option<Value>,
    /// Set by a front end that already applied the content-safety rules to this very text
    /// (the proxy scans whole bodies), so that it is not scanned and logged twice.
    pub(crate) scanned: bool,
}

impl std::fmt::Debug for AskInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AskInput")
            .field("question_chars", &self.question.chars().count())
            .field("kind", &self.kind)
            .field("context_items", &self.context.len())
            .field("timeout", &self.timeout)
            .field("wait", &self.wait)
            .field("encryption", &self.encryption)
            .field("idempotency_key", &self.idempotency_key)
            .field("action", &self.action.is_some())
            .field("scanned", &self.scanned)
            .finish()
    }
}

impl AskInput {
    /// A request of `kind` with the defaults: no context, no timeout, [`DEFAULT_WAIT`],
    /// [`Encryption::Preferred`], a fresh idempotency key.
    pub fn new(kind: AskKind, question: impl Into<String>) -> Self {
        Self {
            question: question.into(),
            kind,
            context: Vec::new(),
            timeout: None,
            wait: DEFAULT_WAIT,
            encryption: Encryption::Preferred,
            idempotency_key: None,
            action: None,
            scanned: false,
        }
    }

    /// A question ([`AskKind::Question`]).
    pub fn question(question: impl Into<String>) -> Self {
        Self::new(AskKind::Question, question)
    }

    /// An approval request ([`AskKind::Approval`]) for `action`.
    pub fn approval(action: impl Into<String>) -> Self {
        Self::new(AskKind::Approval, action)
    }

    /// A notification ([`AskKind::Notification`]).
    pub fn notification(text: impl Into<String>) -> Self {
        Self::new(AskKind::Notification, text)
    }

    /// Sets the conversation context.
    #[must_use]
    pub fn with_context(mut self, context: Vec<Value>) -> Self {
        self.context = context;
        self
    }

    /// Sets the action an approval asks about.
    #[must_use]
    pub fn with_action(mut self, action: Value) -> Self {
        self.action = Some(action);
        self
    }

    /// Sets the overall timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets how long this call may hold.
    #[must_use]
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Sets the encryption preference.
    #[must_use]
    pub fn with_encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = encryption;
        self
    }

    /// Sets the idempotency key.
    #[must_use]
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Marks the text as already scanned by the caller's content-safety step.
    #[must_use]
    pub(crate) fn already_scanned(mut self) -> Self {
        self.scanned = true;
        self
    }

    /// Checks what can be checked before anything is sent: a question that is not blank, a
    /// timeout from 1 s to [`MAX_TIMEOUT`].
    ///
    /// # Errors
    /// [`AskError::InvalidInput`] saying what is wrong.
    pub fn validate(&self) -> Result<(), AskError> {
        if self.question.trim().is_empty() {
            return Err(AskError::InvalidInput("question is required".into()));
        }
        if let Some(timeout) = self.timeout
            && !(Duration::from_secs(1)..=MAX_TIMEOUT).contains(&timeout)
        {
            return Err(AskError::InvalidInput(
                "timeout must be from 1 second to 365 days".into(),
            ));
        }
        if let Some(action) = &self.action {
            if self.kind != AskKind::Approval {
                return Err(AskError::InvalidInput(
                    "action belongs to an approval (requiresApproval: true)".into(),
                ));
            }
            if action.to_string().len() > MAX_ACTION_BYTES {
                return Err(AskError::InvalidInput(
                    "action must be at most 65536 bytes of JSON".into(),
                ));
            }
        }
        Ok(())
    }
}
