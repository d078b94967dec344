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
mod backoff;
mod conversation;
mod expert;
mod http;
mod nudge;
mod options;
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
use zeroize::Zeroizing;

pub use ask::{Answer, Approval, AskOptions, EncryptionPolicy, Notification};
pub use backoff::BackoffPolicy;
pub use conversation::{Content, Conversation, ConversationMessage};
pub use expert::{EXPERT_IDENTITY, ExpertClient, ExpertRequest, IncomingRequest};
pub use options::{MAX_LONG_POLL_WAIT, WaitOptions, WaitStrategy};

use crate::Error;
use crate::keys::{Fingerprint, SigningKeyPair};
use crate::keystore::{KeyStore, MemoryKeyStore};
use crate::signing::RequestSigner;
use crate::wire::{HelpStatusResponse, RequestId};

/// The default limit of one ordinary request (not a long-poll's hold, not a stream).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The default limit on establishing a connection, for the client the builder makes itself.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default number of attempts of a call that is safe to repeat (the first and three retries).
pub const DEFAULT_RETRY_ATTEMPTS: u32 = 4;

/// A HeySummon client for one server and one API key. Cheap to clone: clones share one
/// connection pool and one key store.
///
/// `Debug` never shows the API key or a private key.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// What the clones of a [`Client`] share.
pub(crate) struct Inner {
    http: reqwest::Client,
    /// The server's root, always ending in `/`.
    base_url: Url,
    /// The API key, device token and device key, shared with the event stream's transport.
    credentials: Arc<api::Credentials>,
    request_timeout: Duration,
    /// Retries of calls that are safe to repeat.
    retry: RetryPolicy,
    /// Per-request keys, expert pins and identities.
    key_store: Arc<dyn KeyStore>,
    /// Whether questions are sealed.
    encryption: ask::EncryptionPolicy,
    /// A fingerprint given in configuration: the only expert key this client accepts.
    expert_fingerprint: Option<Fingerprint>,
}

/// How calls that are safe to repeat are retried.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RetryPolicy {
    /// Attempts in all, at least 1.
    pub(crate) attempts: u32,
    /// The wait between attempts.
    pub(crate) backoff: BackoffPolicy,
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
            .ok_or_else(|| Error::Config("the client has no device key".into()))?;
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
            .field("base_url", &self.inner.base_url.as_str())
            .field("credentials", &self.inner.credentials)
            .field("request_timeout", &self.inner.request_timeout)
            .field("encryption", &self.inner.encryption)
            .field("key_store", &self.inner.key_store)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// `base_url` + `api/v1/` + the segments, each percent-encoded.
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        // The builder refused URLs that cannot be a base, so this always succeeds.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["api", "v1"])
                .extend(segments.iter().copied());
        }
        url
    }
}

/// An API key: zeroized on drop, never printed.
#[derive(Clone)]
pub(crate) struct ApiKey(Arc<Zeroizing<String>>);

impl ApiKey {
    fn new(key: String) -> Self {
        Self(Arc::new(Zeroizing::new(key)))
    }

    /// The key itself, for the signature's key hash.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The key as a sensitive header value.
    pub(crate) fn header_value(&self) -> Result<reqwest::header::HeaderValue, Error> {
        http::sensitive(&self.0)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Configures a [`Client`]. `Debug` never shows the API key.
#[derive(Debug, Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    api_key: Option<ApiKey>,
    request_timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    http: Option<reqwest::Client>,
    device_key: Option<RequestSigner>,
    device_token: Option<ApiKey>,
    retry_attempts: Option<u32>,
    retry_backoff: Option<BackoffPolicy>,
    key_store: Option<Arc<dyn KeyStore>>,
    encryption: ask::EncryptionPolicy,
    expert_fingerprint: Option<String>,
}

impl ClientBuilder {
    /// The server's root, such as `https://heysummon.example.com` (a path prefix is kept:
    /// `https://example.com/heysummon` → `https://example.com/heysummon/api/v1/…`). Required.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API key sent as `x-api-key` (a client key, `hs_cli_…`). Required. Kept in memory that
    /// is zeroized on drop, and never printed.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key.into()));
        self
    }

    /// The limit of one ordinary request; a long-poll gets its hold on top. Default 30 s.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// The limit on establishing a connection. Default 10 s. Only applies to the HTTP client the
    /// builder makes; ignored with [`ClientBuilder::http_client`].
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Uses this reqwest client (proxies, root certificates, a shared pool). It should not follow
    /// redirects (`redirect::Policy::none()`), so the API key never goes to another host, and
    /// should have no overall timeout, which would cut event streams (the client sets per-request
    /// timeouts itself).
    #[must_use]
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Signs every request with this device key (PROTOCOL B4), so a Rust agent gets signed
    /// requests without the guard. Enroll the key's public half with the server first
    /// ([`Client::enroll_device`], or `heysummon-server client add --device-key`).
    #[must_use]
    pub fn device_key(mut self, key: SigningKeyPair) -> Self {
        self.device_key = Some(RequestSigner::new(key));
        self
    }

