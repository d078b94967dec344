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
//! Every public async function documents whether it is cancel-safe. None of them changes
//! anything on the server, so dropping one loses nothing: calling it again starts over.

mod backoff;
mod http;
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

pub use backoff::BackoffPolicy;
pub use options::{MAX_LONG_POLL_WAIT, WaitOptions, WaitStrategy};

use crate::Error;
use crate::wire::{HelpStatusResponse, RequestId};

/// The default limit of one ordinary request (not a long-poll's hold, not a stream).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The default limit on establishing a connection, for the client the builder makes itself.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A HeySummon client for one server and one API key. Cheap to clone: clones share one
/// connection pool.
///
/// `Debug` never shows the API key.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// What the clones of a [`Client`] share.
pub(crate) struct Inner {
    http: reqwest::Client,
    /// The server's root, always ending in `/`.
    base_url: Url,
    api_key: ApiKey,
    request_timeout: Duration,
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

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("api_key", &self.inner.api_key)
            .field("request_timeout", &self.inner.request_timeout)
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

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] without a base URL or API key, for a URL that is not `http(s)` or has a
    /// query or fragment, for an API key that cannot be a header value, or when the HTTP client
    /// cannot be made.
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
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("heysummon-sdk/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| Error::Config(format!("HTTP client: {e}")))?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                api_key,
                request_timeout: self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
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
