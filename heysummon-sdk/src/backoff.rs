//! The one backoff of the workspace: exponential, capped, with full jitter, and never shorter
//! than what the other side asked for (`Retry-After` on 429/503, `retry:` on an event stream,
//! Telegram's `retry_after`).
//!
//! Every wait strategy of the client goes through it (the reconnects of the event stream, the
//! retries of a failed long-poll, the extra pause a failed smart poll takes), and so do the
//! server's channel deliveries, whose failure counts are persisted (see
//! [`BackoffPolicy::delay`]).

use std::time::Duration;

use rand_core::{OsRng, RngCore};

/// How retries back off: the `n`-th consecutive failure waits a uniformly random time in
/// `[0, min(max, initial · multiplierⁿ)]` ("full jitter", so that many agents that lost the same
/// server do not come back in lock-step), and never less than the server's own hint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackoffPolicy {
    /// The ceiling of the first delay. Default 1 s.
    pub initial: Duration,
    /// The largest ceiling. Default 60 s.
    pub max: Duration,
    /// How much the ceiling grows per consecutive failure. Default 2.
    pub multiplier: u32,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            multiplier: 2,
        }
    }
}

impl BackoffPolicy {
    /// A policy with the given first ceiling, largest ceiling and growth factor.
    pub fn new(initial: Duration, max: Duration, multiplier: u32) -> Self {
        Self {
            initial,
            max,
            multiplier,
        }
    }

    /// The delay before the next attempt after `failures` earlier consecutive failures (0 = the
    /// first failure): full jitter under the exponential ceiling, raised to `floor` (the other
    /// side's `Retry-After`). For callers that keep the failure count themselves.
    pub fn delay(&self, failures: u32, floor: Option<Duration>) -> Duration {
        let jittered = full_jitter(self.ceiling(failures), OsRng.next_u64());
        floor.map_or(jittered, |floor| jittered.max(floor))
    }

    /// The ceiling of the delay after `failures` consecutive failures (0 = the first).
    pub fn ceiling(&self, failures: u32) -> Duration {
        let factor = self.multiplier.max(1).saturating_pow(failures);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// The state of one backoff: how many failures in a row.
#[derive(Debug)]
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) struct Backoff {
    policy: BackoffPolicy,
    failures: u32,
}

#[cfg_attr(not(feature = "client"), allow(dead_code))]
impl Backoff {
    pub(crate) fn new(policy: BackoffPolicy) -> Self {
        Self {
            policy,
            failures: 0,
        }
    }

    /// The delay before the next attempt after one more failure: full jitter under the
    /// exponential ceiling, raised to `floor` (the server's `Retry-After` or `retry:`).
    pub(crate) fn next_delay(&mut self, floor: Option<Duration>) -> Duration {
        let delay = self.policy.delay(self.failures, floor);
        self.failures = self.failures.saturating_add(1);
        delay
    }

    /// A success: the next failure starts again from the first ceiling.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures in a row so far.
    #[cfg(test)]
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }
}

/// A point in `[0, ceiling]` chosen by `random` (uniform over `u64`).
fn full_jitter(ceiling: Duration, random: u64) -> Duration {
    // 2^-64 granularity is far below a nanosecond for any ceiling we use.
    #[allow(clippy::cast_precision_loss)]
    let fraction = random as f64 / u64::MAX as f64;
    ceiling.mul_f64(fraction)
}

/// The larger of two optional floors.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn max_floor(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_grow_exponentially_up_to_the_cap() {
        let policy = BackoffPolicy::default();
        let ceilings: Vec<_> = (0..9).map(|n| policy.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_secs(60));
        let flat = BackoffPolicy::new(Duration::from_secs(3), Duration::from_secs(30), 0);
        assert_eq!(flat.ceiling(5), Duration::from_secs(3));
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        let ceiling = Duration::from_secs(8);
        assert_eq!(full_jitter(ceiling, 0), Duration::ZERO);
        assert_eq!(full_jitter(ceiling, u64::MAX), ceiling);
        let middle = full_jitter(ceiling, u64::MAX / 2);
        assert!(middle > Duration::from_millis(3_999) && middle < Duration::from_millis(4_001));
    }

    #[test]
    fn delays_stay_under_the_ceiling_and_respect_the_floor() {
        let mut backoff = Backoff::new(BackoffPolicy::default());
        for n in 0..12 {
            let delay = backoff.next_delay(None);
            assert!(
                delay <= BackoffPolicy::default().ceiling(n),
                "{n}: {delay:?}"
            );
        }
        assert_eq!(backoff.failures(), 12);
        let floor = Duration::from_secs(90);
        assert_eq!(backoff.next_delay(Some(floor)), floor);
        backoff.reset();
        assert_eq!(backoff.failures(), 0);
        let with_floor = backoff.next_delay(Some(Duration::from_secs(3)));
        assert_eq!(
            with_floor,
            Duration::from_secs(3),
            "ceiling 1 s < floor 3 s"
        );
    }

    #[test]
    fn floors_combine() {
        let s = Duration::from_secs;
        assert_eq!(max_floor(None, None), None);
        assert_eq!(max_floor(Some(s(3)), None), Some(s(3)));
        assert_eq!(max_floor(None, Some(s(60))), Some(s(60)));
        assert_eq!(max_floor(Some(s(3)), Some(s(60))), Some(s(60)));
    }
}
