//! The guard's MCP server (PROTOCOL G2) with a real MCP client of another implementation (the
//! official TypeScript SDK, under Node.js) against a real server whose expert answers with the
//! Rust SDK: `heysummon-guard mcp` over stdio, started by the client as a coding agent's host
//! starts it, and `/mcp` on a running guard over streamable HTTP.
//!
//! Needs Node.js 20+ and npm (`apt-get install -y nodejs npm`); the client's packages are
//! installed on first use (`npm ci` in `tests/mcp/client`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    missing_docs,
    unreachable_pub,
    dead_code
)]

mod approvals;
mod client;
mod http;
#[path = "../../../tests/support/node.rs"]
mod node;
mod support;
mod tools;
