//! What every client shares with its clones, agent or expert: the connection pool, the server's
//! URL, the credentials, the timeouts, the retry policy and the key store; and the settings both
//! builders take to make it ([`ConnectionSettings`], with their setters written once in
//! [`connection_setters`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use super::hub::StreamHub;
use super::sse::StreamOpener;
use super::transport::{ApiKey, Credentials};
use crate::Error;
use crate::backoff::BackoffPolicy;
use crate::keystore::{KeyStore, MemoryKeyStore};
use crate::signing::RequestSigner;

/// The default limit of one ordinary request (not a long-poll's hold, not a stream).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The default limit on establishing a connection, for the client the builder makes itself.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default number of attempts of a call that is safe to repeat (the first and three retries).
pub const DEFAULT_RETRY_ATTEMPTS: u32 = 4;

/// The default number of requests a client and its clones have in flight at once (long-polls and
/// event streams aside); more wait their turn. A thousand asks made or waited on together then
/// share this many pooled connections instead of opening (and keeping) one each.
pub const DEFAULT_CONCURRENT_REQUESTS: usize = 32;

/// What the clones of a client share.
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// The server's root, always ending in `/`.
    pub(crate) base_url: Url,
    /// The API key, device token and device key, shared with the event stream's transport.
    pub(crate) credentials: Arc<Credentials>,
    pub(crate) request_timeout: Duration,
    /// Retries of calls that are safe to repeat.
    pub(crate) retry: RetryPolicy,
    /// Per-request keys, expert pins and identities.
    pub(crate) key_store: Arc<dyn KeyStore>,
    /// Opens event streams with the pool and the credentials.
    pub(crate) streams: StreamOpener,
    /// The one event stream of the client key that all waits share.
    pub(crate) stream_hub: StreamHub,
    /// Turns for requests in flight (long-polls and streams aside).
    pub(crate) in_flight: tokio::sync::Semaphore,
}

/// How calls that are safe to repeat are retried.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RetryPolicy {
    /// Attempts in all, at least 1.
    pub(crate) attempts: u32,
    /// The wait between attempts.
    pub(crate) backoff: BackoffPolicy,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("base_url", &self.base_url.as_str())
            .field("credentials", &self.credentials)
            .field("request_timeout", &self.request_timeout)
            .field("key_store", &self.key_store)
            .field("stream_hub", &self.stream_hub)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// `base_url` + `api/v1/` + the segments, each percent-encoded.
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Url {
        endpoint(&self.base_url, segments)
    }
}

/// `base_url` + `api/v1/` + the segments, each percent-encoded.
fn endpoint(base_url: &Url, segments: &[&str]) -> Url {
    let mut url = base_url.clone();
    // The builder refused URLs that cannot be a base, so this always succeeds.
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty()
            .extend(["api", "v1"])
            .extend(segments.iter().copied());
    }
    url
}

/// The settings every client has, whoever holds the key. Both builders wrap one and expose its
/// setters through [`connection_setters`]. `Debug` never shows the API key.
#[derive(Debug, Default)]
pub(crate) struct ConnectionSettings {
    pub(crate) base_url: Option<String>,
    pub(crate) api_key: Option<ApiKey>,
    pub(crate) request_timeout: Option<Duration>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) http: Option<reqwest::Client>,
    /// PEM bundles of extra root certificates, parsed by `connect`.
    pub(crate) root_certificates_pem: Vec<Vec<u8>>,
    /// Whether the built-in roots are trusted (default yes).
    pub(crate) built_in_roots: Option<bool>,
    pub(crate) retry_attempts: Option<u32>,
    pub(crate) retry_backoff: Option<BackoffPolicy>,
    pub(crate) concurrent_requests: Option<usize>,
    pub(crate) key_store: Option<Arc<dyn KeyStore>>,
}

