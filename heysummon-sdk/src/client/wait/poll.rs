//! The polling strategies: long-polls (and when Auto finds the server does not hold them) and
//! two-phase smart polling.

use std::time::Duration;

use tokio::time::Instant;

use super::shared::{later, soonest};
use super::{Outcome, Waiter};
use crate::Error;
use crate::client::transport::Transport;

/// Long-polls in a row answered without holding, after which Auto falls back to smart polling.
const EARLY_LONG_POLLS_BEFORE_FALLBACK: u32 = 3;
/// Only a hold at least this long tells whether the server honours `wait`.
const MIN_PROBING_HOLD: Duration = Duration::from_secs(2);

impl<T: Transport> Waiter<'_, T> {
    pub(super) async fn long_poll(
        &mut self,
        auto: bool,
        sse_retry_at: Option<Instant>,
    ) -> Result<Outcome, Error> {
        let mut early = 0u32;
        loop {
            let asked_at = Instant::now();
            if let Some(outcome) = self.hand_over(asked_at, sse_retry_at).await? {
                return Ok(outcome);
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

    pub(super) async fn smart_poll(
        &mut self,
        sse_retry_at: Option<Instant>,
    ) -> Result<Outcome, Error> {
        let mut next = later(Instant::now(), self.interval_at(Instant::now()));
        loop {
            self.sleep(soonest(next, sse_retry_at)).await;
            let now = Instant::now();
            if let Some(outcome) = self.hand_over(now, sse_retry_at).await? {
                return Ok(outcome);
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
}
