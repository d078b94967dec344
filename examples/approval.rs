//! Ask a human expert to approve an action, and act only on an explicit approval.
//!
//! Against a local server: start it (`cargo run --release -p heysummon-server -- serve`), run
//! the expert (`HEYSUMMON_API_KEY=hs_exp_… cargo run --example expert-answerer`), then
//! `HEYSUMMON_API_KEY=hs_cli_… cargo run --example approval -- "Drop the staging database"`.
//!
//! Settings as in `examples/ask.rs`; `HEYSUMMON_TIMEOUT_SECS` (default 300) bounds the wait.
//! Approvals fail closed: a timeout, an expiry, a cancellation or any error exits with status 1
//! and the action is not taken.

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example prints what it does

use std::process::ExitCode;
use std::time::Duration;

use heysummon_sdk::Client;
use heysummon_sdk::client::AskOptions;
use heysummon_sdk::keystore::FileKeyStore;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let action = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    anyhow::ensure!(!action.is_empty(), "usage: approval \"ACTION\"");
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let client = Client::builder()
        .base_url(env("HEYSUMMON_URL", "http://127.0.0.1:8080"))
        .api_key(
            std::env::var("HEYSUMMON_API_KEY")
                .map_err(|_| anyhow::anyhow!("set HEYSUMMON_API_KEY to a client key (hs_cli_…)"))?,
        )
        .key_store(FileKeyStore::open(env(
            "HEYSUMMON_KEY_STORE",
            ".heysummon/agent",
        ))?)
        .build()?;
    let timeout = Duration::from_secs(env("HEYSUMMON_TIMEOUT_SECS", "300").parse()?);
    println!("asking for approval: {action}");
    match client
        .approval_with(action, AskOptions::new().with_timeout(timeout))
        .await
    {
        Ok(approval) if approval.is_approved() => {
            println!("{}: approved — going ahead", approval.ref_code);
            if let Some(comment) = approval.comment {
                println!("expert: {comment}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(approval) => {
            println!("{}: denied — not doing it", approval.ref_code);
            if let Some(comment) = approval.comment {
                println!("expert: {comment}");
            }
            Ok(ExitCode::FAILURE)
        }
        Err(error) => {
            eprintln!("no approval ({error}) — not doing it");
            Ok(ExitCode::FAILURE)
        }
    }
}
