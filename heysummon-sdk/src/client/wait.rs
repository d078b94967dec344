//! The waiting logic of [`super::Client::wait`], independent of the network: when to ask, how to
//! read an answer, when to fall back from one strategy to the next and when to come back.
//!
//! Every sleep here is a [`tokio::time`] sleep and every network call goes through a
//! [`Transport`], so the unit tests replay hours of waiting in milliseconds under
//! `tokio::time::pause()`.
//!
//! The state machine of [`WaitStrategy::Auto`]:
//!
//! ```text
//!            404/405/not an event stream/unreachable,
//!            or 3 streams in a row that died young
//!   ┌─────┐ ─────────────────────────────────────────▶ ┌───────────┐  3 answers in a row that
//!   │ SSE │                                             │ long-poll │  ignored `wait` ┌────────────┐
//!   └─────┘ ◀───────────────────────────────────────── └───────────┘ ───────────────▶│ smart poll │
//!      ▲          every `sse_retry_interval`                                         └────────────┘
//!      └───────────────────────────────────────────────────────────────────────────────────┘
//!                                   every `sse_retry_interval`
//! ```
//! A failed return to SSE goes back to the mode it came from.

use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::time::{Instant, sleep_until, timeout_at};

use super::backoff::{Backoff, max_floor};
use super::options::{WaitOptions, WaitStrategy};
use super::transport::{SseEvent, SseItem, Transport};
use crate::Error;
use crate::error::NetworkErrorKind;
use crate::wire::{HelpStatusResponse, RequestId, StreamEvent, Timestamp};

/// How long a wait lasts when neither the caller nor the server says when the request expires
/// (the longest default lifetime of a request: a notification's seven days).
pub(crate) const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Streams in a row that failed before proving themselves, after which Auto falls back.
const UNHEALTHY_STREAMS_BEFORE_FALLBACK: u32 = 3;
/// A stream that delivered keep-alives but no event counts as healthy once it has lived this long.
const HEALTHY_STREAM_AGE: Duration = Duration::from_secs(15);
/// Long-polls in a row answered without holding, after which Auto falls back to smart polling.
const EARLY_LONG_POLLS_BEFORE_FALLBACK: u32 = 3;
/// Only a hold at least this long tells whether the server honours `wait`.
const MIN_PROBING_HOLD: Duration = Duration::from_secs(2);

/// When a wait is over: the status says so.
pub(crate) type Done = fn(&HelpStatusResponse) -> bool;

/// The usual end of a wait: the request is no longer waiting.
pub(crate) fn not_waiting(status: &HelpStatusResponse) -> bool {
    !status.status.is_waiting()
}

/// Waits until the request's status is no longer waiting; see [`super::Client::wait`].
pub(crate) async fn wait<T: Transport>(
    transport: &T,
    id: &RequestId,
    options: &WaitOptions,
) -> Result<HelpStatusResponse, Error> {
    wait_until(transport, id, options, not_waiting).await
}

/// Waits until `done` holds for the request's status. Every event of the request on the stream,
/// every long-poll answer and every poll is a chance to see it; at the request's expiry the
/// status is read once more, and if `done` still does not hold the wait ends with
/// [`Error::Timeout`] (or with the final status, when the request reached one).
pub(crate) async fn wait_until<T: Transport>(
    transport: &T,
    id: &RequestId,
    options: &WaitOptions,
    done: Done,
) -> Result<HelpStatusResponse, Error> {
    options.validate()?;
    let started = Instant::now();
    let deadline = earliest(options.timeout.map(|t| later(started, t)), options.deadline);
    let run = async {
        let mut waiter = Waiter::new(transport, id, options, started, done);
        let first = waiter.status_retrying().await?;
        if waiter.finished(&first) {
            return Ok(first);
        }
        waiter.learn(&first);
        waiter.run().await
    };
    match deadline {
        Some(deadline) => timeout_at(deadline, run).await.unwrap_or_else(|_| {
            Err(Error::Timeout {
                waited: started.elapsed(),
            })
        }),
        None => run.await,
    }
}

/// The modes a wait can be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Sse,
    LongPoll,
    SmartPoll,
}

/// Why a mode handed over.
enum Outcome {
    /// The request is no longer waiting.
    Done(HelpStatusResponse),
    /// The server has no usable event stream (Auto only).
    SseUnavailable,
    /// The server does not hold long-polls (Auto only).
    LongPollUnsupported,
    /// Time to try the event stream again (Auto only).
    RetrySse,
}

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

