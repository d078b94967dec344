//! What [`super::Client::wait`] is told: the strategy, the deadline, and the timings.

use std::time::Duration;

use tokio::time::Instant;

use crate::Error;
use crate::backoff::BackoffPolicy;
use crate::wire::Timestamp;

/// The longest a single long-poll may ask the server to hold (PROTOCOL B1).
pub const MAX_LONG_POLL_WAIT: Duration = Duration::from_secs(50);

/// How a wait learns that a request is no longer waiting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitStrategy {
    /// Server-Sent Events when the server offers them; when it does not (a HeySummon v1 server
    /// answers 404, or the stream is unreachable or unusable), long-poll; when the server does not
    /// hold long-polls either (it answers at once), two-phase smart polling. Every
    /// [`WaitOptions::sse_retry_interval`] the stream is tried again, and used once it is back.
    #[default]
    Auto,
    /// Only Server-Sent Events on `/api/v1/events/stream`; reconnects with backoff and resumes
    /// with `Last-Event-ID`. Fails if the server has no stream.
    Sse,
    /// Only long-polls (`GET /api/v1/help/:id?wait=N`). Against a server that answers at once,
    /// calls are paced at [`WaitOptions::first_phase_interval`].
    LongPoll,
    /// Only plain status polls: every [`WaitOptions::first_phase_interval`] during the first
    /// [`WaitOptions::first_phase_length`] of the request's life, then every
    /// [`WaitOptions::second_phase_interval`] until it expires.
    SmartPoll,
}

/// Options of [`super::Client::wait`]. Start from [`WaitOptions::default`] and change what you
/// need, with the `with_*` methods or by assigning fields.
///
/// Every wait ends: at the earliest of [`WaitOptions::timeout`], [`WaitOptions::deadline`] and
/// the request's expiry ([`WaitOptions::expires_at`], else the `expiresAt` the server reports,
/// else seven days), with [`Error::Timeout`] unless a final status arrived first.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// How to wait. Default [`WaitStrategy::Auto`].
    pub strategy: WaitStrategy,
    /// Give up this long after the wait starts. Default none (wait until the request expires).
    pub timeout: Option<Duration>,
    /// Give up at this instant. Default none.
    pub deadline: Option<Instant>,
    /// When the request expires, if the caller knows better than the server's `expiresAt`.
    /// At expiry the status is read once more; if the server still reports the request as
    /// waiting, the wait ends with [`Error::Timeout`].
    pub expires_at: Option<Timestamp>,
    /// Smart polling: the interval during the first phase. Default 10 s.
    pub first_phase_interval: Duration,
    /// Smart polling: how long the first phase lasts, counted from the request's creation.
    /// Default 1 h.
    pub first_phase_length: Duration,
    /// Smart polling: the interval after the first phase. Default 5 min.
    pub second_phase_interval: Duration,
    /// How long each long-poll asks the server to hold the call (capped at 50 s). Default 50 s.
    pub long_poll_wait: Duration,
    /// [`WaitStrategy::Auto`]: how often to try the event stream again after falling back from
    /// it. Default 5 min.
    pub sse_retry_interval: Duration,
    /// An event stream on which nothing arrives, not even a keep-alive comment, for this long is
    /// considered dead and reconnected. Default 45 s (three missed 15 s keep-alives).
    pub sse_idle_timeout: Duration,
    /// The backoff of reconnects and retries.
    pub backoff: BackoffPolicy,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            strategy: WaitStrategy::Auto,
            timeout: None,
            deadline: None,
            expires_at: None,
            first_phase_interval: Duration::from_secs(10),
            first_phase_length: Duration::from_secs(60 * 60),
            second_phase_interval: Duration::from_secs(5 * 60),
            long_poll_wait: MAX_LONG_POLL_WAIT,
            sse_retry_interval: Duration::from_secs(5 * 60),
            sse_idle_timeout: Duration::from_secs(45),
            backoff: BackoffPolicy::default(),
        }
    }
}

