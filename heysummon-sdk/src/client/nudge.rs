//! "Something may have changed": the event stream as a wake-up call for loops that re-read
//! state (a conversation's replies, an expert's new requests), with a periodic re-read as the
//! safety net when the stream is missing, broken or quiet; and [`feed`], the one such loop.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt as _, stream};
use reqwest::Url;
use tokio::time::{Instant, sleep_until, timeout_at};

use super::WaitOptions;
use super::connection::Inner;
use super::sse::SseStream;
use super::transport::{SseItem, resumable_event_id};
use crate::Error;
use crate::backoff::Backoff;
use crate::wire::RequestId;

/// What a [`feed`] reads: each read returns the items not returned before, and whether nothing
/// more can come.
pub(crate) trait Source: Send + 'static {
    /// What the feed yields.
    type Item: Send + 'static;

    /// Reads once.
    fn read(&mut self) -> impl Future<Output = Result<(Vec<Self::Item>, bool), Error>> + Send;
}

/// Where a feed hears that something may have changed.
pub(crate) enum Wakes {
    /// An event stream of its own, at this URL (an expert's stream).
    Stream(Url),
    /// The events of one request on the client's shared stream ([`super::hub`]).
    Request(RequestId),
}

/// The items of `source` as they come: read now, then again on every event `wakes` delivers
/// (and at least every [`WaitOptions::first_phase_interval`]) until the source says it ended.
/// Transient failures are retried with the backoff; the stream ends after an error that is not
/// retryable, which it yields. Invalid options are yielded as the only item.
pub(crate) fn feed<S: Source>(
    inner: Arc<Inner>,
    source: S,
    wakes: Wakes,
    options: WaitOptions,
) -> impl Stream<Item = Result<S::Item, Error>> + Send + 'static {
    if let Err(error) = options.validate() {
        return stream::once(async move { Err(error) }).left_stream();
    }
    let state = Feed {
        source,
        inner,
        nudge: Nudge::new(
            wakes,
            options.first_phase_interval,
            options.sse_idle_timeout,
        ),
        backoff: Backoff::new(options.backoff),
        queue: VecDeque::new(),
        ended: false,
    };
    stream::unfold(state, |mut state| async move {
        let item = state.next().await?;
        Some((item, state))
    })
    .right_stream()
}

/// The state of a [`feed`].
struct Feed<S: Source> {
    source: S,
    inner: Arc<Inner>,
    nudge: Nudge,
    backoff: Backoff,
    queue: VecDeque<S::Item>,
    ended: bool,
}

impl<S: Source> Feed<S> {
    async fn next(&mut self) -> Option<Result<S::Item, Error>> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(Ok(item));
            }
            if self.ended {
                return None;
            }
            match self.source.read().await {
                Ok((items, ended)) => {
                    self.backoff.reset();
                    self.queue.extend(items);
                    self.ended = ended;
                }
                Err(error) if error.is_retryable() => {
                    tokio::time::sleep(self.backoff.next_delay(error.retry_after())).await;
                    continue;
                }
                Err(error) => {
                    self.ended = true;
                    return Some(Err(error));
                }
            }
            if self.queue.is_empty() && !self.ended {
                self.nudge.wait(&self.inner).await;
            }
        }
    }
}

/// One event stream kept open across waits, resumed by event id after a break (the shared
/// stream resumes by itself).
pub(crate) struct Nudge {
    wakes: Wakes,
    interval: Duration,
    /// The liveness window asked of the shared stream.
    idle_timeout: Duration,
    events: Option<SseStream>,
    last_event_id: Option<String>,
}

impl Nudge {
    /// Wakes on events from `wakes`, and at least every `interval`.
    pub(crate) fn new(wakes: Wakes, interval: Duration, idle_timeout: Duration) -> Self {
        Self {
            wakes,
            interval,
            idle_timeout,
            events: None,
            last_event_id: None,
        }
    }

    /// Returns on the next event, on a (re)connect (what happened before it may not be
    /// replayed), or after the interval. A broken stream is dropped and reopened next time, after
    /// the interval.
    pub(crate) async fn wait(&mut self, inner: &Inner) {
        let deadline = Instant::now() + self.interval;
        let events = self.events.get_or_insert_with(|| match &self.wakes {
            Wakes::Stream(url) => inner.streams.open(url, self.last_event_id.as_deref()),
            Wakes::Request(id) => Box::pin(inner.stream_hub.subscribe(id, self.idle_timeout)),
        });
        loop {
            match timeout_at(deadline, events.next()).await {
                Err(_) => return,
                Ok(Some(Ok(SseItem::Event(event)))) => {
                    if let Some(id) = event.id.filter(|id| resumable_event_id(id)) {
                        self.last_event_id = Some(id);
                    }
                    return;
                }
                Ok(Some(Ok(SseItem::Connected { event_stream: true }))) => return,
                Ok(Some(Ok(SseItem::Comment))) => {}
                Ok(_) => {
                    self.events = None;
                    sleep_until(deadline).await;
                    return;
                }
            }
        }
    }
}
