//! # heysummon-server
//!
//! The self-hostable HeySummon server: the HeySummon v1 HTTP API and our additions
//! (PROTOCOL.md parts A and B) on an embedded SQLite database, or PostgreSQL for several
//! instances.
//!
//! The server verifies signed requests and parses every body with the one protocol definition in
//! [`heysummon_sdk`] (without its I/O features). The HTTP server itself arrives with its own
//! issue; today the crate re-exports the verification primitives it is built on.

pub use heysummon_sdk::signing::{NonceStore, SignatureHeaders, VerifyWindow, verify};
