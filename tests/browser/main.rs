//! The dashboard's JavaScript in a real headless Chromium (Debian's `/usr/bin/chromium`, driven
//! by Playwright from `driver/`): the WebCrypto implementation of PROTOCOL part C against the
//! vectors, the expert identity file in both directions with the Rust SDK, and a sealed question
//! answered from the browser through the real server; and the dashboard end to end (`ui_*`):
//! signing in, the inbox, sealed and plaintext conversations, approvals, keys, settings and its
//! channels, what a page must not be able to do, the keyboard, and screenshots under
//! `target/screenshots/`.
//!
//! Needs Chromium and Node.js 20+ (`apt-get install -y chromium nodejs npm`); the driver's npm
//! packages are installed on first use (`npm ci` in `tests/browser/driver`). `.ci/run` sets up
//! all of it on a fresh machine.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    dead_code
)]

mod crypto_interop;
mod crypto_vectors;
mod driver;
mod driver_commands;
#[path = "../support/node.rs"]
mod node;
mod page;
mod setup;
mod support;
mod ui;
mod ui_channels;
mod ui_channels_connect;
mod ui_inbox;
mod ui_requests;
mod ui_screens;
mod ui_sealed;
mod ui_security;
mod ui_settings;
mod ui_signin;
mod web;
