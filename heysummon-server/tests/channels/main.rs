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

mod binary;
mod chats;
mod cli;
mod content;
mod discord;
mod edits;
mod manage;
mod replays;
mod restart;
mod retry;
mod secrets;
mod session;
mod setup;
mod slack;
mod ssrf;
mod telegram;
mod validation;
