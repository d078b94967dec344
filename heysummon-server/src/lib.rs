//! # heysummon-server
//!
//! The self-hostable HeySummon server: the HeySummon v1 HTTP API (PROTOCOL.md part A) with our
//! additions — idempotent creation (B2), sealed questions the server cannot read (B3), signed
//! requests with a persistent nonce store (B4) — on an embedded SQLite file.
//!
//! Layout: [`Application`] (in [`app`]) is the running server: the router, the edge every
//! request passes (limits, request ids, JSON errors), the accept loop, and its background tasks.
//! `routes` has one module per resource; [`auth`] resolves keys; [`lifecycle`] owns creation and
//! every status transition, and reading a request as a [`lifecycle::Viewer`] may see it;
//! [`store`] persists (one conformance suite for every backend) and publishes appended events
//! on the [`bus`]; [`views`] shows records on the wire; [`sweeper`] expires, prunes and
//! checkpoints in the background; [`audit`] is the tamper-evident audit log; [`provision`] and [`cli`] are the administration commands;
//! `testing` (feature `testing`) is the shared test harness. The wire types, the cryptography
//! and the signature verifier come from [`heysummon_sdk`].
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use heysummon_server::{Application, config::Config};
//!
//! let app = Application::build(Config::default()).await?;
//! app.run_until_stopped().await?;
//! # Ok(())
//! # }
//! ```

pub mod app;
pub mod audit;
pub mod auth;
pub mod bus;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod ids;
pub mod lifecycle;
pub mod mercure;
pub mod notify;
pub mod provision;
pub mod ratelimit;
mod routes;
pub mod state;
pub mod store;
pub mod sweeper;
mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod views;
pub mod web;

pub use app::{Application, StartError};
