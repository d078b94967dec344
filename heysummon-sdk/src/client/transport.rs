//! The seam between the client and the network: what every request carries, and what the
//! waiting logic asks.
//!
//! [`Credentials`] put the API key, the device token and the request signature (PROTOCOL B4) on
//! every request, the event stream's included; the typed calls and the event stream both use
//! them, so neither depends on the other for it.
//!
//! [`super::wait`] decides *when* to ask and *what* an answer means; a [`Transport`] only asks.
//! The client's transport is HTTP (reqwest, and eventsource-client for the stream); the unit tests
//! drive the same decisions with a scripted transport under paused tokio time.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use reqwest::header::HeaderValue;
use reqwest::{Method, Url};
use zeroize::Zeroizing;

use crate::Error;
use crate::signing::{RequestParts, RequestSigner};
use crate::wire::{HelpStatusResponse, RequestId};

/// The header that carries the API key.
pub(crate) const API_KEY_HEADER: &str = "x-api-key";

/// One thing that arrived on an event stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SseItem {
    /// The server accepted the connection (a 2xx answer).
    Connected {
        /// The answer says `Content-Type: text/event-stream`. A server that answers something
        /// else with 200 does not have the stream we want.
        event_stream: bool,
    },
    /// An event.
    Event(SseEvent),
    /// A comment line (`: keep-alive`, `: connected`): proof of life, nothing more.
    Comment,
}

/// An event as it came off the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `id:` (the server's log position), for `Last-Event-ID` on reconnect.
    pub(crate) id: Option<String>,
    /// The `event:` type.
    pub(crate) event_type: String,
    /// The `data:`, a [`crate::wire::StreamEvent`] in JSON from our server.
    pub(crate) data: String,
    /// A `retry:` reconnection hint that came with the event.
    pub(crate) retry: Option<Duration>,
}

/// How the waiting logic reaches a server.
///
/// Errors follow the client's conventions: an HTTP error status is [`Error::Http`] (with the
/// server's `Retry-After`), a failed connection [`Error::Network`] with
/// [`crate::NetworkErrorKind::Connect`]. A stream yields its errors as items and is dropped after
/// the first one; the caller decides whether and when to open another.
pub(crate) trait Transport: Sync {
    /// The event stream of one connection attempt.
    type Stream: Stream<Item = Result<SseItem, Error>> + Send + Unpin;

    /// `GET /api/v1/help/:id`.
    fn status(
        &self,
        id: &RequestId,
    ) -> impl Future<Output = Result<HelpStatusResponse, Error>> + Send;

    /// `GET /api/v1/help/:id?wait=N`, N being `hold` in whole seconds (at most 50).
    fn long_poll(
        &self,
        id: &RequestId,
        hold: Duration,
    ) -> impl Future<Output = Result<HelpStatusResponse, Error>> + Send;

    /// Starts one connection to the events of request `id`: on the client, a subscription to
    /// its shared event stream ([`super::hub`]), which resumes after the last event it saw and
    /// ends a connection silent for longer than `idle_timeout`. Nothing is sent before the
    /// stream is polled or the shared connection is up.
    fn open_stream(&self, id: &RequestId, idle_timeout: Duration) -> Self::Stream;
}

/// Whether an event id can travel back in a `Last-Event-ID` header (ours are decimal numbers).
pub(crate) fn resumable_event_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
}

/// The header of a key bound to a device token (PROTOCOL D).
pub(crate) const DEVICE_TOKEN_HEADER: &str = "x-device-token";

/// The path and query of `url` exactly as reqwest sends them (what a signature covers).
pub(crate) fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// What identifies the client on every request, the event stream's included: the API key, the
/// device token of a key bound to one, and the device key that signs (PROTOCOL B4). `Debug`
/// shows none of the secrets.
pub(crate) struct Credentials {
    /// `x-api-key`.
    pub(crate) api_key: ApiKey,
    /// `x-device-token`, for a key bound to one (PROTOCOL D).
    pub(crate) device_token: Option<ApiKey>,
    /// Signs every request when the agent has a device key.
    pub(crate) signer: Option<RequestSigner>,
}

impl Credentials {
    /// Adds the key, the device token and, when `sign` and there is a device key, the four
    /// signature headers over `method`, the path and query of `url` and `body` (a fresh nonce
    /// each time, so a retry is never a replay). The key and token were checked to be header
    /// values when the client was built.
    pub(crate) fn apply(
        &self,
        mut builder: reqwest::RequestBuilder,
        method: &Method,
        url: &Url,
        body: &[u8],
        sign: bool,
    ) -> reqwest::RequestBuilder {
        if let Ok(key) = self.api_key.header_value() {
            builder = builder.header(API_KEY_HEADER, key);
        }
        if let Some(token) = self
            .device_token
            .as_ref()
            .and_then(|t| t.header_value().ok())
        {
            builder = builder.header(DEVICE_TOKEN_HEADER, token);
        }
        if let Some(signer) = self.signer.as_ref().filter(|_| sign) {
            let path = path_and_query(url);
            let parts = RequestParts {
                method: method.as_str(),
                path_and_query: &path,
                body,
                api_key: self.api_key.expose(),
            };
            for (name, value) in signer.sign(&parts).to_pairs() {
                builder = builder.header(name, value);
            }
        }
        builder
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key)
            .field(
                "device_token",
                &self.device_token.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "device",
                &self.signer.as_ref().map(RequestSigner::device_id),
            )
            .finish()
    }
}

/// An API key or a device token: zeroized on drop, never printed.
#[derive(Clone)]
pub(crate) struct ApiKey(Arc<Zeroizing<String>>);

impl ApiKey {
    pub(crate) fn new(key: String) -> Self {
        Self(Arc::new(Zeroizing::new(key)))
    }

    /// The key itself, for the signature's key hash.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The key as a sensitive header value.
    pub(crate) fn header_value(&self) -> Result<HeaderValue, Error> {
        sensitive(&self.0)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The value of the API key header, marked sensitive (never printed by `Debug`, never indexed by
/// HTTP/2 header compression).
fn sensitive(value: &str) -> Result<HeaderValue, Error> {
    let mut header = HeaderValue::from_str(value)
        .map_err(|_| Error::config("the API key is not a valid header value"))?;
    header.set_sensitive(true);
    Ok(header)
}
