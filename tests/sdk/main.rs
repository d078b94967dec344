//! The SDK against a real server: asking, approvals, conversations, restarts and every way of
//! waiting.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod ask_server;
mod decisions;
mod errors;
mod support;
mod wait_server;
