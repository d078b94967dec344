//! The ask core: one transport-neutral way to ask a human, on top of the SDK's
//! [`Client`](heysummon_sdk::Client). The local HTTP API ([`crate::ask_api`]), the MCP server
//! and the `heysummon` command are thin front ends over it: they turn what they receive into
//! an [`AskInput`], and an [`AskOutcome`] or an [`AskError`] into what they answer.
//!
//! - [`Asker::ask`]: checks the input (and its content, per the [`SafetyMode`]), creates the
//!   request (sealed when the expert has published keys), and waits up to
//!   [`AskInput::wait`]: [`AskOutcome::Answered`], [`AskOutcome::Approved`],
//!   [`AskOutcome::Denied`], [`AskOutcome::Pending`] (resume later),
//!   [`AskOutcome::Timeout`] (past [`AskInput::timeout`]), [`AskOutcome::Ended`] (expired,
//!   closed, cancelled), or [`AskOutcome::Notified`] for a notification;
//! - [`Asker::resume`]: waits again on a request made before (also by an earlier process with
//!   the same key store);
//! - [`Asker::submit`]: creates the request without waiting.
//!
//! Approvals fail closed: a timeout, an expiry, a cancellation or any error is never
//! [`AskOutcome::Approved`].

mod error;
mod input;
mod outcome;
#[cfg(test)]
mod tests;
mod wait;

use std::time::Duration;

use heysummon_sdk::Client;
use heysummon_sdk::client::{AskOptions, Conversation};
use heysummon_sdk::wire::RequestId;
use tokio::time::Instant;

pub use error::{AskError, BlockedFlag};
pub use input::{AskInput, AskKind, DEFAULT_WAIT, Encryption, MAX_ACTION_BYTES, MAX_TIMEOUT};
pub use outcome::{AskOutcome, Submitted, Ticket};
pub use wait::Deadlines;
pub(crate) use wait::ticket;

use crate::config::SafetyMode;

/// Asks humans through an SDK client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Asker {
    /// The client for [`Encryption::Preferred`].
    client: Client,
    /// A client with [`heysummon_sdk::EncryptionPolicy::Required`] on the same key store.
    strict: Option<Client>,
    safety: SafetyMode,
    deadlines: Deadlines,
}

impl Asker {
    /// An asker over `client` (with [`heysummon_sdk::EncryptionPolicy::Preferred`]), blocking
    /// unsafe content ([`SafetyMode::Block`]), with deadlines of its own. Inputs that require
    /// encryption fail until [`Asker::with_strict_client`] gives it a client for them.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            strict: None,
            safety: SafetyMode::Block,
            deadlines: Deadlines::new(),
        }
    }

    /// The client for [`Encryption::Required`]: built with
    /// [`heysummon_sdk::EncryptionPolicy::Required`] over the same key store.
    #[must_use]
    pub fn with_strict_client(mut self, client: Client) -> Self {
        self.strict = Some(client);
        self
    }

    /// What to do with content the safety rules flag.
    #[must_use]
    pub fn with_safety(mut self, mode: SafetyMode) -> Self {
        self.safety = mode;
        self
    }

    /// Shares `deadlines` with other askers serving the same agents.
    #[must_use]
    pub fn with_deadlines(mut self, deadlines: Deadlines) -> Self {
        self.deadlines = deadlines;
        self
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The callers' deadlines.
    pub fn deadlines(&self) -> &Deadlines {
        &self.deadlines
    }

    /// Asks, and waits up to [`AskInput::wait`] (creating the request counts) for the outcome.
    ///
    /// # Cancel safety
    /// Restart-safe rather than cancel-safe: a dropped call may have created the request; ask
    /// again with the same idempotency key, or resume it by id.
    ///
    /// # Errors
    /// [`AskError::InvalidInput`] and [`AskError::ContentBlocked`] before anything is sent;
    /// what creating the request or waiting failed with.
    pub async fn ask(&self, input: &AskInput) -> Result<AskOutcome, AskError> {
        let started = Instant::now();
        input.validate()?;
        let deadline = match input.timeout {
            Some(timeout) => Some(
                started
                    .checked_add(timeout)
                    .ok_or_else(|| AskError::InvalidInput("timeout is too large".into()))?,
            ),
            None => None,
        };
        let conversation = self.create(input).await?;
        let ticket = wait::ticket(&conversation);
        if input.kind == AskKind::Notification {
            return Ok(AskOutcome::Notified { ticket });
        }
        if let Some(deadline) = deadline {
            self.deadlines.set(ticket.request_id, deadline);
        }
        let hold = input.wait.saturating_sub(started.elapsed());
        wait::wait(&conversation, &self.deadlines, hold).await
    }

    /// Waits up to `wait` more on a request made before, never past its caller's deadline.
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// [`AskError::NotFound`] for a request that is not one of this key store's; what the wait
    /// failed with.
    pub async fn resume(
        &self,
        request_id: &RequestId,
        wait: Duration,
    ) -> Result<AskOutcome, AskError> {
        let conversation = self.client.conversation(request_id)?;
        wait::wait(&conversation, &self.deadlines, wait).await
    }

    /// Creates the request without waiting ([`AskInput::timeout`] and [`AskInput::wait`] are
    /// not used).
    ///
    /// # Cancel safety
    /// As [`Asker::ask`].
    ///
    /// # Errors
    /// As [`Asker::ask`], without the waiting errors.
    pub async fn submit(&self, input: &AskInput) -> Result<Submitted, AskError> {
        input.validate()?;
        let conversation = self.create(input).await?;
        Ok(Submitted {
            ticket: wait::ticket(&conversation),
            sealed: conversation.is_sealed(),
            expires_at: conversation.expires_at(),
        })
    }

    /// The conversation of a request made on this key store; `None` for any other.
    ///
    /// # Errors
    /// [`AskError::KeyStore`] when the key store cannot be read.
    pub fn conversation(&self, request_id: &RequestId) -> Result<Option<Conversation>, AskError> {
        match self.client.conversation(request_id).map_err(AskError::from) {
            Ok(conversation) => Ok(Some(conversation)),
            Err(AskError::NotFound) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Scans (unless the front end did) and creates the request of a validated input.
    async fn create(&self, input: &AskInput) -> Result<Conversation, AskError> {
        if !input.scanned {
            let report = heysummon_sdk::safety::scan_help_request(
                Some(&input.question),
                Some(&input.context),
            );
            crate::safety::enforce(self.safety, &report, "ask")?;
            if let Some(action) = &input.action {
                let report = heysummon_sdk::safety::scan_action(action);
                crate::safety::enforce(self.safety, &report, "ask")?;
            }
        }
        let client = match input.encryption {
            Encryption::Preferred => &self.client,
            Encryption::Required => self.strict.as_ref().ok_or_else(|| {
                AskError::EncryptionUnavailable("no client that requires encryption".into())
            })?,
        };
        let mut options = AskOptions::new().with_context(input.context.clone());
        if let Some(action) = &input.action {
            options = options.with_action(action.clone());
        }
        if let Some(key) = &input.idempotency_key {
            options = options.with_idempotency_key(key.as_str());
        }
        let question = input.question.as_str();
        let created = match input.kind {
            AskKind::Question => client.submit(question, &options).await,
            AskKind::Approval => client.submit_approval(question, &options).await,
            AskKind::Notification => client
                .notify(question, options)
                .await
                .map(|sent| sent.conversation().clone()),
        };
        Ok(created?)
    }
}
