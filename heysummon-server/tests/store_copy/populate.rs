//! A store filled the way a server fills it: two tenants, plaintext questions answered, a
//! sealed, signed and idempotent question, a dashboard session, a linked identity, a sign-in
//! in progress, a webhook channel with delivered notifications, a chat message, linked chat
//! users and connect codes, inbound ids, pruned events and a deleted finished request.

use std::time::Duration;

use heysummon_sdk::keys::SigningKeyPair;
use heysummon_sdk::keystore::MemoryKeyStore;
use heysummon_sdk::{AskOptions, Client, EncryptionPolicy, ExpertClient};
use heysummon_server::notify::{ChannelKind, ChannelOptions, manage};
use heysummon_server::store::copy::TABLES;
use heysummon_server::store::{ChannelLink, Delivered, SignInFlow};
use heysummon_server::testing::fake_channels::{WebhookReceiver, new_webhook_secret};
use heysummon_server::testing::{Tenant, TestApp};

use super::sqlite_dump;

/// What a sealed question says: it must never be stored readable.
pub(crate) const SECRET: &str = "the vault code is 7-4-1-9";

/// Tables a server on SQLite may leave empty: instance coordination (PostgreSQL's).
const MAY_BE_EMPTY: &[&str] = &["leases", "rate_windows"];

/// A populated store, its server stopped (the file complete on its own).
pub(crate) struct Populated {
    /// The stopped server: its database file, keys and clock.
    pub(crate) app: TestApp,
    /// The second tenant (its agent seals and signs).
    pub(crate) bob: Tenant,
    /// Requests that still exist: the first tenant's answered question, the sealed one.
    pub(crate) requests: Vec<String>,
    _webhook: WebhookReceiver,
}

/// Fills a fresh SQLite store through a running server, then stops it.
pub(crate) async fn populated() -> Populated {
    let secret = new_webhook_secret();
    let webhook = WebhookReceiver::start(&secret).await;
    let mut app = TestApp::builder()
        .sqlite_only()
        .config(|c| {
            c.channels.allow_private_networks = true;
            c.channels.retry_initial_ms = 50;
        })
        .spawn()
        .await;
    let options = ChannelOptions {
        url: Some(webhook.url()),
        secret: Some(secret),
        ..ChannelOptions::default()
    };
    let channel = manage::add(&app.state, &app.expert_id, ChannelKind::Webhook, &options)
        .await
        .unwrap()
        .channel_id;

    // A plaintext question, answered; its events are pruned below.
    let first = app.ask_ok(&app.client_key, "May I deploy?").await;
    app.answer(&app.expert_key, &first, "Yes, after the backup.")
        .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let pruned_before = app.clock.now();
    tokio::time::sleep(Duration::from_millis(5)).await;

    // A second tenant whose agent enrolls a device, signs, seals to its expert's keys and
    // sends an idempotency key.
    let bob = app.tenant("Bob").await;
    let sealed = sealed_question(&app, &bob).await;

    // The dashboard: a session (and the sign-in link it used), a linked identity, a sign-in
    // in progress.
    let now = app.clock.now();
    app.session(&app.expert_id).await;
    let store = &app.store;
    store
        .link_identity("github", "1234567", &app.expert_id, now)
        .await
        .unwrap();
    let flow = SignInFlow {
        state_hash: [7; 32],
        provider: "github".into(),
        created_at: now,
        expires_at: now + 600_000,
    };
    store.insert_sign_in_flow(flow).await.unwrap();

    // The channel: notifications delivered from the outbox, a chat message remembered, a
    // linked chat user (its code used), an unused code, an inbound id handled.
    webhook.wait_for(2, Duration::from_secs(15)).await;
    let delivered = Delivered {
        outbox_id: 0,
        request_id: first.clone(),
        external_id: Some("chat-message-1".into()),
    };
    store
        .record_deliveries(&channel, vec![delivered], None, now)
        .await
        .unwrap();
    store
        .insert_connect_code(&channel, [1; 32], now + 600_000)
        .await
        .unwrap();
    store
        .insert_connect_code(&channel, [2; 32], now + 600_000)
        .await
        .unwrap();
    let link = ChannelLink {
        user_id: "U42".into(),
        display_name: Some("Dana".into()),
        created_at: now,
    };
    assert!(store.link_chat_user(&channel, [2; 32], link).await.unwrap());
    assert!(
        store
            .record_inbound(&channel, "update-1", now)
            .await
            .unwrap()
    );

    // Retention: the last question (with the newest message) finished and deleted, so the
    // message counter is ahead of every stored message; the first question's events pruned.
    let last = app.ask_ok(&app.client_key, "One more?").await;
    app.answer(&app.expert_key, &last, "No.").await;
    app.expire(&last).await;
    let deleted = store
        .delete_finished_before(app.clock.now() + 1, 100)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert!(store.prune_events(pruned_before).await.unwrap() >= 2);
    assert!(store.pruned_through().await.unwrap() > 0);

    app.stop().await;
    let dump = sqlite_dump(&app.db_path);
    for table in TABLES.iter().filter(|t| !MAY_BE_EMPTY.contains(&t.name)) {
        assert!(!dump[table.name].is_empty(), "{} has no rows", table.name);
    }
    Populated {
        app,
        bob,
        requests: vec![first, sealed],
        _webhook: webhook,
    }
}

/// Bob's agent asks a sealed question, signed by an enrolled device, with an idempotency key.
async fn sealed_question(app: &TestApp, bob: &Tenant) -> String {
    let expert = ExpertClient::builder()
        .base_url(&app.base)
        .api_key(bob.expert_key.clone())
        .key_store(MemoryKeyStore::new())
        .build()
        .unwrap();
    let fingerprint = expert.publish_keys().await.unwrap().to_string();
    let agent = Client::builder()
        .base_url(&app.base)
        .api_key(bob.client_key.clone())
        .key_store(MemoryKeyStore::new())
        .encryption(EncryptionPolicy::Required)
        .expert_fingerprint(fingerprint.split_whitespace().collect::<String>())
        .device_key(SigningKeyPair::generate())
        .build()
        .unwrap();
    agent.enroll_device().await.unwrap();
    let options = AskOptions::new().with_idempotency_key("vault-1");
    let conversation = agent.submit(SECRET, &options).await.unwrap();
    conversation.request_id().to_string()
}