impl ConnectionSettings {
    /// Checks the settings and makes the shared state, with the agent's device token and device
    /// key when it has them.
    ///
    /// # Errors
    /// [`Error::Config`] without a base URL or API key, for a URL that is not `http(s)` or has a
    /// query or fragment, for an API key or device token that cannot be a header value, for zero
    /// retry attempts, or when the HTTP client cannot be made.
    pub(crate) fn connect(
        self,
        device_token: Option<ApiKey>,
        signer: Option<RequestSigner>,
    ) -> Result<Inner, Error> {
        let base_url = parse_base_url(
            self.base_url
                .as_deref()
                .ok_or_else(|| Error::config("no base URL"))?,
        )?;
        let api_key = self.api_key.ok_or_else(|| Error::config("no API key"))?;
        api_key.header_value()?;
        if let Some(token) = &device_token {
            token
                .header_value()
                .map_err(|_| Error::config("the device token is not a valid header value"))?;
        }
        let http = match self.http {
            Some(http) => http,
            None => {
                let mut builder = reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("heysummon-sdk/", env!("CARGO_PKG_VERSION")))
                    .tls_built_in_root_certs(self.built_in_roots.unwrap_or(true));
                for pem in &self.root_certificates_pem {
                    for certificate in parse_root_certificates(pem)? {
                        builder = builder.add_root_certificate(certificate);
                    }
                }
                let what = if self.root_certificates_pem.is_empty() {
                    "HTTP client"
                } else {
                    // reqwest checks the certificates' contents only here.
                    "HTTP client with the added root certificates"
                };
                builder
                    .build()
                    .map_err(|e| Error::config(what).because(e))?
            }
        };
        let attempts = self.retry_attempts.unwrap_or(DEFAULT_RETRY_ATTEMPTS);
        if attempts == 0 {
            return Err(Error::config("retry attempts must be at least 1"));
        }
        let concurrent_requests = self
            .concurrent_requests
            .unwrap_or(DEFAULT_CONCURRENT_REQUESTS);
        if !(1..=tokio::sync::Semaphore::MAX_PERMITS).contains(&concurrent_requests) {
            return Err(Error::config(format!(
                "concurrent requests must be between 1 and {}",
                tokio::sync::Semaphore::MAX_PERMITS
            )));
        }
        let credentials = Arc::new(Credentials {
            api_key,
            device_token,
            signer,
        });
        let request_timeout = self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT);
        let streams = StreamOpener::new(
            http.clone(),
            Arc::clone(&credentials),
            base_url.clone(),
            request_timeout,
        );
        let stream_hub = {
            let streams = streams.clone();
            let url = endpoint(&base_url, &["events", "stream"]);
            StreamHub::new(Box::new(move |resume| streams.open(&url, resume)))
        };
        Ok(Inner {
            http,
            base_url,
            credentials,
            request_timeout,
            retry: RetryPolicy {
                attempts,
                backoff: self.retry_backoff.unwrap_or_default(),
            },
            key_store: self
                .key_store
                .unwrap_or_else(|| Arc::new(MemoryKeyStore::new())),
            streams,
            stream_hub,
            in_flight: tokio::sync::Semaphore::new(concurrent_requests),
        })
    }
}

/// The certificates of one PEM bundle: at least one.
fn parse_root_certificates(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, Error> {
    let certificates = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|e| Error::config("root certificates: not PEM certificates").because(e))?;
    if certificates.is_empty() {
        return Err(Error::config(
            "root certificates: no -----BEGIN CERTIFICATE----- block in the PEM text",
        ));
    }
    Ok(certificates)
}

