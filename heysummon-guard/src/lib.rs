//! # heysummon-guard
//!
//! The local signing proxy that gives agents in any language (Python, TypeScript, shell, MCP
//! clients) the guarantees of the Rust SDK: it holds the API key and the device key, checks
//! content before anything leaves the machine, seals questions end to end and signs every
//! request per PROTOCOL B4.
//!
//! The guard shares the wire types, the cryptography and the canonical signing text with the
//! SDK and the server through [`heysummon_sdk`] (without its I/O features), so there is exactly
//! one definition of each. The proxy itself arrives with its own issue; today the crate
//! re-exports the signing primitives it is built on.

pub use heysummon_sdk::signing::{RequestParts, RequestSigner, SignatureHeaders};
