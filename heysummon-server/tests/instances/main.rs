//! Several server instances on one PostgreSQL database (issue 13, item 3): two real
//! `heysummon-server` processes share a database made for the test. Instance A starts first on
//! the empty store and prints the first-run keys; B starts next on the same database. Both are
//! killed when the test ends, passed or not.
//!
//! - an agent's SSE stream on A receives the answer an expert posts to B;
//! - a signed request accepted by A is refused as a replay by B, and creates nothing there;
//! - an idempotent creation retried against the other instance returns the same request;
//! - kill -9 of A while agents wait: they resume on B with `Last-Event-ID` and miss nothing;
//! - the per-key rate limit counts across instances.
//!
//! The tests need `HEYSUMMON_TEST_POSTGRES_URL` (skipped without it, outside CI). Every wait is
//! bounded.

#![allow(clippy::unwrap_used, clippy::print_stderr, unreachable_pub, dead_code)]

#[path = "../common/mod.rs"]
mod common;

mod cluster;
mod events;
mod shared_state;