struct Waiter<'a, T> {
    transport: &'a T,
    id: &'a RequestId,
    options: &'a WaitOptions,
    started: Instant,
    /// The request's age when the wait started (smart polling counts phases from creation).
    age_at_start: Duration,
    /// When the request expires, on the tokio clock.
    expiry: Instant,
    /// Retries of requests (status, long-poll).
    backoff: Backoff,
    /// When the wait is over.
    done: Done,
    /// Reconnects of the event stream: a connection that succeeds and dies young must not reset
    /// it, so it is kept apart from the request retries (same implementation, own count).
    stream_backoff: Backoff,
    /// The last event id seen on any stream connection of this wait.
    last_event_id: Option<String>,
    /// The last `retry:` hint of the stream.
    retry_hint: Option<Duration>,
}

impl<'a, T: Transport> Waiter<'a, T> {
    fn new(
        transport: &'a T,
        id: &'a RequestId,
        options: &'a WaitOptions,
        started: Instant,
        done: Done,
    ) -> Self {
        let expiry = options.expires_at.map_or_else(
            || later(started, DEFAULT_MAX_WAIT),
            |at| to_instant(at, started),
        );
        Self {
            transport,
            id,
            options,
            started,
            age_at_start: Duration::ZERO,
            expiry,
            backoff: Backoff::new(options.backoff),
            done,
            stream_backoff: Backoff::new(options.backoff),
            last_event_id: None,
            retry_hint: None,
        }
    }

    /// Takes the request's creation and expiry from its first status. Wall-clock times are
    /// converted to the tokio clock once, here.
    fn learn(&mut self, first: &HelpStatusResponse) {
        let now_wall = Timestamp::now();
        if let Some(created) = first.created_at {
            let age_ms = now_wall.unix_millis().saturating_sub(created.unix_millis());
            self.age_at_start = Duration::from_millis(u64::try_from(age_ms).unwrap_or(0));
        }
        if self.options.expires_at.is_none()
            && let Some(expires) = first.expires_at
        {
            self.expiry = to_instant(expires, self.started);
        }
    }

    /// Whether the wait is over: `done` holds, or the request reached a terminal status (after
    /// which nothing can change).
    fn finished(&self, status: &HelpStatusResponse) -> bool {
        (self.done)(status) || status.status.is_terminal()
    }

    async fn run(mut self) -> Result<HelpStatusResponse, Error> {
        let auto = self.options.strategy == WaitStrategy::Auto;
        let mut mode = match self.options.strategy {
            WaitStrategy::Auto | WaitStrategy::Sse => Mode::Sse,
            WaitStrategy::LongPoll => Mode::LongPoll,
            WaitStrategy::SmartPoll => Mode::SmartPoll,
        };
        let mut fallback = Mode::LongPoll;
        let mut sse_retry_at = None;
        loop {
            let outcome = match mode {
                Mode::Sse => self.sse(auto).await?,
                Mode::LongPoll => self.long_poll(auto, sse_retry_at).await?,
                Mode::SmartPoll => self.smart_poll(sse_retry_at).await?,
            };
            match outcome {
                Outcome::Done(status) => return Ok(status),
                Outcome::SseUnavailable => {
                    mode = fallback;
                    sse_retry_at = Some(later(Instant::now(), self.options.sse_retry_interval));
                }
                Outcome::LongPollUnsupported => {
                    fallback = Mode::SmartPoll;
                    mode = Mode::SmartPoll;
                }
                Outcome::RetrySse => mode = Mode::Sse,
            }
        }
    }

    // ---- event stream -------------------------------------------------------------------

