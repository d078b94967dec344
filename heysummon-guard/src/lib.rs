//! # heysummon-guard
//!
//! The local signing proxy that gives agents in any language (Python, TypeScript, shell, MCP
//! clients) the guarantees of the Rust SDK. Agents talk plain HTTP to the guard on localhost;
//! the guard
//!
//! - holds the client API key and injects it ([`inject`]): the agent need not know it, and a
//!   request carrying a different key is refused locally;
//! - applies the content-safety rules to every plaintext field before anything leaves the
//!   machine ([`safety`]; 422 locally, or flag-only);
//! - signs every forwarded request per PROTOCOL B4 with its device key ([`sign`], a reusable
//!   tower layer; [`device`] generates and keeps the key; [`Guard::enroll`] registers it);
//! - proxies properly ([`proxy`], [`upstream`], [`serve`]): one pooled keep-alive upstream
//!   client, over HTTPS for a remote server ([`tls`]: rustls, the system's roots plus a CA file,
//!   the same trust for the SDK client; plain HTTP only to loopback unless the operator allows
//!   it), hop-by-hop headers dropped both ways, bodies bounded at 1 MiB, responses and event
//!   streams passed through as they arrive, JSON 502/504 when the server fails or times out;
//!   with several workers thread-per-core ([`serve::spawn_threads`]: one current-thread runtime,
//!   accept loop and upstream pool per thread, the ask API's state and the key store shared
//!   through [`GuardShared`]);
//! - asks humans for agents without cryptography: one transport-neutral core ([`ask`]:
//!   [`AskInput`] → [`AskOutcome`] or [`AskError`], on the SDK's client), with the local HTTP
//!   API `/v1/ask` as a thin front end over it ([`ask_api`]).
//!
//! The guard shares the wire types, the cryptography and the canonical signing text with the
//! SDK and the server through [`heysummon_sdk`] (without its I/O features), so there is exactly
//! one definition of each.
//!
//! ```no_run
//! # async fn run() -> Result<(), heysummon_guard::Error> {
//! use heysummon_guard::{ApiKey, Config, Guard, device};
//!
//! let config = Config::new(
//!     "http://127.0.0.1:8080",
//!     ApiKey::new(std::env::var("HEYSUMMON_API_KEY").unwrap_or_default())?,
//!     "device.key".into(),
//! )?;
//! let key = device::load_or_create(&config.device_key_file)?;
//! let guard = Guard::new(config, key.key)?;
//! guard.enroll().await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8787")
//!     .await
//!     .map_err(|e| heysummon_guard::Error::Upstream(e.to_string()))?;
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! heysummon_guard::serve::serve(listener, guard, shutdown)
//!     .await
//!     .map_err(|e| heysummon_guard::Error::Upstream(e.to_string()))?;
//! # Ok(())
//! # }
//! ```

pub mod apikey;
pub mod ask;
pub mod ask_api;
pub mod cli;
pub mod command;
pub mod config;
pub mod device;
pub mod e2e;
pub mod enroll;
mod error;
pub mod hop;
pub mod inject;
pub mod inspect;
pub mod mcp;
pub mod proxy;
pub mod response;
pub mod safety;
pub mod serve;
pub mod sign;
pub mod tls;
pub mod upstream;

pub use apikey::ApiKey;
pub use ask::{AskError, AskInput, AskKind, AskOutcome, Asker};
pub use config::{Config, Limits, SafetyMode};
pub use enroll::Enrollment;
pub use error::Error;
pub use heysummon_sdk::signing::{RequestParts, RequestSigner, SignatureHeaders};
pub use proxy::{Guard, GuardShared};
pub use sign::{SignRequest, SignRequestLayer};
