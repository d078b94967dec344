//! The browser and the Rust SDK together: identity files made on one side open on the other,
//! messages sealed on one side open on the other, and an expert whose identity was made in the
//! browser answers a sealed question through the real server.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use heysummon_sdk::envelope::Channel;
use heysummon_sdk::keys::{PartyKeys, PublicKeys};
use heysummon_sdk::keystore::MemoryKeyStore;
use heysummon_sdk::wire::{EncryptedPayload, SendMessageRequest, Sender};
use heysummon_sdk::{AskOptions, Client, EncryptionPolicy, ExpertClient, WaitOptions};
use heysummon_server::testing::TestApp;
use serde_json::{Value, json};

use crate::driver::Browser;
use crate::support::{assert_clean, open, run};
use crate::web;

const PASSPHRASE: &str = "orbit-quartz 42 meadow";
const LIMIT: Duration = Duration::from_secs(30);

fn peer(keys: &PartyKeys) -> Value {
    let public = keys.public();
    json!({ "signPublicKey": public.sign.to_hex(), "encryptPublicKey": public.encrypt.to_hex() })
}

fn payload(value: &Value) -> EncryptedPayload {
    serde_json::from_value(value.clone()).unwrap()
}

/// Imports a Rust-made file, opens a Rust-sealed message with it and seals one back; then makes
/// an identity of its own and hands its file out.
const BROWSER_SIDE_JS: &str = r#"
const imported = await hs.importIdentityFile(arg.file, arg.passphrase);
const fromRust = await hs.openMessage(imported, arg.consumer, arg.sealed);
const toRust = await hs.sealMessage(imported, arg.consumer, 'Grüße aus dem Browser 🌐');
const made = await hs.createIdentityFile(arg.passphrase);
window.__made = made;
return {
  fingerprint: imported.fingerprint,
  extractable: [imported.sign.privateKey.extractable, imported.encrypt.privateKey.extractable],
  fromRust, toRust,
  made: { file: made.file, sign: made.sign.publicSpkiHex, encrypt: made.encrypt.publicSpkiHex },
};
"#;

#[tokio::test]
async fn identity_files_and_messages_cross_between_rust_and_the_browser() -> Result<()> {
    let app = TestApp::spawn().await;
    let web = web::dashboard(&app).await;
    let browser = Browser::launch().await?;
    let page = open(&browser, &web).await?;

    // Rust → browser: an identity file, and a message sealed to that identity.
    let expert = PartyKeys::generate();
    let consumer = PartyKeys::generate();
    let file = expert.to_identity_file(PASSPHRASE)?;
    let to_expert = Channel::new(&consumer, &expert.public())?;
    let sealed = to_expert.seal("Ünïcødé question — may I? 🚀", None)?;
    let arg = json!({
        "file": file, "passphrase": PASSPHRASE, "consumer": peer(&consumer), "sealed": sealed,
    });
    let out = run(&page, &web, BROWSER_SIDE_JS, arg).await?;
    assert_eq!(
        out["fingerprint"],
        expert.public().fingerprint().to_string()
    );
    assert_eq!(out["extractable"], json!([false, false]));
    assert_eq!(out["fromRust"], "Ünïcødé question — may I? 🚀");
    // Browser → Rust: the reply opens with the Rust consumer's channel.
    assert_eq!(
        to_expert.open(&payload(&out["toRust"]))?,
        "Grüße aus dem Browser 🌐"
    );

    // Browser → Rust: the browser's own identity file opens in Rust, with the same keys.
    let made = out["made"]["file"].as_str().unwrap();
    let keys = PartyKeys::from_identity_file(made, PASSPHRASE)?;
    let browser_public = PublicKeys::parse(
        out["made"]["sign"].as_str().unwrap(),
        out["made"]["encrypt"].as_str().unwrap(),
    )?;
    assert_eq!(keys.public(), browser_public);
    assert!(PartyKeys::from_identity_file(made, "not the passphrase").is_err());
    // A message Rust seals to it with those keys opens in the browser, and back.
    let channel = Channel::new(&consumer, &browser_public)?;
    let sealed = channel.seal("to the browser's own identity", None)?;
    let js = "const opened = await hs.openMessage(window.__made, arg.consumer, arg.sealed);\n\
              return { opened, reply: await hs.sealMessage(window.__made, arg.consumer, 'ok') };";
    let arg = json!({ "consumer": peer(&consumer), "sealed": sealed });
    let out = run(&page, &web, js, arg).await?;
    assert_eq!(out["opened"], "to the browser's own identity");
    assert_eq!(channel.open(&payload(&out["reply"]))?, "ok");

    // ExpertClient: imports the browser's file, exports one the browser opens.
    let client = ExpertClient::builder()
        .base_url(&app.base)
        .api_key(app.expert_key.clone())
        .key_store(MemoryKeyStore::new())
        .build()?;
    assert_eq!(
        client.import_identity(made, PASSPHRASE)?,
        browser_public.fingerprint()
    );
    let exported = client.export_identity("another passphrase")?;
    let js = "return (await hs.importIdentityFile(arg.file, arg.passphrase)).fingerprint;";
    let arg = json!({ "file": exported, "passphrase": "another passphrase" });
    let fingerprint = run(&page, &web, js, arg).await?;
    assert_eq!(fingerprint, browser_public.fingerprint().to_string());
    assert_clean(&page).await
}

