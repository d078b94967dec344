//! Writers to one request take turns within a process. Every lifecycle step is an optimistic
//! update at the request's version; many concurrent writers on one request (an expert and an
//! agent both sending, eight scripts posting at once) would otherwise keep invalidating each
//! other's reads. Taking turns makes the conflict retry the exception (another instance on the
//! same database) instead of the rule.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::OwnedMutexGuard;

/// Registrations between sweeps of requests nobody holds a turn on any more.
const SWEEP_EVERY: u64 = 1024;

/// One async mutex per request that someone is writing to right now.
#[derive(Debug, Default)]
pub(super) struct Turns {
    state: Mutex<TurnsState>,
}

#[derive(Debug, Default)]
struct TurnsState {
    by_request: HashMap<String, Weak<tokio::sync::Mutex<()>>>,
    registered: u64,
}

/// A writer's turn on a request; the next writer goes when it is dropped.
#[derive(Debug)]
pub struct Turn {
    _guard: OwnedMutexGuard<()>,
    waited: bool,
}

impl Turn {
    /// Whether another writer had the turn first (what the caller read may be stale).
    pub fn waited(&self) -> bool {
        self.waited
    }
}

impl Turns {
    /// Waits for the turn on `request_id`. Cancel-safe: a dropped wait takes no turn.
    pub(super) async fn take(&self, request_id: &str) -> Turn {
        let mutex = {
            let mut state = self
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let existing = state.by_request.get(request_id).and_then(Weak::upgrade);
            match existing {
                Some(mutex) => mutex,
                None => {
                    let mutex = Arc::new(tokio::sync::Mutex::new(()));
                    state
                        .by_request
                        .insert(request_id.to_owned(), Arc::downgrade(&mutex));
                    state.registered += 1;
                    if state.registered.is_multiple_of(SWEEP_EVERY) {
                        state.by_request.retain(|_, turn| turn.strong_count() > 0);
                    }
                    mutex
                }
            }
        };
        match Arc::clone(&mutex).try_lock_owned() {
            Ok(guard) => Turn {
                _guard: guard,
                waited: false,
            },
            Err(_) => Turn {
                _guard: mutex.lock_owned().await,
                waited: true,
            },
        }
    }

    #[cfg(test)]
    fn registered(&self) -> usize {
        self.state
            .lock()
            .map(|s| s.by_request.len())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_writer_at_a_time_per_request() {
        let turns = Turns::default();
        let first = turns.take("r1").await;
        // Another request is not held up.
        let other = turns.take("r2").await;
        let second = tokio::time::timeout(std::time::Duration::from_millis(50), turns.take("r1"));
        assert!(second.await.is_err(), "r1 is taken");
        drop(first);
        drop(other);
        let _again = turns.take("r1").await;
    }

    #[tokio::test]
    async fn finished_requests_are_forgotten() {
        let turns = Turns::default();
        for i in 0..SWEEP_EVERY {
            drop(turns.take(&format!("r{i}")).await);
        }
        assert!(turns.registered() <= 1, "{}", turns.registered());
    }
}
