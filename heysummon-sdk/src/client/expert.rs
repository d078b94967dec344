//! The expert side: [`ExpertClient`] publishes the expert's key pair, streams new requests,
//! opens sealed questions, replies encrypted, decides approvals, exchanges keys for
//! HeySummon-style requests and closes.

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::Stream;

use super::WaitOptions;
use super::builder::ExpertClientBuilder;
use super::connection::Inner;
use super::message::{
    Content, ConversationMessage, consumer_keys_of, decrypt_messages, expert_keys_of,
};
use super::nudge::{Source, Wakes, feed};
use crate::Error;
use crate::envelope::Channel;
use crate::keys::{Fingerprint, PartyKeys};
use crate::wire::{
    ApprovalDecision, CloseResponse, EventAckResponse, ExpertRequestEvent, KeyExchangeRequest,
    MessageId, MessageKind, PendingEvent, PublishExpertKeysRequest, RefCode, RequestId,
    SendMessageRequest, Sender, Status, Timestamp,
};

mod decide;
mod identity;

/// The name under which the expert's long-term key pair is kept in the key store.
pub const EXPERT_IDENTITY: &str = "expert";

/// A client for an expert key (`hs_exp_…`). Build it with [`ExpertClient::builder`] (with a
/// [`crate::keystore::FileKeyStore`] to keep the expert's private key across restarts). Cheap to
/// clone; `Debug` never shows a key.
#[derive(Clone, Debug)]
pub struct ExpertClient {
    inner: Arc<Inner>,
}

/// A request waiting for the expert, as the pending feed announces it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IncomingRequest {
    /// The request.
    pub request_id: RequestId,
    /// Its reference code.
    pub ref_code: RefCode,
    /// The plaintext question; `None` for a sealed one (open it with [`ExpertClient::open`]).
    pub question: Option<String>,
    /// Whether the agent asks for an approval.
    pub requires_approval: bool,
    /// Whether this is a notification (nobody answers; acknowledge it).
    pub notification: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
}

impl IncomingRequest {
    fn from_event(event: ExpertRequestEvent, notification: bool) -> Self {
        Self {
            request_id: event.request_id,
            ref_code: event.ref_code,
            question: event.question,
            requires_approval: event.requires_approval,
            notification,
            created_at: event.created_at,
            expires_at: event.expires_at,
        }
    }
}

/// A request opened by the expert: the question in clear, and the conversation.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ExpertRequest {
    /// The request.
    pub request_id: RequestId,
    /// Its reference code.
    pub ref_code: RefCode,
    /// Its status.
    pub status: Status,
    /// The question: decrypted when it was sealed, else as the server holds it.
    pub question: String,
    /// Whether the question was sealed to this expert's published keys.
    pub sealed: bool,
    /// The whole conversation, decrypted (for a sealed question, its first message is the
    /// question).
    pub messages: Vec<ConversationMessage>,
}

