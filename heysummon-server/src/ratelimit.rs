//! In-process fixed-window rate limits (60-second windows), keyed by bucket name.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Millis;

const WINDOW_MS: Millis = 60_000;
const SHARDS: usize = 16;

/// The start of the 60-second window `now` falls in.
pub fn window_start(now: Millis) -> Millis {
    now - now.rem_euclid(WINDOW_MS)
}

/// Counters of fixed 60-second windows. Sharded so concurrent requests rarely contend.
#[derive(Debug)]
pub struct RateLimiter {
    shards: Vec<Mutex<Shard>>,
}

/// One shard's windows, and when they were last swept of expired ones.
#[derive(Debug, Default)]
struct Shard {
    windows: HashMap<String, Window>,
    swept_at: Millis,
}

#[derive(Clone, Copy, Debug)]
struct Window {
    start: Millis,
    count: u32,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }
}

impl RateLimiter {
    /// Counts one hit on `bucket`; `false` when it is over `limit` in the current window.
    pub fn hit(&self, bucket: &str, limit: u32, now: Millis) -> bool {
        let shard = &self.shards[shard_of(bucket)];
        let Ok(mut shard) = shard.lock() else {
            // A poisoned lock only means another request panicked mid-update; counting is
            // best-effort, refusing everyone would be worse.
            return true;
        };
        // Expired windows are swept at most once a window per shard, so a flood of fresh
        // buckets costs one sweep a minute, not one per hit.
        if shard.windows.len() > 10_000 && now - shard.swept_at >= WINDOW_MS {
            shard.windows.retain(|_, w| now - w.start < WINDOW_MS);
            shard.swept_at = now;
        }
        let window = shard.windows.entry(bucket.to_owned()).or_insert(Window {
            start: now,
            count: 0,
        });
        if now - window.start >= WINDOW_MS {
            *window = Window {
                start: now,
                count: 0,
            };
        }
        window.count = window.count.saturating_add(1);
        window.count <= limit
    }
}

fn shard_of(bucket: &str) -> usize {
    // FNV-1a: cheap and good enough to spread bucket names.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bucket.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % SHARDS as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_windows() {
        let limiter = RateLimiter::default();
        for _ in 0..3 {
            assert!(limiter.hit("ip:1", 3, 1_000));
        }
        assert!(!limiter.hit("ip:1", 3, 1_001));
        assert!(limiter.hit("ip:2", 3, 1_001));
        assert!(limiter.hit("ip:1", 3, 61_000));
    }
}
