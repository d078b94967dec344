//! A whole HeySummon exchange on one machine, in one process: a server on an embedded SQLite
//! file, an expert who publishes keys, and an agent that asks a sealed (end-to-end encrypted)
//! question and waits for the answer with the SDK.
//!
//! Run: `cargo run --example local_round_trip`
//!
//! The server listens on 127.0.0.1 on a free port; the database lives in a temporary folder and
//! disappears afterwards.

#![allow(clippy::print_stdout)] // an example prints what it does

use std::time::Duration;

use heysummon_sdk::envelope::Channel;
use heysummon_sdk::keys::{PartyKeys, PublicKeys};
use heysummon_sdk::wire::{CreateHelpResponse, EncryptedPayload, MessagesResponse, RequestId};
use heysummon_sdk::{Client, WaitOptions};
use heysummon_server::{Application, config::Config, provision};
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The server, on its embedded SQLite default, with one expert and one agent key.
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("heysummon.db").display());
    let app = Application::build(Config {
        database_url: url,
        listen: "127.0.0.1:0".parse()?,
        ..Config::default()
    })
    .await?;
    let (store, clock) = (&app.state().store, &app.state().clock);
    let expert = provision::add_expert(store, clock, "Dana", None).await?;
    let agent_key = provision::add_client(
        store,
        clock,
        expert.expert_id.as_str(),
        provision::ClientOptions::default(),
    )
    .await?;
    let base = format!("http://{}", app.local_addr());
    let shutdown = app.stop_token();
    let server = tokio::spawn(app.run_until_stopped());
    println!("server listening on {base}");
    let http = reqwest::Client::new();

    // The expert publishes long-term keys.
    let expert_keys = PartyKeys::generate();
    let published = expert_keys.public();
    let fingerprint: serde_json::Value = http
        .put(format!("{base}/api/v1/expert/keys"))
        .header("x-api-key", &expert.expert_key)
        .json(&json!({
            "signPublicKey": published.sign.to_hex(),
            "encryptPublicKey": published.encrypt.to_hex(),
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!(
        "expert published keys, fingerprint {}",
        fingerprint["fingerprint"]
    );

    // The agent seals its question to those keys: the server never sees it in plaintext.
    let agent_keys = PartyKeys::generate();
    let question = "May I rotate the production database credentials now?";
    let sealed = Channel::new(&agent_keys, &published)?.seal(question, None)?;
    let created: CreateHelpResponse = http
        .post(format!("{base}/api/v1/help"))
        .json(&json!({
            "apiKey": agent_key.client_key,
            "signPublicKey": agent_keys.public().sign.to_hex(),
            "encryptPublicKey": agent_keys.public().encrypt.to_hex(),
            "sealedQuestion": sealed,
            "expertFingerprint": published.fingerprint().to_string(),
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!("agent asked {} ({})", created.ref_code, created.request_id);

    // The agent waits with the SDK while the expert answers in the background.
    let client = Client::builder()
        .base_url(&base)
        .api_key(agent_key.client_key.clone())
        .build()?;
    let expert_side = tokio::spawn(answer_as_expert(
        http.clone(),
        base.clone(),
        expert.expert_key.clone(),
        expert_keys,
        created.request_id.clone(),
    ));
    let status = client
        .wait(
            &created.request_id,
            WaitOptions::new().with_timeout(Duration::from_secs(30)),
        )
        .await?;
    expert_side.await??;
    println!("agent woke up: status {}", status.status);

    // The agent decrypts the answer with its per-request keys.
    let messages: MessagesResponse = http
        .get(format!("{base}/api/v1/messages/{}", created.request_id))
        .header("x-api-key", &agent_key.client_key)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let reply = messages
        .messages
        .last()
        .ok_or_else(|| anyhow::anyhow!("no reply"))?;
    let payload = EncryptedPayload {
        ciphertext: reply.ciphertext.clone().unwrap_or_default(),
        iv: reply.iv.clone().unwrap_or_default(),
        auth_tag: reply.auth_tag.clone().unwrap_or_default(),
        signature: reply.signature.clone().unwrap_or_default(),
        message_id: reply.message_id.clone(),
    };
    let answer = Channel::new(&agent_keys, &published)?.open(&payload)?;
    println!("expert answered: {answer}");

    shutdown.cancel();
    server.await??;
    Ok(())
}

/// The expert reads the sealed question, decrypts it and answers encrypted.
async fn answer_as_expert(
    http: reqwest::Client,
    base: String,
    expert_key: String,
    keys: PartyKeys,
    request_id: RequestId,
) -> anyhow::Result<()> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let messages: MessagesResponse = http
        .get(format!("{base}/api/v1/messages/{request_id}"))
        .header("x-api-key", &expert_key)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let agent = PublicKeys::parse(
        messages
            .consumer_sign_pub_key
            .as_deref()
            .unwrap_or_default(),
        messages
            .consumer_encrypt_pub_key
            .as_deref()
            .unwrap_or_default(),
    )?;
    let first = messages
        .messages
        .first()
        .ok_or_else(|| anyhow::anyhow!("no question"))?;
    let channel = Channel::new(&keys, &agent)?;
    let question = channel.open(&EncryptedPayload {
        ciphertext: first.ciphertext.clone().unwrap_or_default(),
        iv: first.iv.clone().unwrap_or_default(),
        auth_tag: first.auth_tag.clone().unwrap_or_default(),
        signature: first.signature.clone().unwrap_or_default(),
        message_id: first.message_id.clone(),
    })?;
    println!("expert read: {question}");
    let reply = channel.seal("Yes — after the 14:00 backup completes.", None)?;
    let mut body = serde_json::to_value(&reply)?;
    body["from"] = json!("expert");
    http.post(format!("{base}/api/v1/message/{request_id}"))
        .header("x-api-key", &expert_key)
        .json(&body)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}