impl ExpertClient {
    /// Starts configuring an expert client.
    pub fn builder() -> ExpertClientBuilder {
        ExpertClientBuilder::default()
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    /// The expert's long-term key pair: from the key store, or made and stored on first use.
    ///
    /// # Errors
    /// [`Error::KeyStore`].
    pub fn identity(&self) -> Result<PartyKeys, Error> {
        let store = &self.inner.key_store;
        if let Some(keys) = store.identity(EXPERT_IDENTITY)? {
            return Ok(keys);
        }
        let keys = PartyKeys::generate();
        store.save_identity(EXPERT_IDENTITY, &keys)?;
        Ok(keys)
    }

    /// Publishes the expert's public keys (`PUT /expert/keys`, PROTOCOL B3) so agents can seal
    /// questions to them; returns their fingerprint, to be compared out of band by agents that
    /// pin it in configuration.
    ///
    /// # Cancel safety
    /// Cancel-safe: publishing the same keys again is harmless.
    ///
    /// # Errors
    /// [`Error::Protocol`] when the server reports another fingerprint; as any call.
    pub async fn publish_keys(&self) -> Result<Fingerprint, Error> {
        let public = self.identity()?.public();
        let body = PublishExpertKeysRequest {
            sign_public_key: public.sign.to_hex(),
            encrypt_public_key: public.encrypt.to_hex(),
        };
        let answer = self.inner.publish_keys(&body).await?;
        let ours = public.fingerprint();
        if Fingerprint::parse(&answer.fingerprint) != Some(ours) {
            return Err(Error::Protocol(
                "the server reports another fingerprint for the published keys".into(),
            ));
        }
        Ok(ours)
    }

    /// The requests and notifications waiting for this expert (`GET /events/pending`), oldest
    /// first. A request stays listed until acknowledged with [`ExpertClient::ack`].
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// As any call.
    pub async fn pending(&self) -> Result<Vec<IncomingRequest>, Error> {
        let events = self.inner.pending_events().await?.events;
        Ok(events
            .into_iter()
            .filter_map(|event| match event {
                PendingEvent::NewRequest(event) => Some(IncomingRequest::from_event(event, false)),
                PendingEvent::NewNotification(event) => {
                    Some(IncomingRequest::from_event(event, true))
                }
                _ => None,
            })
            .collect())
    }

    /// Every waiting request once, then each new one as it arrives: woken by the expert's event
    /// stream, re-reading the pending feed at least every [`WaitOptions::first_phase_interval`].
    /// Transient failures are retried with backoff; the stream ends after an error that is not
    /// retryable (a revoked key, say). It only reads: dropping it loses nothing, and a new stream
    /// lists every request still pending.
    pub fn requests(
        &self,
        options: WaitOptions,
    ) -> impl Stream<Item = Result<IncomingRequest, Error>> + Send + 'static {
        let url = self.inner.endpoint(&["events", "stream"]);
        let source = Incoming {
            expert: self.clone(),
            seen: HashSet::new(),
        };
        feed(self.inner.clone(), source, Wakes::Stream(url), options)
    }

    /// Marks a request as seen (`POST /events/ack/:id`): it leaves the pending feed until
    /// something new happens on it.
    ///
    /// # Cancel safety
    /// Cancel-safe: acknowledging is idempotent.
    ///
    /// # Errors
    /// As any call.
    pub async fn ack(&self, request_id: &RequestId) -> Result<EventAckResponse, Error> {
        self.inner.ack_event(request_id).await
    }

    /// Opens a request: the question (decrypted when sealed to this expert's keys) and the
    /// conversation, every encrypted message verified.
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// [`Error::Crypto`] when a message fails authentication; 404/403 for a request not routed
    /// to this expert; as any call.
    pub async fn open(&self, request_id: &RequestId) -> Result<ExpertRequest, Error> {
        let inner = &self.inner;
        let response = inner.messages(request_id).await?;
        let identity = self.identity()?;
        let consumer = consumer_keys_of(&response)?;
        let sealed = expert_keys_of(&response)? == Some(identity.public())
            && response.messages.first().is_some_and(|first| {
                first.from == Sender::Consumer
                    && matches!(first.kind(), Some(MessageKind::Encrypted(_)))
            });
        let messages = decrypt_messages(&identity, Sender::Expert, consumer, &response)?;
        let question = if sealed {
            match messages.first().map(|first| &first.content) {
                Some(Content::Text(text)) => text.clone(),
                _ => return Err(Error::Crypto),
            }
        } else {
            inner
                .requests(None)
                .await?
                .requests
                .into_iter()
                .find(|summary| summary.id == *request_id)
                .and_then(|summary| summary.question)
                .unwrap_or_default()
        };
        Ok(ExpertRequest {
            request_id: response.request_id,
            ref_code: response.ref_code,
            status: response.status,
            question,
            sealed,
            messages,
        })
    }

