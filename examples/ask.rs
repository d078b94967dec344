//! Ask a human expert a question and print the answer: the whole agent side in one call.
//!
//! Against a local server:
//! 1. `cargo run --release -p heysummon-server -- serve` (prints a client and an expert key on
//!    an empty database);
//! 2. in a second terminal, the expert: `HEYSUMMON_API_KEY=hs_exp_… cargo run --example
//!    expert-answerer`;
//! 3. in a third, the agent: `HEYSUMMON_API_KEY=hs_cli_… cargo run --example ask -- "May I
//!    restart the API servers?"`.
//!
//! Settings: `HEYSUMMON_URL` (default `http://127.0.0.1:8080`), `HEYSUMMON_API_KEY` (a client
//! key), `HEYSUMMON_KEY_STORE` (default `.heysummon/agent`: per-request keys and the expert's
//! pinned fingerprint), `HEYSUMMON_TIMEOUT_SECS` (default 600). If the agent is stopped while
//! waiting, `--resume REQUEST_ID` picks the request up again and decrypts the answer.

#![allow(clippy::print_stdout)] // an example prints what it does

use std::time::Duration;

use heysummon_sdk::client::{AskOptions, WaitOptions};
use heysummon_sdk::keystore::FileKeyStore;
use heysummon_sdk::wire::RequestId;
use heysummon_sdk::{Client, EncryptionPolicy};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let timeout = Duration::from_secs(env("HEYSUMMON_TIMEOUT_SECS", "600").parse()?);
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
        .encryption(EncryptionPolicy::Preferred)
        .build()?;

    let answer = match args.as_slice() {
        [flag, id] if flag == "--resume" => {
            println!("resuming {id} …");
            let wait = WaitOptions::new().with_timeout(timeout);
            client.resume(&RequestId::new(id.as_str()), wait).await?
        }
        [] => anyhow::bail!("usage: ask \"QUESTION\" | ask --resume REQUEST_ID"),
        words => {
            let question = words.join(" ");
            let options = AskOptions::new().with_timeout(timeout);
            let conversation = client.submit(question, &options).await?;
            println!(
                "asked {} ({}), {}; waiting …",
                conversation.ref_code(),
                conversation.request_id(),
                if conversation.is_sealed() {
                    "sealed to the expert's key"
                } else {
                    "readable by the server (the expert has published no keys)"
                }
            );
            conversation.answer(options.wait).await?
        }
    };
    let how = if answer.end_to_end {
        "end-to-end encrypted"
    } else {
        "plaintext"
    };
    println!("{} answered ({how}): {}", answer.ref_code, answer.text);
    Ok(())
}
