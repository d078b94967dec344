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
    items: VecDeque<Result<SseItem, Error>>,
    waker: Option<Waker>,
    /// No more items will come.
    closed: bool,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `item` and wakes the subscriber. A keep-alive right after another unread one adds
    /// nothing, so a subscriber that is busy elsewhere does not pile them up.
    pub(super) fn push(&self, item: Result<SseItem, Error>) {
        let mut queue = self.lock();
        if queue.closed {
            return;
        }
        let repeated_comment = matches!(item, Ok(SseItem::Comment))
            && matches!(queue.items.back(), Some(Ok(SseItem::Comment)));
        if !repeated_comment {
            queue.items.push_back(item);
        }
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
pub(crate) struct Subscription {
    shared: Arc<Shared>,
    id: RequestId,
    key: u64,
    mailbox: Arc<Mailbox>,
}

impl Subscription {
    pub(super) fn new(shared: Arc<Shared>, id: RequestId, key: u64, mailbox: Arc<Mailbox>) -> Self {
        Self {
            shared,
            id,
            key,
            mailbox,
        }
    }
}

impl Stream for Subscription {
    type Item = Result<SseItem, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut queue = self.mailbox.lock();
        if let Some(item) = queue.items.pop_front() {
            return Poll::Ready(Some(item));
        }
        if queue.closed {
            return Poll::Ready(None);
        }
        match &mut queue.waker {
            Some(waker) => waker.clone_from(cx.waker()),
            None => queue.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.shared.unsubscribe(&self.id, self.key);
    }
}