    async fn sse(&mut self, auto: bool) -> Result<Outcome, Error> {
        let mut unhealthy = 0u32;
        loop {
            if self.expired() {
                return self.final_status().await.map(Outcome::Done);
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
            .open_stream(self.id, self.last_event_id.as_deref());
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
                    let concerns_us = self.concerns_us(&event);
                    // Only ids that can travel back in a header (ours are decimal numbers).
                    let usable = |id: &String| {
                        !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
                    };
                    if let Some(id) = event.id.filter(usable) {
                        self.last_event_id = Some(id);
                    }
                    if concerns_us && let Some(done) = self.confirm().await? {
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

    // ---- long-poll ----------------------------------------------------------------------

    async fn long_poll(
        &mut self,
        auto: bool,
        sse_retry_at: Option<Instant>,
    ) -> Result<Outcome, Error> {
        let mut early = 0u32;
        loop {
            let asked_at = Instant::now();
            if self.expired() {
                return self.final_status().await.map(Outcome::Done);
            }
            if sse_retry_at.is_some_and(|at| asked_at >= at) {
                return Ok(Outcome::RetrySse);
            }
            let remaining = self.expiry.saturating_duration_since(asked_at);
            let hold = Duration::from_secs(
                self.options
                    .long_poll_hold()
                    .min(remaining)
                    .as_secs()
                    .max(1),
            );
            match self.transport.long_poll(self.id, hold).await {
                Ok(status) if self.finished(&status) => return Ok(Outcome::Done(status)),
                Ok(_) => {
                    self.backoff.reset();
                    if asked_at.elapsed() >= hold / 2 {
                        early = 0;
                        continue;
                    }
                    // The server did not hold the call (a HeySummon v1 server ignores `wait`).
                    if hold >= MIN_PROBING_HOLD {
                        early += 1;
                        if auto && early >= EARLY_LONG_POLLS_BEFORE_FALLBACK {
                            return Ok(Outcome::LongPollUnsupported);
                        }
                    }
                    let paced = later(asked_at, self.options.first_phase_interval);
                    self.sleep(soonest(paced, sse_retry_at)).await;
                }
                Err(error) => self.pause_after(error, Duration::ZERO).await?,
            }
        }
    }

    // ---- smart polling ------------------------------------------------------------------

    async fn smart_poll(&mut self, sse_retry_at: Option<Instant>) -> Result<Outcome, Error> {
        let mut next = later(Instant::now(), self.interval_at(Instant::now()));
        loop {
            self.sleep(soonest(next, sse_retry_at)).await;
            let now = Instant::now();
            if self.expired() {
                return self.final_status().await.map(Outcome::Done);
            }
            if sse_retry_at.is_some_and(|at| now >= at) {
                return Ok(Outcome::RetrySse);
            }
            let interval = self.interval_at(now);
            match self.transport.status(self.id).await {
                Ok(status) if self.finished(&status) => return Ok(Outcome::Done(status)),
                Ok(_) => {
                    self.backoff.reset();
                    next = later(now, interval);
                }
                Err(error) if error.is_retryable() => {
                    // Errors never make us poll faster than the schedule.
                    let pause = self.backoff.next_delay(error.retry_after()).max(interval);
                    next = later(now, pause);
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn interval_at(&self, at: Instant) -> Duration {
        let age = self.age_at_start + at.saturating_duration_since(self.started);
        self.options.smart_poll_interval(age)
    }

    // ---- shared -------------------------------------------------------------------------

    /// Reads the status, retrying what is retryable with backoff.
    async fn status_retrying(&mut self) -> Result<HelpStatusResponse, Error> {
        loop {
            match self.transport.status(self.id).await {
                Ok(status) => {
                    self.backoff.reset();
                    return Ok(status);
                }
                Err(error) if self.expired() && error.is_retryable() => return Err(self.timeout()),
                Err(error) => self.pause_after(error, Duration::ZERO).await?,
            }
        }
    }

    /// The status if it is final; `None` while the request is waiting; [`Error::Timeout`] when it
    /// is still waiting after its expiry.
    async fn confirm(&mut self) -> Result<Option<HelpStatusResponse>, Error> {
        let status = self.status_retrying().await?;
        if self.finished(&status) {
            Ok(Some(status))
        } else if self.expired() {
            Err(self.timeout())
        } else {
            Ok(None)
        }
    }

    /// At expiry: one more look (servers expire requests lazily on read), then give up.
    async fn final_status(&mut self) -> Result<HelpStatusResponse, Error> {
        self.confirm().await?.ok_or_else(|| self.timeout())
    }

    /// Fails with a non-retryable error; otherwise backs off (at least `at_least`).
    async fn pause_after(&mut self, error: Error, at_least: Duration) -> Result<(), Error> {
        if !error.is_retryable() {
            return Err(error);
        }
        let delay = self.backoff.next_delay(error.retry_after()).max(at_least);
        self.sleep(later(Instant::now(), delay)).await;
        Ok(())
    }

    /// Sleeps until `until`, or until the request expires if that is sooner.
    async fn sleep(&self, until: Instant) {
        sleep_until(until.min(self.expiry)).await;
    }

    fn expired(&self) -> bool {
        Instant::now() >= self.expiry
    }

    fn timeout(&self) -> Error {
        Error::Timeout {
            waited: self.started.elapsed(),
        }
    }
}

fn network(kind: NetworkErrorKind, message: &'static str) -> Error {
    Error::Network {
        kind,
        source: message.into(),
    }
}

/// `base + by`, saturating far in the future instead of overflowing.
fn later(base: Instant, by: Duration) -> Instant {
    base.checked_add(by)
        .unwrap_or_else(|| base + Duration::from_secs(30 * 365 * 24 * 60 * 60))
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn soonest(at: Instant, other: Option<Instant>) -> Instant {
    other.map_or(at, |other| at.min(other))
}

/// A wall-clock instant on the tokio clock, relative to `now` (which is "now" on both clocks).
fn to_instant(at: Timestamp, now: Instant) -> Instant {
    let ahead_ms = at
        .unix_millis()
        .saturating_sub(Timestamp::now().unix_millis());
    match u64::try_from(ahead_ms) {
        Ok(ahead) => later(now, Duration::from_millis(ahead)),
        Err(_) => now,
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
