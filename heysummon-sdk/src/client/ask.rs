//! Asking: [`Client::ask`], [`Client::approval`], [`Client::notify`], [`Client::submit`] and
//! [`Client::resume`].
//!
//! Under the hood of one `ask`: fresh per-request keys; the expert's published keys, checked
//! against the pinned fingerprint; the question sealed to them (PROTOCOL B3); the keys saved in
//! the key store *before* anything is sent, under the idempotency key; `POST /help` with that
//! `Idempotency-Key` (retried safely); the wait; the expert's answer verified and decrypted.

use super::conversation::Conversation;
#[cfg(doc)]
use super::outcome::EncryptionPolicy;
use super::outcome::{Answer, Approval, AskOptions};
use super::seal::{key_changed_by_server, refuse_blocked, sealed_text};
use super::{Client, WaitOptions};
use crate::Error;
use crate::decision::action_hash;
use crate::envelope::Channel;
use crate::keys::PartyKeys;
use crate::keystore::{RequestKind, StoredRequest};
#[cfg(doc)]
use crate::wire::ApprovalDecision;
use crate::wire::{
    CreateHelpRequest, HelpStatusResponse, MAX_IDEMPOTENCY_KEY_LEN, RefCode, RequestId,
};

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
                return Err(Error::config(format!(
                    "idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters"
                )));
            }
            Some(key) => key.clone(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        // The action is hashed once: it is checked against a stored request and kept with it.
        let hash_of_action = action_hash_of(options)?;
        let store = &self.inner.key_store;
        let keys = match store.request_by_idempotency_key(&idempotency_key)? {
            Some(record) if record.kind != kind => {
                return Err(Error::config(
                    "this idempotency key was used for another kind of request",
                ));
            }
            // The same key for another action would approve the old one.
            Some(record) if record.action_hash != hash_of_action => {
                return Err(Error::config(
                    "this idempotency key was used for another action",
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
            refuse_blocked(&text, &options.context, options.action.as_ref())?;
        }
        let public = keys.public();
        let mut record = StoredRequest::new(idempotency_key.clone(), kind, keys);
        record.sealed = target.is_some();
        record.expert_keys = target;
        if options.action.is_some() && kind != RequestKind::Approval {
            return Err(Error::config("an action belongs to an approval request"));
        }
        record.action_hash = hash_of_action;
        store.save_request(&record)?;

        let mut body = CreateHelpRequest::new(
            self.inner.credentials.api_key.expose(),
            public.sign.to_hex(),
            public.encrypt.to_hex(),
        );
        match &record.expert_keys {
            Some(expert) => {
                let plaintext = sealed_text(&text, &options.context, options.action.as_ref());
                let sealed = Channel::new(&record.keys, expert)?.seal(&plaintext, None)?;
                body = body.with_sealed_question(sealed, expert.fingerprint().to_string());
                if let Some(hash) = &record.action_hash {
                    body = body.with_action_hash(hash.clone());
                }
            }
            None => {
                body = body.with_question(text);
                if !options.context.is_empty() {
                    body = body.with_messages(options.context.clone());
                }
                if let Some(action) = &options.action {
                    body = body.with_action(action.clone());
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
}

/// The hash of the action of an ask, if it names one.
fn action_hash_of(options: &AskOptions) -> Result<Option<String>, Error> {
    options
        .action
        .as_ref()
        .map(|action| action_hash(action).map_err(Error::config))
        .transpose()
}
