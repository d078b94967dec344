//! # heysummon-sdk
//!
//! The client side of HeySummon, the pager for AI agents: an agent that needs approval, hits
//! ambiguity or lacks context asks a human expert, the expert answers, the agent resumes.
//!
//! ## Quickstart
//!
//! One dependency, one call. Keys, sealing the question to the expert's pinned key, signing,
//! waiting (Server-Sent Events, long-poll or smart polling), retries and decryption are done for
//! you:
//!
//! ```no_run
//! use heysummon_sdk::Client;
//! use heysummon_sdk::keystore::FileKeyStore;
//!
//! # async fn agent() -> Result<(), heysummon_sdk::Error> {
//! let client = Client::builder()
//!     .base_url("http://127.0.0.1:8080")
//!     .api_key(std::env::var("HEYSUMMON_API_KEY").unwrap_or_default())
//!     // Per-request keys and expert pins survive a restart (see `Client::resume`).
//!     .key_store(FileKeyStore::open(".heysummon")?)
//!     .build()?;
//!
//! let answer = client.ask("May I run the migration on production?").await?;
//! println!("{} ({}): {}", answer.ref_code, answer.request_id, answer.text);
//!
//! // Approvals fail closed: only an explicit decision is `Ok`; a timeout, an expiry or a
//! // cancellation is an error, never "approved".
//! let approval = client.approval("Delete 1,204 stale branches?").await?;
//! if approval.is_approved() {
//!     // go ahead
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The expert's side is `ExpertClient` (publish keys, stream requests, open sealed questions,
//! reply, decide). Runnable examples: `examples/ask.rs`, `examples/approval.rs` and
//! `examples/expert-answerer.rs` in the repository.
//!
//! ## What is inside
//!
//! Without features this crate does no I/O. It is the one definition of the protocol that the
//! SDK, the guard and the server share:
//!
//! - [`wire`]: the request, response, event and error bodies of the HeySummon v1 API and our
//!   additions, with id newtypes and a forward-compatible [`wire::Status`];
//! - [`keys`]: Ed25519 signing and X25519 agreement key pairs, public keys as hex of DER SPKI
//!   (also PEM and base64 on input), and the expert [`keys::Fingerprint`];
//! - [`envelope`]: the end-to-end message envelope (X25519 → HKDF-SHA256 → AES-256-GCM, signed
//!   with Ed25519), with one opaque error for every authentication failure;
//! - [`signing`]: the signed-request scheme of the guard (`HEYSUMMON-SIG-V1`), including the
//!   verifier a server runs, with the clock and the nonce store as inputs.
//!
//! With the `keystore` feature (implied by `client`), `keystore` keeps per-request private keys,
//! trust-on-first-use pins of expert fingerprints and long-term identities, in memory or in
//! owner-only files written atomically, so an agent that crashed mid-wait can still open the answer.
//!
//! With the `client` feature (on by default), `client` adds the async HTTP client on reqwest and
//! tokio: `Client::ask`, `Client::approval`, `Client::notify`, conversations, `Client::resume`,
//! `ExpertClient`, and `Client::wait`, which waits for an expert's answer over Server-Sent
//! Events, long-polls or two-phase smart polling.
//!
//! ```
//! use heysummon_sdk::envelope::Channel;
//! use heysummon_sdk::keys::PartyKeys;
//!
//! # fn main() -> Result<(), heysummon_sdk::Error> {
//! let agent = PartyKeys::generate();
//! let expert = PartyKeys::generate();
//!
//! // The agent seals a question to the expert's published keys …
//! let to_expert = Channel::new(&agent, &expert.public())?;
//! let sealed = to_expert.seal("May I drop the staging database?", None)?;
//!
//! // … and only the expert can open it.
//! let from_agent = Channel::new(&expert, &agent.public())?;
//! assert_eq!(from_agent.open(&sealed)?, "May I drop the staging database?");
//! # Ok(())
//! # }
//! ```

pub mod backoff;
#[cfg(feature = "client")]
pub mod client;
pub mod decision;
pub mod envelope;
mod error;
pub mod keys;
#[cfg(feature = "keystore")]
pub mod keystore;
pub mod safety;
pub mod signing;
pub mod wire;

#[cfg(feature = "client")]
pub use client::{
    Answer, Approval, AskOptions, BackoffPolicy, Client, ClientBuilder, Conversation,
    DecisionTrust, EncryptionPolicy, ExpertClient, ExpertClientBuilder, WaitOptions, WaitStrategy,
};
#[cfg(feature = "client")]
pub use error::NetworkErrorKind;
pub use error::{BoxError, Error, KeyAlgorithm, KeyProblem, SignatureRejection};