/// The expert's identity is made in the browser; the server only ever sees its public keys.
const OPEN_AND_ANSWER_JS: &str = r#"
const expert = window.__expert;
const consumer = { signPublicKey: arg.messages.consumerSignPubKey, encryptPublicKey: arg.messages.consumerEncryptPubKey };
const channel = await hs.createChannel(expert, consumer);
const question = await channel.open(arg.messages.messages[0]);
return { question, reply: await channel.seal(arg.answer) };
"#;

#[tokio::test]
async fn a_sealed_question_is_answered_from_the_browser() -> Result<()> {
    let app = TestApp::spawn().await;
    let web = web::dashboard(&app).await;
    let browser = Browser::launch().await?;
    let page = open(&browser, &web).await?;

    // The dashboard makes the identity; the expert's terminal imports it and publishes the keys.
    let (expert, made) = browser_made_expert(&app, &page, &web).await?;
    assert_eq!(
        expert.publish_keys().await?.to_string(),
        made["fingerprint"]
    );

    let agent = Client::builder()
        .base_url(&app.base)
        .api_key(app.client_key.clone())
        .key_store(MemoryKeyStore::new())
        .encryption(EncryptionPolicy::Required)
        .build()?;
    let question = "Q-5d21: may I purge the CDN cache for every region?";
    let answer = "A-e07b: yes, one region at a time";
    let options = AskOptions::new().with_wait(WaitOptions::new().with_timeout(LIMIT));
    let asking = tokio::spawn(async move { agent.ask_with(question, options).await });

    let request = first_pending(&expert).await?;
    let path = format!("/api/v1/messages/{request}");
    let (status, messages) = app.get(&path, &app.expert_key).await;
    assert_eq!(status, 200, "{messages}");
    let arg = json!({ "messages": messages, "answer": answer });
    let out = run(&page, &web, OPEN_AND_ANSWER_JS, arg).await?;
    assert_eq!(out["question"], question);

    let reply = SendMessageRequest::encrypted(Sender::Expert, payload(&out["reply"]));
    let path = format!("/api/v1/message/{request}");
    let (status, sent) = app
        .post(&path, &app.expert_key, serde_json::to_value(reply)?)
        .await;
    assert!(status.is_success(), "{status} {sent}");

    let got = tokio::time::timeout(LIMIT, asking).await???;
    assert_eq!(got.text, answer);
    assert!(got.end_to_end);
    for needle in ["Q-5d21", "A-e07b", "CDN cache"] {
        assert!(
            !app.database_contains(needle.as_bytes()).await,
            "{needle} in the database"
        );
    }
    assert_clean(&page).await
}

