//! What every strategy shares: reading the status with retries, the look at expiry, backing off
//! and sleeping on the tokio clock, and the clock arithmetic.

use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::{Outcome, Waiter};
use crate::Error;
use crate::client::transport::Transport;
use crate::wire::{HelpStatusResponse, Timestamp};

impl<T: Transport> Waiter<'_, T> {
    /// Reads the status, retrying what is retryable with backoff.
    pub(super) async fn status_retrying(&mut self) -> Result<HelpStatusResponse, Error> {
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
    pub(super) async fn confirm(&mut self) -> Result<Option<HelpStatusResponse>, Error> {
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
    pub(super) async fn final_status(&mut self) -> Result<HelpStatusResponse, Error> {
        self.confirm().await?.ok_or_else(|| self.timeout())
    }

    /// Fails with a non-retryable error; otherwise backs off (at least `at_least`).
    /// Whether a mode hands over before its next call: at the request's expiry, with the final
    /// status; once `sse_retry_at` has passed at `now`, to the event stream again.
    pub(super) async fn hand_over(
        &mut self,
        now: Instant,
        sse_retry_at: Option<Instant>,
    ) -> Result<Option<Outcome>, Error> {
        if self.expired() {
            return self
                .final_status()
                .await
                .map(|status| Some(Outcome::Done(status)));
        }
        Ok(sse_retry_at
            .filter(|at| now >= *at)
            .map(|_| Outcome::RetrySse))
    }

    pub(super) async fn pause_after(
        &mut self,
        error: Error,
        at_least: Duration,
    ) -> Result<(), Error> {
        if !error.is_retryable() {
            return Err(error);
        }
        let delay = self.backoff.next_delay(error.retry_after()).max(at_least);
        self.sleep(later(Instant::now(), delay)).await;
        Ok(())
    }

    /// Sleeps until `until`, or until the request expires if that is sooner.
    pub(super) async fn sleep(&self, until: Instant) {
        sleep_until(until.min(self.expiry)).await;
    }

    pub(super) fn expired(&self) -> bool {
        Instant::now() >= self.expiry
    }

    pub(super) fn timeout(&self) -> Error {
        Error::Timeout {
            waited: self.started.elapsed(),
        }
    }
}

/// `base + by`, saturating far in the future instead of overflowing.
pub(super) fn later(base: Instant, by: Duration) -> Instant {
    base.checked_add(by)
        .unwrap_or_else(|| base + Duration::from_secs(30 * 365 * 24 * 60 * 60))
}

pub(super) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

pub(super) fn soonest(at: Instant, other: Option<Instant>) -> Instant {
    other.map_or(at, |other| at.min(other))
}

/// A wall-clock instant on the tokio clock, relative to `now` (which is "now" on both clocks).
pub(super) fn to_instant(at: Timestamp, now: Instant) -> Instant {
    let ahead_ms = at
        .unix_millis()
        .saturating_sub(Timestamp::now().unix_millis());
    match u64::try_from(ahead_ms) {
        Ok(ahead) => later(now, Duration::from_millis(ahead)),
        Err(_) => now,
    }
}