impl WaitOptions {
    /// The defaults: [`WaitStrategy::Auto`], no deadline but the request's expiry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the strategy.
    #[must_use]
    pub fn with_strategy(mut self, strategy: WaitStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Gives up this long after the wait starts.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Gives up at this instant.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Stops at this expiry instead of the one the server reports.
    #[must_use]
    pub fn with_expires_at(mut self, expires_at: Timestamp) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Sets the two phases of smart polling: `first_interval` during the first `first_length` of
    /// the request's life, then `second_interval`.
    #[must_use]
    pub fn with_smart_poll(
        mut self,
        first_interval: Duration,
        first_length: Duration,
        second_interval: Duration,
    ) -> Self {
        self.first_phase_interval = first_interval;
        self.first_phase_length = first_length;
        self.second_phase_interval = second_interval;
        self
    }

    /// Sets how long each long-poll asks the server to hold (capped at 50 s).
    #[must_use]
    pub fn with_long_poll_wait(mut self, wait: Duration) -> Self {
        self.long_poll_wait = wait;
        self
    }

    /// Sets how often [`WaitStrategy::Auto`] tries the event stream again after falling back.
    #[must_use]
    pub fn with_sse_retry_interval(mut self, interval: Duration) -> Self {
        self.sse_retry_interval = interval;
        self
    }

    /// Sets how long an event stream may stay silent before it is reconnected.
    #[must_use]
    pub fn with_sse_idle_timeout(mut self, timeout: Duration) -> Self {
        self.sse_idle_timeout = timeout;
        self
    }

    /// Sets the backoff of reconnects and retries.
    #[must_use]
    pub fn with_backoff(mut self, backoff: BackoffPolicy) -> Self {
        self.backoff = backoff;
        self
    }

    /// The smart-polling interval for a request of this age.
    pub fn smart_poll_interval(&self, age: Duration) -> Duration {
        if age < self.first_phase_length {
            self.first_phase_interval
        } else {
            self.second_phase_interval
        }
    }

    /// Refuses timings that would make a wait spin.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let positive = [
            (self.first_phase_interval, "first_phase_interval"),
            (self.second_phase_interval, "second_phase_interval"),
            (self.sse_retry_interval, "sse_retry_interval"),
            (self.sse_idle_timeout, "sse_idle_timeout"),
        ];
        for (value, name) in positive {
            if value.is_zero() {
                return Err(Error::config(format!(
                    "wait option {name} must not be zero"
                )));
            }
        }
        if self.backoff.initial.is_zero() || self.backoff.max < self.backoff.initial {
            return Err(Error::config(
                "backoff needs 0 < initial <= max (a zero delay would reconnect in a loop)",
            ));
        }
        Ok(())
    }

    /// The long-poll hold actually asked for: whole seconds, at most 50.
    pub(crate) fn long_poll_hold(&self) -> Duration {
        self.long_poll_wait.min(MAX_LONG_POLL_WAIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_phase_intervals() {
        let options = WaitOptions::default();
        let minutes = |m: u64| Duration::from_secs(m * 60);
        assert_eq!(
            options.smart_poll_interval(Duration::ZERO),
            Duration::from_secs(10)
        );
        assert_eq!(
            options.smart_poll_interval(minutes(59)),
            Duration::from_secs(10)
        );
        assert_eq!(options.smart_poll_interval(minutes(60)), minutes(5));
        assert_eq!(options.smart_poll_interval(minutes(60 * 70)), minutes(5));
        let custom = options.with_smart_poll(Duration::from_secs(2), minutes(1), minutes(1));
        assert_eq!(
            custom.smart_poll_interval(Duration::from_secs(59)),
            Duration::from_secs(2)
        );
        assert_eq!(custom.smart_poll_interval(minutes(1)), minutes(1));
    }

    #[test]
    fn zero_intervals_are_refused_and_long_polls_capped() {
        assert!(WaitOptions::default().validate().is_ok());
        let spinning = WaitOptions::default().with_smart_poll(
            Duration::ZERO,
            Duration::from_secs(60),
            Duration::from_secs(60),
        );
        assert!(matches!(spinning.validate(), Err(Error::Config { .. })));
        let eager = WaitOptions::default().with_backoff(BackoffPolicy::new(
            Duration::ZERO,
            Duration::from_secs(1),
            2,
        ));
        assert!(matches!(eager.validate(), Err(Error::Config { .. })));
        let long = WaitOptions::default().with_long_poll_wait(Duration::from_secs(600));
        assert_eq!(long.long_poll_hold(), MAX_LONG_POLL_WAIT);
    }
}
