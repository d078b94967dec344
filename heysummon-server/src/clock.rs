//! Time, injectable so tests can move it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// The server's clock.
#[derive(Clone)]
pub struct Clock(ClockKind);

#[derive(Clone)]
enum ClockKind {
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// The real time.
    pub fn system() -> Self {
        Self(ClockKind::System)
    }

    /// A clock that only moves when told; for tests.
    pub fn manual(start: Millis) -> Self {
        Self(ClockKind::Manual(Arc::new(AtomicI64::new(start))))
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now(&self) -> Millis {
        match &self.0 {
            ClockKind::System => chrono_now(),
            ClockKind::Manual(at) => at.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward (no effect on the system clock).
    pub fn advance(&self, millis: Millis) {
        if let ClockKind::Manual(at) = &self.0 {
            at.fetch_add(millis, Ordering::SeqCst);
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ClockKind::System => f.write_str("Clock::System"),
            ClockKind::Manual(at) => write!(f, "Clock::Manual({})", at.load(Ordering::SeqCst)),
        }
    }
}

fn chrono_now() -> Millis {
    heysummon_sdk::wire::Timestamp::now().unix_millis()
}

/// The wire form of a time.
pub fn timestamp(at: Millis) -> heysummon_sdk::wire::Timestamp {
    heysummon_sdk::wire::Timestamp::from_unix_millis(at).unwrap_or_else(|| {
        heysummon_sdk::wire::Timestamp::from_unix_millis(0)
            .unwrap_or_else(heysummon_sdk::wire::Timestamp::now)
    })
}
