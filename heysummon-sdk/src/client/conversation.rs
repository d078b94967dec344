//! A handle on one request: wait, read the decrypted conversation, send follow-ups, stream
//! replies, close, rate.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;

use super::message::{
    Content, ConversationMessage, decrypt_messages, expert_keys_of, latest_expert_text,
};
use super::nudge::{Source, Wakes, feed};
use super::outcome::{Answer, Approval, EncryptionPolicy};
use super::{Client, WaitOptions, wait};
use crate::Error;
use crate::envelope::Channel;
use crate::keystore::StoredRequest;
use crate::wire::{
    CloseResponse, HelpStatusResponse, MessageId, MessagesResponse, RateRequest, RateResponse,
    RefCode, RequestId, SendMessageRequest, Sender, Status, Timestamp,
};

mod decision;

/// A request this client created: cheap to clone. `Debug` never shows keys.
#[derive(Clone)]
pub struct Conversation {
    client: Client,
    record: Arc<StoredRequest>,
    request_id: RequestId,
    ref_code: RefCode,
}

impl std::fmt::Debug for Conversation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conversation")
            .field("request_id", &self.request_id)
            .field("ref_code", &self.ref_code)
            .field("sealed", &self.record.sealed)
            .finish_non_exhaustive()
    }
}

impl Conversation {
    pub(crate) fn from_record(client: Client, record: StoredRequest) -> Result<Self, Error> {
        let (Some(request_id), Some(ref_code)) =
            (record.request_id.clone(), record.ref_code.clone())
        else {
            return Err(Error::key_store("the stored request has no request id yet"));
        };
        Ok(Self {
            client,
            record: Arc::new(record),
            request_id,
            ref_code,
        })
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The request.
    pub fn request_id(&self) -> &RequestId {
        &self.request_id
    }

    /// Its reference code, for people.
    pub fn ref_code(&self) -> &RefCode {
        &self.ref_code
    }

    /// Whether the question was sealed to the expert's published keys (PROTOCOL B3).
    pub fn is_sealed(&self) -> bool {
        self.record.sealed
    }

    /// The current status (`GET /help/:id`; one attempt).
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// As [`Client::status`].
    pub async fn status(&self) -> Result<HelpStatusResponse, Error> {
        self.client.status(&self.request_id).await
    }

    /// Waits until the request is no longer waiting; see [`Client::wait`].
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// As [`Client::wait`].
    pub async fn wait(&self, options: WaitOptions) -> Result<HelpStatusResponse, Error> {
        self.client.wait(&self.request_id, options).await
    }

    /// Waits for the expert's answer and returns it decrypted, with the whole conversation.
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// [`Error::RequestEnded`] when the request ended unanswered; [`Error::Timeout`];
    /// [`Error::Crypto`] when a message fails authentication; as [`Client::wait`].
    pub async fn answer(&self, options: WaitOptions) -> Result<Answer, Error> {
        let status = self.wait(options).await?;
        let conversation = self.messages().await?;
        let (text, end_to_end) = match latest_expert_text(&conversation) {
            Some(found) => found,
            None => match status.response {
                // A plaintext answer the server reports but does not list (never for a sealed
                // question: that would be the server speaking for the expert).
                Some(text) if status.status == Status::Responded && !self.record.sealed => {
                    (text, false)
                }
                _ => {
                    return Err(Error::RequestEnded {
                        status: status.status,
                    });
                }
            },
        };
        Ok(Answer {
            text,
            end_to_end,
            request_id: self.request_id.clone(),
            ref_code: self.ref_code.clone(),
            conversation,
        })
    }

    /// Waits for the expert's explicit decision on an approval request. Fails closed: a
    /// request that ends undecided is [`Error::RequestEnded`], a deadline [`Error::Timeout`].
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// As [`Conversation::answer`].
    pub async fn decision(&self, options: WaitOptions) -> Result<Approval, Error> {
        let status = wait::wait_until(&*self.client.inner, &self.request_id, &options, |status| {
            status.approval_decision.is_some()
        })
        .await?;
        let Some(decision) = status.approval_decision else {
            return Err(if status.status.is_terminal() {
                Error::RequestEnded {
                    status: status.status,
                }
            } else {
                Error::Timeout {
                    waited: Duration::ZERO,
                }
            });
        };
        let signed = self.signed_by_pinned_expert(&status, decision)?;
        // The comment is a courtesy: the decision stands without it.
        let comment = self
            .messages()
            .await
            .ok()
            .and_then(|messages| latest_expert_text(&messages))
            .map(|(text, _)| text);
        Ok(Approval {
            decision,
            request_id: self.request_id.clone(),
            ref_code: self.ref_code.clone(),
            comment,
            signed,
        })
    }

    /// The conversation so far, oldest first, every encrypted message verified and decrypted.
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// [`Error::Crypto`] when any encrypted message fails authentication (no partial
    /// transcript); [`Error::Protocol`] for a message of no known form; as any call.
    pub async fn messages(&self) -> Result<Vec<ConversationMessage>, Error> {
        let response = self.client.inner.messages(&self.request_id).await?;
        self.decrypt(&response)
    }

    /// Sends a follow-up message: encrypted to the expert's keys when there are any (always for
    /// a sealed question); in plaintext otherwise, unless the policy is
    /// [`EncryptionPolicy::Required`]. Retried safely (the server deduplicates by message id).
    ///
    /// # Cancel safety
    /// Not cancel-safe: a dropped call may or may not have delivered the message.
    ///
    /// # Errors
    /// [`Error::EncryptionUnavailable`] under `Required` without expert keys; as any call (400
    /// once the request is closed or expired, 409 `NO_RESPONSE_REQUIRED` for a notification).
    pub async fn send(&self, text: impl Into<String>) -> Result<MessageId, Error> {
        self.send_with_id(text, MessageId::random()).await
    }

    /// [`Conversation::send`] with a message id of the caller's: sending the same id again is
    /// recognised by the server as a duplicate and delivered once.
    ///
    /// # Cancel safety
    /// Cancel-safe in effect: calling it again with the same id delivers the message at most
    /// once.
    ///
    /// # Errors
    /// As [`Conversation::send`].
    pub async fn send_with_id(
        &self,
        text: impl Into<String>,
        message_id: MessageId,
    ) -> Result<MessageId, Error> {
        let text = text.into();
        let expert = match self.record.expert_keys {
            Some(keys) => Some(keys),
            None => expert_keys_of(&self.client.inner.messages(&self.request_id).await?)?,
        };
        let body = match expert {
            Some(expert) => {
                let payload = Channel::new(&self.record.keys, &expert)?
                    .seal(&text, Some(message_id.clone()))?;
                SendMessageRequest::encrypted(Sender::Consumer, payload)
            }
            None if self.client.encryption == EncryptionPolicy::Required => {
                return Err(Error::EncryptionUnavailable(
                    "the expert has not exchanged keys yet".into(),
                ));
            }
            None => SendMessageRequest::plaintext(Sender::Consumer, text)
                .with_message_id(message_id.clone()),
        };
        let sent = self
            .client
            .inner
            .send_message(&self.request_id, &body)
            .await?;
        Ok(sent.message_id)
    }

    /// The expert's messages as they arrive: first those already there, then each new one,
    /// until the request reaches a terminal status (then the stream ends). Woken by the event
    /// stream, with a re-read at least every [`WaitOptions::first_phase_interval`] as a safety
    /// net. Items that fail authentication are [`Error::Crypto`]; after an error that is not
    /// retryable the stream ends. It only reads: dropping it, even mid-poll, loses nothing, and a
    /// new stream starts again with the messages already there.
    pub fn replies(
        &self,
        options: WaitOptions,
    ) -> impl Stream<Item = Result<ConversationMessage, Error>> + Send + 'static {
        let source = Replies {
            conversation: self.clone(),
            seen: HashSet::new(),
        };
        let wakes = Wakes::Request(self.request_id.clone());
        feed(self.client.inner.clone(), source, wakes, options)
    }

