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
//!
//! This file owns the entry points, the modes and the hand-overs between them ([`Waiter::run`]);
//! `sse.rs` the event stream, `poll.rs` long-polls and smart polling, `shared.rs` what they share.

mod poll;
mod shared;
mod sse;

use std::time::Duration;

use tokio::time::{Instant, timeout_at};

use super::options::{WaitOptions, WaitStrategy};
use super::transport::Transport;
use crate::Error;
use crate::backoff::Backoff;
use crate::wire::{HelpStatusResponse, RequestId, Timestamp};
use shared::{earliest, later, to_instant};

/// How long a wait lasts when neither the caller nor the server says when the request expires
/// (the longest default lifetime of a request: a notification's seven days).
pub(crate) const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(7 * 24 * 60 * 60);

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
}
