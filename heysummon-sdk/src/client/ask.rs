//! Asking: [`Client::ask`], [`Client::approval`], [`Client::notify`], [`Client::submit`] and
//! [`Client::resume`].
//!
//! Under the hood of one `ask`: fresh per-request keys; the expert's published keys, checked
//! against the pinned fingerprint; the question sealed to them (PROTOCOL B3); the keys saved in
//! the key store *before* anything is sent, under the idempotency key; `POST /help` with that
//! `Idempotency-Key` (retried safely); the wait; the expert's answer verified and decrypted.

use std::time::Duration;

use serde_json::Value;

use super::conversation::{Content, Conversation, ConversationMessage, consumer_keys_of, key_pair};
use super::{Client, WaitOptions};
use crate::Error;
use crate::envelope::Channel;
use crate::keys::{PartyKeys, PublicKeys};
use crate::keystore::{RequestKind, StoredRequest};
use crate::safety::scan_help_request;
use crate::wire::{
    ApprovalDecision, CreateHelpRequest, ExpertInfo, HelpStatusResponse, MAX_IDEMPOTENCY_KEY_LEN,
    RefCode, RequestId,
};

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
}

impl Approval {
    /// `true` only for an explicit approval.
    pub fn is_approved(&self) -> bool {
        self.decision == ApprovalDecision::Approved
    }
}

/// A notification that was sent (`responseRequired: false`): nobody answers it.
#[derive(Clone, Debug)]
pub struct Notification {
    conversation: Conversation,
}

impl Notification {
    /// The request.
    pub fn request_id(&self) -> &RequestId {
        self.conversation.request_id()
    }

    /// Its reference code.
    pub fn ref_code(&self) -> &RefCode {
        self.conversation.ref_code()
    }

    /// The handle of the underlying request.
    pub fn conversation(&self) -> &Conversation {
        &self.conversation
    }

    /// Marks the notification acknowledged (`POST /acknowledge/:id`; idempotent, retried).
    ///
    /// # Cancel safety
    /// Cancel-safe: acknowledging is idempotent, so calling it again is harmless.
    ///
    /// # Errors
    /// As any call: [`Error::Http`], [`Error::Network`], [`Error::Protocol`].
    pub async fn acknowledge(&self) -> Result<crate::wire::AcknowledgeResponse, Error> {
        let client = self.conversation.client();
        client.inner.acknowledge(self.request_id()).await
    }

    /// Waits until the notification is acknowledged or expires, returning that status.
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// [`Error::Timeout`] at the deadline; otherwise as [`Client::wait`].
    pub async fn wait(&self, options: WaitOptions) -> Result<HelpStatusResponse, Error> {
        self.conversation.wait(options).await
    }
}

impl Client {
    /// Asks the expert `question` and waits for the answer; see [`Client::ask_with`].
    ///
    /// # Cancel safety
    /// Not cancel-safe in itself, but restart-safe: the request's keys are saved in the key store
    /// before it is sent; after a cancellation or a crash, [`Client::resume`] with the request id,
    /// or asking again with the same [`AskOptions::idempotency_key`], picks it up. Give an
    /// idempotency key of your own (say, derived from the task) to be safe also against a crash
    /// between sending and learning the request id: the default key is random and dies with
    /// the process.
    ///
    /// # Errors
    /// As [`Client::ask_with`].
    pub async fn ask(&self, question: impl Into<String>) -> Result<Answer, Error> {
        self.ask_with(question, AskOptions::new()).await
    }

    /// Asks the expert and waits for the answer: keys, sealing (per the
    /// [`EncryptionPolicy`]), an idempotent `POST /help`, the wait, verification and decryption.
    ///
    /// # Cancel safety
    /// As [`Client::ask`].
    ///
    /// # Errors
    /// - [`Error::ExpertKeyChanged`] when the expert's keys differ from the pinned ones;
    /// - [`Error::EncryptionUnavailable`] when the policy requires sealing and the expert has no
    ///   published keys;
    /// - [`Error::Timeout`] when the wait's deadline or the request's expiry passes;
    /// - [`Error::RequestEnded`] when the request was closed, cancelled or expired unanswered;
    /// - [`Error::Crypto`] when a message fails authentication;
    /// - [`Error::Http`] for an error answer (422 for content blocked by the safety filter),
    ///   [`Error::Network`], [`Error::Protocol`], [`Error::KeyStore`], [`Error::Config`].
    pub async fn ask_with(
        &self,
        question: impl Into<String>,
        options: AskOptions,
    ) -> Result<Answer, Error> {
        let conversation = self
            .create(question.into(), &options, RequestKind::Question)
            .await?;
        conversation.answer(options.wait).await
    }