fn parse_base_url(text: &str) -> Result<Url, Error> {
    let mut url = Url::parse(text.trim()).map_err(|e| Error::config("base URL").because(e))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::config("base URL must be an http(s) URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config("base URL must not have a query or fragment"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The setters of [`ConnectionSettings`], for a builder with a `connection` field: written once,
/// so the agent's and the expert's builders cannot drift apart.
macro_rules! connection_setters {
    () => {
        /// The server's root, such as `https://heysummon.example.com` (a path prefix is kept:
        /// `https://example.com/heysummon` → `https://example.com/heysummon/api/v1/…`).
        /// Required.
        #[must_use]
        pub fn base_url(mut self, url: impl Into<String>) -> Self {
            self.connection.base_url = Some(url.into());
            self
        }

        /// The API key sent as `x-api-key`. Required. Kept in memory that is zeroized on drop,
        /// and never printed.
        #[must_use]
        pub fn api_key(mut self, key: impl Into<String>) -> Self {
            self.connection.api_key = Some($crate::client::transport::ApiKey::new(key.into()));
            self
        }

        /// The limit of one ordinary request; a long-poll gets its hold on top. Default 30 s.
        #[must_use]
        pub fn request_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.connection.request_timeout = Some(timeout);
            self
        }

        /// The limit on establishing a connection. Default 10 s. Only applies to the HTTP
        /// client the builder makes; ignored with [`Self::http_client`].
        #[must_use]
        pub fn connect_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.connection.connect_timeout = Some(timeout);
            self
        }

        /// Trusts the certificate authorities in `pem` (one or more `-----BEGIN
        /// CERTIFICATE-----` blocks) for an `https://` server, besides the built-in roots: for
        /// a server whose certificate a private or self-signed authority issued. May be called
        /// more than once. The text is checked by `build`. The server's certificate and name
        /// are always verified. Only applies to the HTTP client the builder makes; ignored with
        /// [`Self::http_client`].
        #[must_use]
        pub fn add_root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
            self.connection
                .root_certificates_pem
                .push(pem.as_ref().to_vec());
            self
        }

        /// Whether the built-in root certificates (Mozilla's, compiled in) are trusted. Default
        /// `true`; with `false` only the authorities added with
        /// [`Self::add_root_certificates_pem`] are. Only applies to the HTTP client the builder
        /// makes; ignored with [`Self::http_client`].
        #[must_use]
        pub fn built_in_root_certificates(mut self, trusted: bool) -> Self {
            self.connection.built_in_roots = Some(trusted);
            self
        }

        /// Uses this reqwest client (proxies, root certificates, a shared pool). It should not
        /// follow redirects (`redirect::Policy::none()`), so the API key never goes to another
        /// host, and should have no overall timeout, which would cut event streams (the client
        /// sets per-request timeouts itself).
        #[must_use]
        pub fn http_client(mut self, http: reqwest::Client) -> Self {
            self.connection.http = Some(http);
            self
        }

        /// How many attempts a call that is safe to repeat gets in all (default
        /// [`DEFAULT_RETRY_ATTEMPTS`](crate::client::DEFAULT_RETRY_ATTEMPTS); 1 disables
        /// retries), and the backoff between them.
        #[must_use]
        pub fn retries(mut self, attempts: u32, backoff: $crate::client::BackoffPolicy) -> Self {
            self.connection.retry_attempts = Some(attempts);
            self.connection.retry_backoff = Some(backoff);
            self
        }

        /// How many requests the client and its clones have in flight at once; more wait their
        /// turn (default [`DEFAULT_CONCURRENT_REQUESTS`](crate::client::DEFAULT_CONCURRENT_REQUESTS)).
        /// Long-polls and event streams are not counted. Each request in flight may need a
        /// connection of its own, which the pool keeps afterwards; `build` refuses 0.
        #[must_use]
        pub fn concurrent_requests(mut self, requests: usize) -> Self {
            self.connection.concurrent_requests = Some(requests);
            self
        }

        /// Where keys are kept: an agent's per-request private keys and expert pins, an
        /// expert's long-term identity. Default: a [`MemoryKeyStore`](crate::keystore::MemoryKeyStore),
        /// which does not survive a restart; use a [`FileKeyStore`](crate::keystore::FileKeyStore)
        /// to keep them (for [`Client::resume`](crate::client::Client::resume) after a restart,
        /// for trust-on-first-use pins that last, for an expert identity that agents keep
        /// trusting).
        #[must_use]
        pub fn key_store(mut self, store: impl $crate::keystore::KeyStore + 'static) -> Self {
            self.connection.key_store = Some(::std::sync::Arc::new(store));
            self
        }

        /// Shares one key store between clients.
        #[must_use]
        pub fn shared_key_store(
            mut self,
            store: ::std::sync::Arc<dyn $crate::keystore::KeyStore>,
        ) -> Self {
            self.connection.key_store = Some(store);
            self
        }
    };
}

pub(crate) use connection_setters;

#[cfg(test)]
mod tests {
    use crate::Client;
    use crate::Error;

    fn with_roots(pem: &str) -> Result<Client, Error> {
        Client::builder()
            .base_url("https://heysummon.example.com")
            .api_key("hs_cli_roots0001")
            .add_root_certificates_pem(pem)
            .built_in_root_certificates(false)
            .build()
    }

    #[test]
    fn root_certificates_must_be_pem_certificates() {
        for bad in [
            "",
            "not a certificate",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
        ] {
            let error = with_roots(bad).expect_err(bad);
            assert!(matches!(error, Error::Config { .. }), "{bad:?}: {error}");
            assert!(error.to_string().contains("root certificates"), "{error}");
        }
    }
}
