//! The event stream (`GET /api/v1/events/stream`) through eventsource-client, over the client's
//! own reqwest connection pool.
//!
//! Reconnection is ours, not eventsource-client's: each stream is built with reconnect disabled
//! and dropped after its first error; whoever opened it (the waits' shared stream in
//! [`super::hub`], a feed's nudge) opens the next one. Driving it ourselves is what lets one
//! decision see every failure: a 404/405 at connect means "this server
//! has no stream, fall back" (eventsource-client would retry it forever); a dead connection found
//! by our liveness window (nothing, not even a keep-alive, for 45 s) is handled exactly like a
//! broken one; and every wait goes through the one shared backoff, with the server's
//! `Retry-After` or `retry:` as its floor, as the design asks. The resume point is the last event
//! id the opener saw, passed to the new stream as `Last-Event-ID`.
//!
//! Note: eventsource-client 0.18 reports a `retry:` field only together with an event that has
//! data; a block of its own (`retry: 3000` then a blank line) is dropped by its parser, so such a
//! hint is not seen.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use eventsource_client::{self as es, Client as _};
use futures_util::{Stream, StreamExt as _, TryStreamExt as _, stream};
use launchdarkly_sdk_transport::{
    ByteStream, HttpTransport, Request, ResponseFuture, TransportError,
};
use sync_wrapper::{SyncFuture, SyncStream};

use super::http::{MAX_ERROR_BODY, http_error_from, network, network_kind, parse_retry_after};
use super::transport::Credentials;
use super::transport::{SseEvent, SseItem};
use crate::Error;
use crate::error::NetworkErrorKind;
use crate::wire::Timestamp;

/// One connection's items.
pub(crate) type SseStream = Pin<Box<dyn Stream<Item = Result<SseItem, Error>> + Send>>;

/// Opens event streams of one server with the client's pool and credentials. Cheap to clone;
/// the client's shared stream ([`super::hub`]) keeps one.
#[derive(Clone)]
pub(crate) struct StreamOpener {
    transport: ReqwestTransport,
    /// The limit on reading an error answer's body.
    body_timeout: Duration,
}

impl StreamOpener {
    pub(crate) fn new(
        http: reqwest::Client,
        credentials: Arc<Credentials>,
        base_url: reqwest::Url,
        body_timeout: Duration,
    ) -> Self {
        Self {
            transport: ReqwestTransport {
                http,
                credentials,
                base_url,
            },
            body_timeout,
        }
    }

    /// Opens the event stream at `url`, resuming after `last_event_id` when given (lazily:
    /// nothing is sent until polled).
    pub(crate) fn open(&self, url: &reqwest::Url, last_event_id: Option<&str>) -> SseStream {
        let builder = match es::ClientBuilder::for_url(url.as_str()) {
            Ok(builder) => builder,
            Err(error) => {
                let error = Error::config("event stream URL").because(error);
                return Box::pin(stream::once(async move { Err(error) }));
            }
        };
        let mut builder = builder
            .reconnect(
                es::ReconnectOptions::reconnect(false)
                    .retry_initial(false)
                    .build(),
            )
            // The API key must never follow a redirect; our server does not redirect.
            .redirect_limit(0);
        if let Some(last) = last_event_id {
            builder = builder.last_event_id(last.to_owned());
        }
        let body_timeout = self.body_timeout;
        let events = builder
            .build_with_transport(self.transport.clone())
            .stream();
        Box::pin(events.then(move |item| convert(item, body_timeout)))
    }
}

/// eventsource-client's view of an answer, in the client's terms.
async fn convert(item: es::Result<es::SSE>, body_timeout: Duration) -> Result<SseItem, Error> {
    match item {
        Ok(es::SSE::Connected(details)) => {
            let content_type = details
                .response()
                .get_header_value("content-type")
                .ok()
                .flatten()
                .unwrap_or_default();
            Ok(SseItem::Connected {
                event_stream: content_type
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("text/event-stream"),
            })
        }
        Ok(es::SSE::Event(event)) => Ok(SseItem::Event(SseEvent {
            id: event.id,
            event_type: event.event_type,
            data: event.data,
            retry: event.retry.map(Duration::from_millis),
        })),
        Ok(es::SSE::Comment(_)) => Ok(SseItem::Comment),
        Err(error) => Err(convert_error(error, body_timeout).await),
    }
}