/// The approve body the dashboard sends, signed in the browser by the expert's identity.
const SIGN_DECISION_JS: &str = r#"
return await hs.decisionBody(window.__expert, window.__expert.fingerprint, arg);
"#;

#[tokio::test]
async fn a_decision_signed_in_the_browser_is_the_experts_own_for_the_agent() -> Result<()> {
    let app = TestApp::spawn().await;
    let web = web::dashboard(&app).await;
    let browser = Browser::launch().await?;
    let page = open(&browser, &web).await?;
    let (expert, _) = browser_made_expert(&app, &page, &web).await?;
    expert.publish_keys().await?;

    let agent = Client::builder()
        .base_url(&app.base)
        .api_key(app.client_key.clone())
        .key_store(MemoryKeyStore::new())
        .build()?;
    let action = json!({"tool": "purge_cache", "args": {"regions": ["eu", "us"]}});
    let options = AskOptions::new()
        .with_wait(WaitOptions::new().with_timeout(LIMIT))
        .with_action(action.clone());
    let asking =
        tokio::spawn(async move { agent.approval_with("Purge the CDN cache?", options).await });
    let request = first_pending(&expert).await?;
    let (_, messages) = app
        .get(&format!("/api/v1/messages/{request}"), &app.expert_key)
        .await;
    let hash = heysummon_sdk::decision::action_hash(&action).unwrap();
    assert_eq!(messages["actionHash"], hash);
    // The browser's RFC 8785 hash is the Rust one, for values whose spellings differ.
    let tricky = json!({"é": [1e21, 0.1, -0.0, 1.5e-7, 100], "a\u{1F600}": "\u{2028}\"\\", "A": {"z": null, "b": true}});
    let in_browser = run(
        &page,
        &web,
        "return await hs.actionHash(arg);",
        tricky.clone(),
    )
    .await?;
    assert_eq!(
        in_browser,
        heysummon_sdk::decision::action_hash(&tricky).unwrap()
    );

    let arg = json!({ "requestId": request, "decision": "approved", "actionHash": hash });
    let body = run(&page, &web, SIGN_DECISION_JS, arg).await?;
    assert!(body["decisionSignature"].is_string(), "{body}");
    let (status, answer) = app
        .post(&format!("/api/v1/approve/{request}"), &app.expert_key, body)
        .await;
    assert_eq!(status, 200, "{answer}");
    let approval = tokio::time::timeout(LIMIT, asking).await???;
    assert!(approval.is_approved());
    assert!(
        approval.signed,
        "the browser's signature verifies for the agent"
    );
    assert_clean(&page).await
}

/// An expert whose identity the dashboard made (kept in the page as `window.__expert`), imported
/// by the expert's terminal; the identity file's `file` and `fingerprint`.
async fn browser_made_expert(
    app: &TestApp,
    page: &crate::page::Page<'_>,
    web: &web::Dashboard,
) -> Result<(ExpertClient, Value)> {
    let js = "window.__expert = await hs.createIdentityFile(arg);\n\
              return { file: window.__expert.file, fingerprint: window.__expert.fingerprint };";
    let made = run(page, web, js, json!(PASSPHRASE)).await?;
    let expert = ExpertClient::builder()
        .base_url(&app.base)
        .api_key(app.expert_key.clone())
        .key_store(MemoryKeyStore::new())
        .build()?;
    expert.import_identity(made["file"].as_str().unwrap(), PASSPHRASE)?;
    Ok((expert, made))
}

async fn first_pending(expert: &ExpertClient) -> Result<String> {
    let started = Instant::now();
    loop {
        if let Some(request) = expert.pending().await?.into_iter().next() {
            return Ok(request.request_id.to_string());
        }
        if started.elapsed() > LIMIT {
            bail!("no request reached the expert");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
