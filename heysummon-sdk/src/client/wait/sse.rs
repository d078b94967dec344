//! The event stream strategy: one connection after another, each confirmed by a status read,
//! how a failed connection is judged, and when Auto gives up on streams.

use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::time::{Instant, timeout_at};

use super::shared::later;
use super::{Outcome, Waiter};
use crate::Error;
use crate::backoff::max_floor;
use crate::client::http::network;
use crate::client::transport::{SseEvent, SseItem, Transport};
use crate::error::NetworkErrorKind;
use crate::wire::{HelpStatusResponse, StreamEvent};

/// Streams in a row that failed before proving themselves, after which Auto falls back.
const UNHEALTHY_STREAMS_BEFORE_FALLBACK: u32 = 3;
/// A stream that delivered keep-alives but no event counts as healthy once it has lived this long.
const HEALTHY_STREAM_AGE: Duration = Duration::from_secs(15);

/// How a failed stream connection is judged.
#[derive(Debug, PartialEq, Eq)]
enum StreamFailure {
    /// The server has no such stream: 404, 405, not an event stream, a redirect.
    Unsupported,
    /// No connection could be made.
    Unreachable,
    /// Worth reconnecting.
    Transient,
    /// Reconnecting will not help (401, 403, 400, a bad configuration).
    Fatal,
}

fn classify_stream_failure(error: &Error, connected: bool) -> StreamFailure {
    match error {
        Error::Http { status, .. } if !connected => match status {
            404 | 405 | 406 | 501 => StreamFailure::Unsupported,
            _ if error.is_retryable() => StreamFailure::Transient,
            _ => StreamFailure::Fatal,
        },
        Error::Network {
            kind: NetworkErrorKind::Connect,
            ..
        } if !connected => StreamFailure::Unreachable,
        Error::Protocol(_) if !connected => StreamFailure::Unsupported,
        Error::Config { .. } => StreamFailure::Fatal,
        _ => StreamFailure::Transient,
    }
}

/// How one stream connection ended without a final status.
struct StreamEnd {
    error: Error,
    connected: bool,
    healthy: bool,
}

impl<T: Transport> Waiter<'_, T> {
    pub(super) async fn sse(&mut self, auto: bool) -> Result<Outcome, Error> {
        let mut unhealthy = 0u32;
        loop {
            if let Some(outcome) = self.hand_over(Instant::now(), None).await? {
                return Ok(outcome);
            }
            let end = match self.sse_connection().await? {
                Ok(status) => return Ok(Outcome::Done(status)),
                Err(end) => end,
            };
            match classify_stream_failure(&end.error, end.connected) {
                StreamFailure::Fatal => return Err(end.error),
                StreamFailure::Unsupported if auto => return Ok(Outcome::SseUnavailable),
                StreamFailure::Unsupported => return Err(end.error),
                StreamFailure::Unreachable if auto => return Ok(Outcome::SseUnavailable),
                StreamFailure::Unreachable | StreamFailure::Transient => {}
            }
            if end.healthy {
                unhealthy = 0;
                self.stream_backoff.reset();
            } else {
                unhealthy += 1;
                if auto && unhealthy >= UNHEALTHY_STREAMS_BEFORE_FALLBACK {
                    return Ok(Outcome::SseUnavailable);
                }
            }
            let floor = max_floor(end.error.retry_after(), self.retry_hint);
            let delay = self.stream_backoff.next_delay(floor);
            self.sleep(later(Instant::now(), delay)).await;
        }
    }

    /// One connection: confirms the status on connect and on every event for the request;
    /// returns the final status, or how the connection ended.
    async fn sse_connection(&mut self) -> Result<Result<HelpStatusResponse, StreamEnd>, Error> {
        let mut stream = self
            .transport
            .open_stream(self.id, self.options.sse_idle_timeout);
        let mut connected_at = None;
        let mut got_event = false;
        let mut got_comment = false;
        let error = loop {
            let now = Instant::now();
            if now >= self.expiry {
                return self.final_status().await.map(Ok);
            }
            let silent_until = later(now, self.options.sse_idle_timeout).min(self.expiry);
            let item = match timeout_at(silent_until, stream.next()).await {
                Ok(Some(item)) => item,
                Ok(None) => Err(network(
                    NetworkErrorKind::Interrupted,
                    "the event stream ended",
                )),
                Err(_) if self.expired() => continue,
                Err(_) => Err(network(
                    NetworkErrorKind::Timeout,
                    "nothing on the event stream, not even a keep-alive",
                )),
            };
            match item {
                Ok(SseItem::Connected { event_stream: true }) => {
                    connected_at = Some(Instant::now());
                    // Whatever happened before this connection may not be replayed (no
                    // Last-Event-ID yet, or one the server no longer keeps): look.
                    if let Some(done) = self.confirm().await? {
                        return Ok(Ok(done));
                    }
                }
                Ok(SseItem::Connected {
                    event_stream: false,
                }) => {
                    break Error::Protocol(
                        "the event stream endpoint did not answer text/event-stream".into(),
                    );
                }
                Ok(SseItem::Comment) => got_comment = true,
                Ok(SseItem::Event(event)) => {
                    got_event = true;
                    if let Some(retry) = event.retry {
                        self.retry_hint = Some(retry);
                    }
                    if self.concerns_us(&event)
                        && let Some(done) = self.confirm().await?
                    {
                        return Ok(Ok(done));
                    }
                }
                Err(error) => break error,
            }
        };
        // A stream proves itself with an event, or with keep-alives over a while; one that dies
        // young or says nothing does not (a proxy that buffers or cuts streams).
        let lived = connected_at.is_some_and(|at: Instant| at.elapsed() >= HEALTHY_STREAM_AGE);
        let healthy = got_event || (got_comment && lived);
        Ok(Err(StreamEnd {
            error,
            connected: connected_at.is_some(),
            healthy,
        }))
    }

    /// An event we cannot read is assumed to concern us: the status check settles it.
    fn concerns_us(&self, event: &SseEvent) -> bool {
        serde_json::from_str::<StreamEvent>(&event.data)
            .map_or(true, |parsed| parsed.request_id == *self.id)
    }
}

#[cfg(test)]
mod classify_tests {
    use super::*;
    use crate::wire::ErrorBody;

    fn http(status: u16) -> Error {
        Error::Http {
            status,
            body: Some(Box::new(ErrorBody::new("x"))),
            retry_after: None,
        }
    }

    #[test]
    fn stream_failures() {
        use StreamFailure::*;
        assert_eq!(classify_stream_failure(&http(404), false), Unsupported);
        assert_eq!(classify_stream_failure(&http(405), false), Unsupported);
        assert_eq!(classify_stream_failure(&http(401), false), Fatal);
        assert_eq!(classify_stream_failure(&http(429), false), Transient);
        assert_eq!(classify_stream_failure(&http(503), false), Transient);
        let refused = network(NetworkErrorKind::Connect, "refused");
        assert_eq!(classify_stream_failure(&refused, false), Unreachable);
        let broke = network(NetworkErrorKind::Interrupted, "eof");
        assert_eq!(classify_stream_failure(&broke, true), Transient);
        let odd = Error::Protocol("not an event stream".into());
        assert_eq!(classify_stream_failure(&odd, false), Unsupported);
        assert_eq!(classify_stream_failure(&odd, true), Transient);
    }
}