    /// Exchanges keys on a HeySummon-style request (`POST /key-exchange/:id`) with the
    /// expert's identity, so replies can be encrypted. Sealed requests need none.
    ///
    /// # Cancel safety
    /// Not cancel-safe: a dropped call may have installed the keys (a new one then answers 400; [`ExpertClient::reply`] copes with both).
    ///
    /// # Errors
    /// 400 when keys were exchanged already or the request is closed; as any call.
    pub async fn exchange_keys(&self, request_id: &RequestId) -> Result<(), Error> {
        let public = self.identity()?.public();
        let body = KeyExchangeRequest::new(public.sign.to_hex(), public.encrypt.to_hex());
        self.inner.key_exchange(request_id, &body).await?;
        Ok(())
    }

    /// Replies, encrypted to the agent's per-request key and signed by the expert's identity;
    /// exchanges keys first when the request has none yet. Retried safely (deduplicated by
    /// message id).
    ///
    /// # Cancel safety
    /// Not cancel-safe: a dropped call may have delivered the reply.
    ///
    /// # Errors
    /// [`Error::Config`] when the request's expert keys are not this expert's identity; 400 once
    /// the request is closed or expired; 409 `NO_RESPONSE_REQUIRED` for a notification.
    pub async fn reply(&self, request_id: &RequestId, text: &str) -> Result<MessageId, Error> {
        self.send(request_id, text).await
    }

    /// Replies with an encrypted comment, then decides, signed, as [`ExpertClient::decide`]
    /// (a decision inside a message could not carry the expert's signature).
    ///
    /// # Cancel safety
    /// Not cancel-safe: a dropped call may have delivered the comment, or the decision.
    ///
    /// # Errors
    /// As [`ExpertClient::reply`] and [`ExpertClient::decide`]; 409 when already decided.
    pub async fn reply_with_decision(
        &self,
        request_id: &RequestId,
        text: &str,
        decision: ApprovalDecision,
    ) -> Result<MessageId, Error> {
        let message_id = self.send(request_id, text).await?;
        self.decide(request_id, decision).await?;
        Ok(message_id)
    }

    /// Closes a request (`POST /close/:id`; idempotent).
    ///
    /// # Cancel safety
    /// Cancel-safe: closing is idempotent.
    ///
    /// # Errors
    /// As any call.
    pub async fn close(&self, request_id: &RequestId) -> Result<CloseResponse, Error> {
        self.inner.close(request_id).await
    }

    async fn send(&self, request_id: &RequestId, text: &str) -> Result<MessageId, Error> {
        let inner = &self.inner;
        let identity = self.identity()?;
        let response = inner.messages(request_id).await?;
        // The agent's keys first: no key exchange for a request nobody could answer.
        let consumer = consumer_keys_of(&response)?.ok_or(Error::Crypto)?;
        match expert_keys_of(&response)? {
            Some(keys) if keys == identity.public() => {}
            Some(_) => {
                return Err(Error::config(
                    "the request's expert keys are not this expert's identity",
                ));
            }
            None => self.exchange_keys(request_id).await?,
        }
        let message_id = MessageId::random();
        let payload = Channel::new(&identity, &consumer)?.seal(text, Some(message_id.clone()))?;
        let body = SendMessageRequest::encrypted(Sender::Expert, payload);
        Ok(inner.send_message(request_id, &body).await?.message_id)
    }
}

/// What [`ExpertClient::requests`] reads: the pending requests not yielded yet.
struct Incoming {
    expert: ExpertClient,
    seen: HashSet<RequestId>,
}

impl Source for Incoming {
    type Item = IncomingRequest;

    async fn read(&mut self) -> Result<(Vec<IncomingRequest>, bool), Error> {
        let pending = self.expert.pending().await?;
        let new = pending
            .into_iter()
            .filter(|request| self.seen.insert(request.request_id.clone()))
            .collect();
        Ok((new, false))
    }
}
