//! Notification channels (PROTOCOL F) over real HTTP: what reaches each kind of channel, the
//! answers that come back from the chats, retries and order, management and the outbound rules.

#![allow(
    clippy::unwrap_used,
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    dead_code
)]

#[path = "../common/mod.rs"]
mod common;

mod answers;
mod cli;
mod content;
mod edits;
mod manage;
mod restart;
mod retry;
mod setup;
mod ssrf;
mod support;
