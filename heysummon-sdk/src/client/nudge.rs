//! "Something may have changed": the event stream as a wake-up call for loops that re-read
//! state (a conversation's replies, an expert's new requests), with a periodic re-read as the
//! safety net when the stream is missing, broken or quiet.

use std::time::Duration;

use futures_util::StreamExt as _;
use reqwest::Url;
use tokio::time::{Instant, sleep_until, timeout_at};

use super::Inner;
use super::sse::{self, SseStream};
use super::transport::SseItem;

/// One event stream kept open across waits, resumed by event id after a break.
pub(crate) struct Nudge {
    url: Url,
    interval: Duration,
    events: Option<SseStream>,
    last_event_id: Option<String>,
}

impl Nudge {
    /// Wakes on events of the stream at `url`, and at least every `interval`.
    pub(crate) fn new(url: Url, interval: Duration) -> Self {
        Self {
            url,
            interval,
            events: None,
            last_event_id: None,
        }
    }

    /// Returns on the next event, on a (re)connect (what happened before it may not be
    /// replayed), or after the interval. A broken stream is dropped and reopened next time, after
    /// the interval.
    pub(crate) async fn wait(&mut self, inner: &Inner) {
        let deadline = Instant::now() + self.interval;
        let events = self.events.get_or_insert_with(|| {
            sse::open_url(inner, self.url.clone(), self.last_event_id.as_deref())
        });
        loop {
            match timeout_at(deadline, events.next()).await {
                Err(_) => return,
                Ok(Some(Ok(SseItem::Event(event)))) => {
                    if let Some(id) = event.id.filter(|id| !id.is_empty()) {
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