    /// Asks the expert to approve or deny `action`, and waits for the decision; see
    /// [`Client::approval_with`].
    ///
    /// # Cancel safety
    /// As [`Client::approval_with`].
    ///
    /// # Errors
    /// As [`Client::approval_with`].
    pub async fn approval(&self, action: impl Into<String>) -> Result<Approval, Error> {
        self.approval_with(action, AskOptions::new()).await
    }

    /// Asks for an approval and waits for the expert's explicit decision. **Fails closed**:
    /// only an explicit `approved` from the expert is [`ApprovalDecision::Approved`]; a timeout,
    /// expiry, cancellation, close and every error are errors.
    ///
    /// # Cancel safety
    /// As [`Client::ask`]; resume with [`Client::resume_approval`].
    ///
    /// # Errors
    /// As [`Client::ask_with`]; [`Error::RequestEnded`] when the request ended undecided.
    pub async fn approval_with(
        &self,
        action: impl Into<String>,
        options: AskOptions,
    ) -> Result<Approval, Error> {
        let conversation = self
            .create(action.into(), &options, RequestKind::Approval)
            .await?;
        conversation.decision(options.wait).await
    }

    /// Sends a notification (`responseRequired: false`): the expert is told, nobody answers.
    /// Returns once the server has it.
    ///
    /// # Cancel safety
    /// Not cancel-safe unless an idempotency key is given: a dropped call may have sent the notification, and without the key a new call sends another.
    ///
    /// # Errors
    /// As [`Client::submit`].
    pub async fn notify(
        &self,
        text: impl Into<String>,
        options: AskOptions,
    ) -> Result<Notification, Error> {
        let conversation = self
            .create(text.into(), &options, RequestKind::Notification)
            .await?;
        Ok(Notification { conversation })
    }

    /// Creates a question without waiting: the handle sends follow-ups, streams replies, waits,
    /// closes and rates.
    ///
    /// # Cancel safety
    /// Restart-safe like [`Client::ask`]: the keys are stored before the request is sent, and a
    /// repeat with the same idempotency key returns the same request.
    ///
    /// # Errors
    /// As [`Client::ask_with`], without the waiting errors.
    pub async fn submit(
        &self,
        question: impl Into<String>,
        options: &AskOptions,
    ) -> Result<Conversation, Error> {
        self.create(question.into(), options, RequestKind::Question)
            .await
    }

    /// Creates an approval request without waiting; wait for the decision with
    /// [`Conversation::decision`].
    ///
    /// # Cancel safety
    /// As [`Client::submit`].
    ///
    /// # Errors
    /// As [`Client::submit`].
    pub async fn submit_approval(
        &self,
        action: impl Into<String>,
        options: &AskOptions,
    ) -> Result<Conversation, Error> {
        self.create(action.into(), options, RequestKind::Approval)
            .await
    }

    /// After a restart: finds the request's keys in the key store, keeps waiting and decrypts
    /// the answer.
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// [`Error::UnknownRequest`] when the key store has no keys for it; otherwise as
    /// [`Client::ask_with`].
    pub async fn resume(&self, request_id: &RequestId, wait: WaitOptions) -> Result<Answer, Error> {
        self.conversation(request_id)?.answer(wait).await
    }

    /// After a restart: keeps waiting for the decision on an approval request.
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// As [`Client::resume`] and [`Client::approval_with`].
    pub async fn resume_approval(
        &self,
        request_id: &RequestId,
        wait: WaitOptions,
    ) -> Result<Approval, Error> {
        self.conversation(request_id)?.decision(wait).await
    }

    /// The handle of a request this client (or one on the same key store) created.
    ///
    /// # Errors
    /// [`Error::UnknownRequest`] when the key store has no keys for it; [`Error::KeyStore`].
    pub fn conversation(&self, request_id: &RequestId) -> Result<Conversation, Error> {
        let record = self
            .inner
            .key_store
            .request_by_id(request_id)?
            .ok_or_else(|| Error::UnknownRequest {
                request_id: request_id.as_str().to_owned(),
            })?;
        Conversation::from_record(self.clone(), record)
    }

