//! A terminal expert: publishes the expert's keys, then shows each new request (opening sealed
//! questions locally) and sends what you type as the encrypted answer. For approval requests,
//! type `y` or `n`, optionally followed by a comment (`n not before the backup`).
//!
//! Against a local server: start it (`cargo run --release -p heysummon-server -- serve`, which
//! prints an expert key on an empty database), then
//! `HEYSUMMON_API_KEY=hs_exp_… cargo run --example expert-answerer`, and ask from another
//! terminal with `examples/ask.rs` or `examples/approval.rs`.
//!
//! Settings: `HEYSUMMON_URL` (default `http://127.0.0.1:8080`), `HEYSUMMON_API_KEY` (an expert
//! key), `HEYSUMMON_KEY_STORE` (default `.heysummon/expert`: the expert's private keys, kept
//! across runs so answers to earlier sealed questions can still be written).

#![allow(clippy::print_stdout)] // an example prints what it does

use std::io::BufRead as _;

use futures_util::StreamExt as _;
use heysummon_sdk::ExpertClient;
use heysummon_sdk::client::WaitOptions;
use heysummon_sdk::keystore::FileKeyStore;
use heysummon_sdk::wire::ApprovalDecision;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let expert =
        ExpertClient::builder()
            .base_url(env("HEYSUMMON_URL", "http://127.0.0.1:8080"))
            .api_key(std::env::var("HEYSUMMON_API_KEY").map_err(|_| {
                anyhow::anyhow!("set HEYSUMMON_API_KEY to an expert key (hs_exp_…)")
            })?)
            .key_store(FileKeyStore::open(env(
                "HEYSUMMON_KEY_STORE",
                ".heysummon/expert",
            ))?)
            .build()?;
    let fingerprint = expert.publish_keys().await?;
    println!("published keys, fingerprint {}", fingerprint.grouped());
    println!("waiting for requests (Ctrl-C to stop) …");

    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut requests = Box::pin(expert.requests(WaitOptions::new()));
    while let Some(request) = requests.next().await {
        let request = request?;
        let opened = expert.open(&request.request_id).await?;
        // Terminal escape sequences in a question must not redraw the prompt.
        let question: String = opened
            .question
            .chars()
            .map(|c| {
                if c.is_control() && c != '\n' {
                    '�'
                } else {
                    c
                }
            })
            .collect();
        println!();
        println!(
            "[{}] {}{}",
            request.ref_code,
            if opened.sealed { "(sealed) " } else { "" },
            question
        );
        if request.notification {
            println!("  notification — nothing to answer");
            expert.ack(&request.request_id).await?;
            continue;
        }
        if request.requires_approval {
            println!("  approve? type y or n, optionally followed by a comment");
        } else {
            println!("  your answer:");
        }
        let Some(line) = lines.recv().await else {
            break;
        };
        if request.requires_approval {
            let (verdict, comment) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
            let decision = if verdict.eq_ignore_ascii_case("y") {
                ApprovalDecision::Approved
            } else {
                ApprovalDecision::Denied
            };
            if comment.is_empty() {
                expert.decide(&request.request_id, decision).await?;
            } else {
                expert
                    .reply_with_decision(&request.request_id, comment, decision)
                    .await?;
            }
            println!("  sent: {}", decision.as_str());
        } else {
            expert.reply(&request.request_id, line.trim()).await?;
            println!("  sent (encrypted to the agent's key)");
        }
        expert.ack(&request.request_id).await?;
    }
    Ok(())
}
