//! The seam between the waiting logic and the network.
//!
//! [`super::wait`] decides *when* to ask and *what* an answer means; a [`Transport`] only asks.
//! The client's transport is HTTP (reqwest, and eventsource-client for the stream); the unit tests
//! drive the same decisions with a scripted transport under paused tokio time.

use std::future::Future;
use std::time::Duration;

use futures_util::Stream;

use crate::Error;
use crate::wire::{HelpStatusResponse, RequestId};

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

    /// Starts one connection to `GET /api/v1/events/stream?requestId=ID`, resuming after
    /// `last_event_id` when given. Nothing happens until the stream is polled.
    fn open_stream(&self, id: &RequestId, last_event_id: Option<&str>) -> Self::Stream;
}