    /// Creates (or, for a known idempotency key, finds) a request.
    async fn create(
        &self,
        text: String,
        options: &AskOptions,
        kind: RequestKind,
    ) -> Result<Conversation, Error> {
        let idempotency_key = match &options.idempotency_key {
            Some(key) if key.is_empty() || key.chars().count() > MAX_IDEMPOTENCY_KEY_LEN => {
                return Err(Error::Config(format!(
                    "idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters"
                )));
            }
            Some(key) => key.clone(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let store = &self.inner.key_store;
        let keys = match store.request_by_idempotency_key(&idempotency_key)? {
            Some(record) if record.kind != kind => {
                return Err(Error::Config(
                    "this idempotency key was used for another kind of request".into(),
                ));
            }
            // Created before: the same request, without paging anyone again.
            Some(record) if record.request_id.is_some() => {
                return Conversation::from_record(self.clone(), record);
            }
            // Saved, maybe sent, answer lost: the same keys, so the server's original matches.
            Some(record) => record.keys,
            None => PartyKeys::generate(),
        };
        let target = self.sealing_target().await?;
        if target.is_some() {
            // The server cannot scan what it cannot read: the same rules, here, first.
            let report = scan_help_request(Some(&text), Some(&options.context));
            if report.blocked() {
                let mut kinds: Vec<&'static str> = report
                    .flags
                    .iter()
                    .filter(|f| f.kind.blocks())
                    .map(|f| f.kind.as_str())
                    .collect();
                kinds.dedup();
                return Err(Error::ContentBlocked {
                    flags: kinds.into_iter().map(str::to_owned).collect(),
                });
            }
        }
        let public = keys.public();
        let mut record = StoredRequest::new(idempotency_key.clone(), kind, keys);
        record.sealed = target.is_some();
        record.expert_keys = target;
        store.save_request(&record)?;

        let mut body = CreateHelpRequest::new(
            self.inner.credentials.api_key.expose(),
            public.sign.to_hex(),
            public.encrypt.to_hex(),
        );
        match &record.expert_keys {
            Some(expert) => {
                let sealed = Channel::new(&record.keys, expert)?
                    .seal(&sealed_text(&text, &options.context), None)?;
                body = body.with_sealed_question(sealed, expert.fingerprint().to_string());
            }
            None => {
                body = body.with_question(text);
                if !options.context.is_empty() {
                    body = body.with_messages(options.context.clone());
                }
            }
        }
        match kind {
            RequestKind::Approval => body = body.requiring_approval(),
            RequestKind::Notification => body = body.as_notification(),
            _ => {}
        }
        let created = self
            .inner
            .create_help(&body, &idempotency_key)
            .await
            .map_err(|error| key_changed_by_server(error, record.expert_keys.as_ref()))?;
        record.request_id = Some(created.request_id);
        record.ref_code = Some(created.ref_code);
        record.expires_at = Some(created.expires_at);
        if options.idempotency_key.is_some() {
            // A caller's key may have created the request from another key store, with other
            // keys: such a request is not ours to read.
            self.check_consumer_keys(&record).await?;
        }
        store.save_request(&record)?;
        Conversation::from_record(self.clone(), record)
    }

    /// The expert keys to seal to, per the encryption policy and the pins; `None` for the
    /// plaintext (HeySummon-compatible) flow.
    ///
    /// Never a silent downgrade: with a fingerprint in configuration, or once this key store has
    /// pinned any expert, an expert without published keys is refused, not asked in plaintext.
    async fn sealing_target(&self) -> Result<Option<PublicKeys>, Error> {
        let policy = self.inner.encryption;
        if policy == EncryptionPolicy::Off {
            return Ok(None);
        }
        let experts = self.inner.experts().await?.experts;
        let configured = self.inner.expert_fingerprint;
        let store = &self.inner.key_store;
        // A configured pin, or a store that has sealed before, makes sealing mandatory.
        let policy = if configured.is_some() || store.has_pins()? {
            EncryptionPolicy::Required
        } else {
            policy
        };
        // With a configured pin, the expert whose keys match it; else the first listed.
        let expert = experts
            .iter()
            .find(|expert| {
                configured.is_some_and(|pin| {
                    published_keys(expert)
                        .ok()
                        .flatten()
                        .is_some_and(|keys| keys.fingerprint() == pin)
                })
            })
            .or_else(|| experts.first());
        let Some(expert) = expert else {
            return unavailable(policy, "this key is linked to no expert");
        };
        let published = published_keys(expert)?;
        let pinned = match configured {
            Some(pin) => Some(pin),
            None => store.pinned_fingerprint(&expert.id)?,
        };
        match (published, pinned) {
            (Some(keys), Some(pin)) if keys.fingerprint() == pin => Ok(Some(keys)),
            (published, Some(pin)) => Err(Error::ExpertKeyChanged {
                expert_id: expert.id.as_str().to_owned(),
                pinned: pin.to_string(),
                published: published.map(|keys| keys.fingerprint().to_string()),
            }),
            (Some(keys), None) => {
                store.pin_fingerprint(&expert.id, &keys.fingerprint())?;
                Ok(Some(keys))
            }
            (None, None) => unavailable(policy, "the expert has published no keys"),
        }
    }
}

impl Client {
    /// Fails with [`Error::UnknownRequest`] when the request the server returned carries other
    /// consumer keys than the record's (it was created by another key store).
    async fn check_consumer_keys(&self, record: &StoredRequest) -> Result<(), Error> {
        let Some(id) = &record.request_id else {
            return Ok(());
        };
        let messages = self.inner.messages(id).await?;
        let ours = record.keys.public();
        let theirs = consumer_keys_of(&messages).ok().flatten();
        if theirs == Some(ours) {
            Ok(())
        } else {
            Err(Error::UnknownRequest {
                request_id: id.as_str().to_owned(),
            })
        }
    }
}

/// `Ok(None)` (plaintext) under [`EncryptionPolicy::Preferred`], an error under `Required`.
fn unavailable(policy: EncryptionPolicy, why: &str) -> Result<Option<PublicKeys>, Error> {
    match policy {
        EncryptionPolicy::Required => Err(Error::EncryptionUnavailable(why.to_owned())),
        _ => Ok(None),
    }
}

/// The expert's published keys, when it published both.
fn published_keys(expert: &ExpertInfo) -> Result<Option<PublicKeys>, Error> {
    key_pair(
        expert.sign_public_key.as_deref(),
        expert.encrypt_public_key.as_deref(),
    )
}

/// The server's 409 `EXPERT_KEY_CHANGED` (the keys changed between our look and our send) as
/// [`Error::ExpertKeyChanged`].
fn key_changed_by_server(error: Error, sealed_to: Option<&PublicKeys>) -> Error {
    match (error.code(), sealed_to) {
        (Some("EXPERT_KEY_CHANGED"), Some(keys)) => Error::ExpertKeyChanged {
            expert_id: String::new(),
            pinned: keys.fingerprint().to_string(),
            published: None,
        },
        _ => error,
    }
}

/// The text that is sealed: the question, then the context as `role: content` lines.
fn sealed_text(question: &str, context: &[Value]) -> String {
    if context.is_empty() {
        return question.to_owned();
    }
    let mut text = format!("{question}\n\nContext:");
    for item in context {
        let line = match (item.get("role"), item.get("content")) {
            (Some(Value::String(role)), Some(Value::String(content))) => {
                format!("{role}: {content}")
            }
            (_, Some(Value::String(content))) => content.clone(),
            _ => item.to_string(),
        };
        text.push('\n');
        text.push_str(&line);
    }
    text
}

/// The latest text the expert sent, and whether it was end-to-end.
pub(crate) fn latest_expert_text(messages: &[ConversationMessage]) -> Option<(String, bool)> {
    messages
        .iter()
        .rev()
        .find_map(|message| match &message.content {
            Content::Text(text) if message.from == crate::wire::Sender::Expert => {
                Some((text.clone(), message.end_to_end))
            }
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn context_is_sealed_as_text_after_the_question() {
        assert_eq!(sealed_text("May I?", &[]), "May I?");
        let context = vec![
            json!({"role": "user", "content": "deploy it"}),
            json!("plain"),
            json!({"content": "no role"}),
        ];
        assert_eq!(
            sealed_text("May I?", &context),
            "May I?\n\nContext:\nuser: deploy it\n\"plain\"\nno role"
        );
    }
}