async fn convert_error(error: es::Error, body_timeout: Duration) -> Error {
    match error {
        es::Error::UnexpectedResponse(response, body) => {
            let retry_after = response
                .get_header_value("retry-after")
                .ok()
                .flatten()
                .and_then(|value| parse_retry_after(value, Timestamp::now()));
            let body = tokio::time::timeout(body_timeout, read_capped(body.into_stream()))
                .await
                .ok()
                .flatten();
            http_error_from(response.status(), retry_after, body.as_deref())
        }
        es::Error::Transport(error) => {
            let kind = error
                .inner()
                .downcast_ref::<reqwest::Error>()
                .map_or(NetworkErrorKind::Other, network_kind);
            Error::Network {
                kind,
                source: Box::new(error),
            }
        }
        es::Error::HttpStream(source) => Error::Network {
            kind: NetworkErrorKind::Interrupted,
            source,
        },
        es::Error::TimedOut => network(NetworkErrorKind::Timeout, "the event stream timed out"),
        es::Error::Eof | es::Error::UnexpectedEof => {
            network(NetworkErrorKind::Interrupted, "the event stream ended")
        }
        // The messages may quote stream content; say only what kind of problem it was.
        es::Error::InvalidLine(_) | es::Error::InvalidEvent => {
            Error::Protocol("malformed event stream".into())
        }
        es::Error::MaxRedirectLimitReached(_) | es::Error::MalformedLocationHeader(_) => {
            Error::Protocol("the event stream endpoint redirected".into())
        }
        es::Error::InvalidParameter(error) => Error::config("event stream").because(error),
    }
}

/// Reads at most [`MAX_ERROR_BODY`] bytes of an error body; `None` if it is larger or breaks.
async fn read_capped(mut body: ByteStream) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.ok()?;
        if bytes.len() + chunk.len() > MAX_ERROR_BODY {
            return None;
        }
        bytes.extend_from_slice(&chunk);
    }
    Some(bytes)
}

/// eventsource-client's HTTP transport on the client's reqwest pool.
///
/// The API key is added here rather than with `ClientBuilder::header`, so that it is sent only
/// to the configured server's origin and always as a sensitive header value.
#[derive(Clone)]
struct ReqwestTransport {
    http: reqwest::Client,
    /// Key, device token and device key (each connection is signed afresh).
    credentials: Arc<Credentials>,
    base_url: reqwest::Url,
}

impl HttpTransport for ReqwestTransport {
    fn request(&self, request: Request<Option<Bytes>>) -> ResponseFuture {
        let (parts, body) = request.into_parts();
        let url = parts.uri.to_string();
        let method = parts.method.clone();
        let mut builder = self
            .http
            .request(parts.method, url.as_str())
            .headers(parts.headers);
        // The credentials go only to the configured server's origin.
        if let Some(target) = reqwest::Url::parse(&url)
            .ok()
            .filter(|target| target.origin() == self.base_url.origin())
        {
            let body = body.as_deref().unwrap_or_default();
            builder = self
                .credentials
                .apply(builder, &method, &target, body, true);
        }
        if let Some(body) = body {
            builder = builder.body(body);
        }
        // eventsource-client wants `Sync` futures and streams; reqwest's are only `Send`.
        // `SyncFuture`/`SyncStream` are `Sync` because they only ever hand out `&mut` access.
        Box::pin(SyncFuture::new(async move {
            let response = builder.send().await.map_err(TransportError::new)?;
            let status = response.status();
            let headers = response.headers().clone();
            let body: ByteStream = Box::pin(SyncStream::new(
                response.bytes_stream().map_err(TransportError::new),
            ));
            let mut converted = launchdarkly_sdk_transport::Response::new(body);
            *converted.status_mut() = status;
            *converted.headers_mut() = headers;
            Ok(converted)
        }))
    }
}