    /// Closes the conversation (`POST /close/:id`; idempotent, retried).
    ///
    /// # Cancel safety
    /// Cancel-safe: closing is idempotent, so calling it again is harmless.
    ///
    /// # Errors
    /// As any call (409 `NOT_APPLICABLE` for an unacknowledged notification).
    pub async fn close(&self) -> Result<CloseResponse, Error> {
        self.client.inner.close(&self.request_id).await
    }

    /// Rates the expert's answer, 1 to 5, with optional feedback (`POST /rate/:id`; once).
    ///
    /// # Cancel safety
    /// Not cancel-safe: a dropped call may have recorded the rating (a new one then answers 409).
    ///
    /// # Errors
    /// [`Error::Config`] for a rating out of range; 409 when already rated; 400 before an
    /// answer.
    pub async fn rate(&self, rating: u8, feedback: Option<&str>) -> Result<RateResponse, Error> {
        let mut body =
            RateRequest::new(rating).ok_or_else(|| Error::config("a rating is 1 to 5"))?;
        if let Some(feedback) = feedback {
            body = body.with_feedback(feedback);
        }
        self.client.inner.rate(&self.request_id, &body).await
    }

    /// Verifies and decrypts every message of a `GET /messages/:id` answer for this request
    /// (one read elsewhere, by a proxy say), with the same rules as [`Conversation::messages`].
    ///
    /// # Errors
    /// As [`Conversation::messages`]; [`Error::Protocol`] for another request's answer.
    pub fn open_messages(
        &self,
        response: &MessagesResponse,
    ) -> Result<Vec<ConversationMessage>, Error> {
        if response.request_id != self.request_id {
            return Err(Error::Protocol("the messages are another request's".into()));
        }
        self.decrypt(response)
    }

    /// When the request expires, as the server said when it was created.
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.record.expires_at
    }

    /// The kind of request: a question, an approval or a notification.
    pub fn kind(&self) -> crate::keystore::RequestKind {
        self.record.kind
    }

    /// Verifies and decrypts every message.
    fn decrypt(&self, response: &MessagesResponse) -> Result<Vec<ConversationMessage>, Error> {
        let expert = match self.record.expert_keys {
            // Sealed: only the pinned keys count, whatever the server now says.
            Some(keys) => Some(keys),
            None => expert_keys_of(response)?,
        };
        let messages = decrypt_messages(&self.record.keys, Sender::Consumer, expert, response)?;
        // In a sealed conversation the server refuses plaintext; an expert "message" it could
        // read is one it may have written itself.
        let forged = self.record.sealed
            && messages.iter().any(|m| {
                m.from == Sender::Expert && matches!(m.content, Content::Text(_)) && !m.end_to_end
            });
        if forged {
            return Err(Error::Crypto);
        }
        Ok(messages)
    }
}

/// What [`Conversation::replies`] reads: the expert's messages not yielded yet.
struct Replies {
    conversation: Conversation,
    seen: HashSet<MessageId>,
}

impl Source for Replies {
    type Item = ConversationMessage;

    async fn read(&mut self) -> Result<(Vec<ConversationMessage>, bool), Error> {
        let inner = &self.conversation.client.inner;
        let response = inner.messages(&self.conversation.request_id).await?;
        let new = self
            .conversation
            .decrypt(&response)?
            .into_iter()
            .filter(|m| m.from == Sender::Expert && self.seen.insert(m.message_id.clone()))
            .collect();
        Ok((new, response.status.is_terminal()))
    }
}