    /// Sends `x-device-token: TOKEN` with every request, for an API key bound to a device token
    /// (`heysummon-server client add --device-token`). Kept like the API key: zeroized, never
    /// printed.
    #[must_use]
    pub fn device_token(mut self, token: impl Into<String>) -> Self {
        self.device_token = Some(ApiKey::new(token.into()));
        self
    }

    /// How many attempts a call that is safe to repeat gets in all (default
    /// [`DEFAULT_RETRY_ATTEMPTS`]; 1 disables retries), and the backoff between them.
    #[must_use]
    pub fn retries(mut self, attempts: u32, backoff: BackoffPolicy) -> Self {
        self.retry_attempts = Some(attempts);
        self.retry_backoff = Some(backoff);
        self
    }

    /// Where per-request private keys, expert pins and identities are kept. Default: a
    /// [`MemoryKeyStore`], which does not survive a restart; use a
    /// [`crate::keystore::FileKeyStore`] for [`Client::resume`] after a restart and for
    /// trust-on-first-use pins that last.
    #[must_use]
    pub fn key_store(mut self, store: impl KeyStore + 'static) -> Self {
        self.key_store = Some(Arc::new(store));
        self
    }

    /// Shares one key store between clients.
    #[must_use]
    pub fn shared_key_store(mut self, store: Arc<dyn KeyStore>) -> Self {
        self.key_store = Some(store);
        self
    }

    /// Whether questions are sealed to the expert's published keys. Default
    /// [`EncryptionPolicy::Preferred`].
    #[must_use]
    pub fn encryption(mut self, policy: EncryptionPolicy) -> Self {
        self.encryption = policy;
        self
    }

    /// Pins the expert's key fingerprint from configuration (64 hex digits, spaces allowed):
    /// questions are sealed only to keys with this fingerprint, and any other published key is
    /// refused with [`Error::ExpertKeyChanged`]. Without it, the first key seen is pinned in the
    /// key store (trust on first use).
    #[must_use]
    pub fn expert_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.expert_fingerprint = Some(fingerprint.into());
        self
    }

    /// Builds an [`ExpertClient`] instead: the same settings, with an expert key as the API key.
    ///
    /// # Errors
    /// As [`ClientBuilder::build`].
    pub fn build_expert(self) -> Result<ExpertClient, Error> {
        self.build().map(ExpertClient::from_client)
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] without a base URL or API key, for a URL that is not `http(s)` or has a
    /// query or fragment, for an API key that cannot be a header value, for a malformed expert
    /// fingerprint or zero retry attempts, or when the HTTP client cannot be made.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = parse_base_url(
            self.base_url
                .as_deref()
                .ok_or_else(|| Error::Config("no base URL".into()))?,
        )?;
        let api_key = self
            .api_key
            .ok_or_else(|| Error::Config("no API key".into()))?;
        api_key.header_value()?;
        if let Some(token) = &self.device_token {
            token.header_value().map_err(|_| {
                Error::Config("the device token is not a valid header value".into())
            })?;
        }
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("heysummon-sdk/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| Error::Config(format!("HTTP client: {e}")))?,
        };
        let expert_fingerprint = self
            .expert_fingerprint
            .as_deref()
            .map(|text| {
                Fingerprint::parse(text)
                    .ok_or_else(|| Error::Config("expert fingerprint: not 64 hex digits".into()))
            })
            .transpose()?;
        let attempts = self.retry_attempts.unwrap_or(DEFAULT_RETRY_ATTEMPTS);
        if attempts == 0 {
            return Err(Error::Config("retry attempts must be at least 1".into()));
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                credentials: Arc::new(api::Credentials {
                    api_key,
                    device_token: self.device_token,
                    signer: self.device_key,
                }),
                request_timeout: self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
                retry: RetryPolicy {
                    attempts,
                    backoff: self.retry_backoff.unwrap_or_default(),
                },
                key_store: self
                    .key_store
                    .unwrap_or_else(|| Arc::new(MemoryKeyStore::new())),
                encryption: self.encryption,
                expert_fingerprint,
            }),
        })
    }
}

fn parse_base_url(text: &str) -> Result<Url, Error> {
    let mut url = Url::parse(text.trim()).map_err(|e| Error::Config(format!("base URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::Config("base URL must be an http(s) URL".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(
            "base URL must not have a query or fragment".into(),
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}
