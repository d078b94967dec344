//! A subscription's queue: what the hub's task hands over, read by the wait as the stream of its
//! own connection. Empty, it holds no allocation (a waiting ask costs a few hundred bytes here).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_util::Stream;

use super::Shared;
use crate::Error;
use crate::client::transport::SseItem;
use crate::wire::RequestId;

/// Items waiting for the subscriber, and how to wake it.
#[derive(Default)]
pub(super) struct Mailbox(Mutex<Queue>);

#[derive(Default)]
struct Queue {
    /// Each item with how many signs of life the shared connection had shown when it came.
    items: VecDeque<(u64, Result<SseItem, Error>)>,
    waker: Option<Waker>,
    /// No more items will come.
    closed: bool,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `item`, which came after `heard` signs of life, and wakes the subscriber.
    pub(super) fn push(&self, heard: u64, item: Result<SseItem, Error>) {
        let mut queue = self.lock();
        if queue.closed {
            return;
        }
        queue.items.push_back((heard, item));
        let waker = queue.waker.take();
        drop(queue);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Ends the subscription after what is queued.
    pub(super) fn close(&self) {
        let mut queue = self.lock();
        queue.closed = true;
        let waker = queue.waker.take();
        drop(queue);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// One wait's connection to the shared stream; leaves the hub when dropped.
///
/// Keep-alives are not handed to every subscriber (a thousand waits woken at once every 15 s):
/// whenever the wait polls and the shared connection has heard anything since the wait last
/// learnt of it, the subscription yields a keep-alive of its own. A wait polls when its own
/// liveness window runs out, so it learns that the connection lives exactly when it needs to.
pub(crate) struct Subscription {
    shared: Arc<Shared>,
    id: RequestId,
    key: u64,
    mailbox: Arc<Mailbox>,
    /// Whether this subscription was told `Connected` (keep-alives come only after).
    connected: bool,
    /// The shared connection's last sign of life this subscription passed on.
    noted: u64,
}

impl Subscription {
    pub(super) fn new(shared: Arc<Shared>, id: RequestId, key: u64, mailbox: Arc<Mailbox>) -> Self {
        Self {
            shared,
            id,
            key,
            mailbox,
            connected: false,
            noted: 0,
        }
    }
}

impl Stream for Subscription {
    type Item = Result<SseItem, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut queue = this.mailbox.lock();
        // The connection's end comes after what it proved: a wait judges a connection that
        // lived on keep-alives as healthy, so it hears of them before it hears of the end.
        let ending = queue.closed || matches!(queue.items.front(), Some((_, Err(_))));
        if ending && this.connected && this.shared.heard() > this.noted {
            this.noted = this.shared.heard();
            return Poll::Ready(Some(Ok(SseItem::Comment)));
        }
        if let Some((heard, item)) = queue.items.pop_front() {
            drop(queue);
            if matches!(item, Ok(SseItem::Connected { event_stream: true })) {
                this.connected = true;
            }
            this.noted = this.noted.max(heard);
            return Poll::Ready(Some(item));
        }
        if queue.closed {
            return Poll::Ready(None);
        }
        match &mut queue.waker {
            Some(waker) => waker.clone_from(cx.waker()),
            None => queue.waker = Some(cx.waker().clone()),
        }
        drop(queue);
        let heard = this.shared.heard();
        if this.connected && heard > this.noted {
            this.noted = heard;
            return Poll::Ready(Some(Ok(SseItem::Comment)));
        }
        Poll::Pending
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.shared.unsubscribe(&self.id, self.key);
    }
}
