//! The async client (feature `client`, on by default): reqwest + tokio.
//!
//! [`Client::wait`] waits for an expert's answer with the best means the server offers: the event
//! stream of our server (`GET /api/v1/events/stream`), else long-polls, else two-phase smart
//! polling, which every HeySummon v1 server supports. See [`WaitStrategy`].
//!
//! ```no_run
//! use std::time::Duration;
//! use heysummon_sdk::client::{Client, WaitOptions};
//! use heysummon_sdk::wire::RequestId;
//!
//! # async fn example() -> Result<(), heysummon_sdk::Error> {
//! let client = Client::builder()
//!     .base_url("https://heysummon.example.com")
//!     .api_key("hs_cli_…")
//!     .build()?;
//! let request = RequestId::new("cm1abc");
//! let status = client
//!     .wait(&request, WaitOptions::default().with_timeout(Duration::from_secs(15 * 60)))
//!     .await?;
//! println!("{}", status.status);
//! # Ok(())
//! # }
//! ```
//!
//! Every public async function documents whether it is cancel-safe. The waits and reads only
//! read, so dropping one loses nothing; the calls that change something on the server say what a
//! dropped call may have done, and the asking calls are restart-safe through the key store.

mod api;
mod ask;
mod builder;
mod connection;
mod conversation;
mod expert;
mod http;
mod hub;
mod message;
mod nudge;
mod options;
mod outcome;
mod seal;
mod sse;
mod transport;
mod wait;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_http;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

pub use crate::backoff::BackoffPolicy;
pub use ask::Notification;
pub use builder::{ClientBuilder, ExpertClientBuilder};
pub use connection::{
    DEFAULT_CONCURRENT_REQUESTS, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_RETRY_ATTEMPTS,
};
pub use conversation::Conversation;
pub use expert::{EXPERT_IDENTITY, ExpertClient, ExpertRequest, IncomingRequest};
pub use message::{Content, ConversationMessage};
pub use options::{MAX_LONG_POLL_WAIT, WaitOptions, WaitStrategy};
pub use outcome::{Answer, Approval, AskOptions, DecisionTrust, EncryptionPolicy};

use crate::Error;
use crate::keys::Fingerprint;
use crate::wire::{HelpStatusResponse, RequestId};
use connection::Inner;

/// A HeySummon client for one server and one API key. Cheap to clone: clones share one
/// connection pool and one key store.
///
/// `Debug` never shows the API key or a private key.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Whether questions are sealed.
    encryption: EncryptionPolicy,
    /// Which decisions count.
    decision_trust: DecisionTrust,
    /// A fingerprint given in configuration: the only expert key this client accepts.
    expert_fingerprint: Option<Fingerprint>,
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The server's root URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// `GET /api/v1/help/:id`: the request's current status. One attempt, limited by the
    /// request timeout; no retries.
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// [`Error::Http`] for an error answer (404 for a request that is not this key's),
    /// [`Error::Network`] when the server cannot be reached, [`Error::Protocol`] for an answer
    /// that does not parse.
    pub async fn status(&self, id: &RequestId) -> Result<HelpStatusResponse, Error> {
        self.inner.get_status(id, None).await
    }

    /// `GET /api/v1/help/:id?wait=N`: asks the server to hold the call until the request is no
    /// longer waiting, a new expert message arrives, or `hold` (whole seconds, at most 50)
    /// passes. A HeySummon v1 server ignores `wait` and answers at once. One attempt, limited by
    /// `hold` plus the request timeout.
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// As [`Client::status`].
    pub async fn long_poll(
        &self,
        id: &RequestId,
        hold: Duration,
    ) -> Result<HelpStatusResponse, Error> {
        self.inner.get_status(id, Some(hold)).await
    }

    /// Waits until the request is no longer waiting (`Status::is_waiting` is false: responded,
    /// closed, expired, cancelled, acknowledged, or a status this version does not know) and
    /// returns that status. Reads the status once first: the answer may already be there.
    ///
    /// Transient failures (HTTP 408/429/5xx, network errors, dropped streams) are retried with
    /// backoff, honouring the server's `Retry-After`; see [`WaitOptions`] and [`WaitStrategy`].
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads, so dropping the future (for instance in `tokio::select!`)
    /// loses nothing; calling it again starts a fresh wait.
    ///
    /// # Errors
    /// [`Error::Timeout`] at the deadline, or when the request's expiry passes while the server
    /// still reports it waiting; a non-retryable error as soon as it happens (401, 404 for a
    /// request that is not this key's, and with [`WaitStrategy::Sse`] a server without a
    /// stream); [`Error::Config`] for unusable options. Never reports anything as approved.
    pub async fn wait(
        &self,
        id: &RequestId,
        options: WaitOptions,
    ) -> Result<HelpStatusResponse, Error> {
        wait::wait(&*self.inner, id, &options).await
    }
}

impl Client {
    /// `GET /api/v1/whoami`: the key, its expert and its owner.
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// As any call (401 for an unknown key).
    pub async fn whoami(&self) -> Result<crate::wire::WhoamiResponse, Error> {
        self.inner.whoami().await
    }

    /// `GET /api/v1/experts`: the experts this key is linked to, with their published keys.
    ///
    /// # Cancel safety
    /// Cancel-safe: it only reads.
    ///
    /// # Errors
    /// As any call.
    pub async fn experts(&self) -> Result<Vec<crate::wire::ExpertInfo>, Error> {
        Ok(self.inner.experts().await?.experts)
    }

    /// Enrolls the client's device key (see [`ClientBuilder::device_key`]) as the API key's
    /// first device (`POST /api/v1/devices`, PROTOCOL B4; sent unsigned, since the server does
    /// not know the device yet): from then on the server accepts only requests signed by an
    /// enrolled device for this API key. Returns the device id.
    ///
    /// # Cancel safety
    /// Not cancel-safe: a dropped call may have enrolled the device; `whoami` or a signed call tells.
    ///
    /// # Errors
    /// [`Error::Config`] without a device key; 401 `SIGNATURE_REQUIRED` when the key already
    /// has another device (a new one can only be added by a signed request).
    pub async fn enroll_device(&self) -> Result<crate::wire::EnrollDeviceResponse, Error> {
        let signer = self
            .inner
            .credentials
            .signer
            .as_ref()
            .ok_or_else(|| Error::config("the client has no device key"))?;
        let body = crate::wire::EnrollDeviceRequest {
            public_key: signer.public_key().to_hex(),
        };
        let url = self.inner.endpoint(&["devices"]);
        self.inner
            .call_signed(
                reqwest::Method::POST,
                url,
                Some(&body),
                &[],
                api::Retry::Never,
                false,
            )
            .await
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("connection", &*self.inner)
            .field("encryption", &self.encryption)
            .finish_non_exhaustive()
    }
}
