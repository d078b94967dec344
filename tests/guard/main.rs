//! The guard against a real server (and against stub upstreams): the signing proxy, end-to-end
//! encryption for agents without cryptography, the local ask API, the guard's threads, and its
//! upstream over HTTPS.

#![allow(clippy::unwrap_used, clippy::print_stderr, missing_docs)]

mod ask_core;
mod common;
mod decisions;
mod e2e;
mod hardening;
mod proxy;
mod python_client;
mod signing;
mod threads;
mod tls;
mod tls_front;
