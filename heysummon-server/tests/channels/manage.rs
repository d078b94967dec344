//! Managing channels through the session API (PROTOCOL F1, docs/channels-wire.md): list, add,
//! pause and resume, test, connect codes, delete; another expert's channel answers like a
//! missing one; CSRF.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use heysummon_server::testing::TestApp;
use heysummon_server::testing::fake_channels::{
    Failure, WebhookReceiver, new_webhook_secret, webhook_signature,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common;
use crate::session::Session;
use crate::setup::PATIENCE;

/// A server (manual clock) whose webhooks may reach loopback.
pub async fn spawn_allowing_private() -> TestApp {
    common::spawn_with(|config| config.channels.allow_private_networks = true).await
}

/// The one delivery a receiver got, after waiting for it.
pub async fn only_delivery(
    receiver: &WebhookReceiver,
) -> heysummon_server::testing::fake_channels::Delivery {
    let deliveries = receiver.wait_for(1, PATIENCE).await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    deliveries[0].clone()
}

#[tokio::test]
async fn a_webhook_is_listed_paused_resumed_tested_and_deleted_and_its_secret_shown_once() {
    let app = spawn_allowing_private().await;
    let session = Session::sign_in(&app, &app.expert_id).await;
    // Signed with a key of its own: the server's generated secret is checked by hand below.
    let receiver = WebhookReceiver::start(&new_webhook_secret()).await;

    let (list, _) = session.channels().await;
    assert_eq!(list, json!({ "channels": [] }));

    let added = session
        .add(json!({ "kind": "webhook", "url": receiver.url() }))
        .await;
    let members: Vec<&String> = added.as_object().unwrap().keys().collect();
    assert_eq!(members, ["channelId", "secret"], "{added}");
    let id = added["channelId"].as_str().unwrap().to_owned();
    let secret = added["secret"].as_str().unwrap().to_owned();
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert_eq!(key.len(), 32, "a generated secret carries 32 random bytes");

    let (list, text) = session.channels().await;
    let channels = list["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 1, "{list}");
    let channel = &channels[0];
    assert_eq!(channel["channelId"], id.as_str());
    assert_eq!(channel["kind"], "webhook");
    assert_eq!(channel["status"], "active");
    assert_eq!(channel["settings"], json!({ "url": receiver.url() }));
    assert_eq!(channel["lastError"], Value::Null);
    assert_eq!(channel["lastDeliveredAt"], Value::Null);
    assert_eq!(channel["pending"], 0);
    assert_eq!(channel["linkedUsers"], json!([]));
    assert_eq!(channel["createdAt"], "2026-04-25T19:56:45.123Z");
    assert!(
        channel["name"].as_str().unwrap().contains(&receiver.url()),
        "{channel}"
    );
    let encoded_key = secret.strip_prefix("whsec_").unwrap();
    assert!(
        !text.contains(encoded_key),
        "the list shows the secret: {text}"
    );

    let path = format!("/api/channels/{id}");
    let (status, paused) = session
        .call(Method::PATCH, &path, Some(json!({ "paused": true })))
        .await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    assert_eq!(paused["channelId"], id.as_str());
    assert_eq!(paused["status"], "paused");
    assert!(!paused.to_string().contains(encoded_key), "{paused}");
    assert_eq!(session.channel(&id).await["status"], "paused");
    let (status, resumed) = session
        .call(Method::PATCH, &path, Some(json!({ "paused": false })))
        .await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert_eq!(resumed["status"], "active");
    assert_eq!(session.channel(&id).await["status"], "active");

    let (status, tested) = session.post(&format!("{path}/test"), json!({})).await;
    assert_eq!(
        (status, tested),
        (StatusCode::OK, json!({ "delivered": true }))
    );
    let delivery = only_delivery(&receiver).await;
    assert!(!delivery.failed);
    assert_eq!(delivery.json()["type"], "channel.test", "{}", delivery.body);
    assert_eq!(delivery.headers["content-type"], "application/json");
    // Signed with exactly the secret shown once (Standard Webhooks).
    let expected = webhook_signature(&secret, &delivery.id, &delivery.timestamp, &delivery.body);
    let given = delivery.headers["webhook-signature"].to_str().unwrap();
    assert!(
        given.split_whitespace().any(|s| s == expected),
        "{given} is not {expected}"
    );
    let channel = session.channel(&id).await;
    assert_eq!(
        channel["lastDeliveredAt"], "2026-04-25T19:56:45.123Z",
        "{channel}"
    );
    assert_eq!(channel["lastError"], Value::Null);

    let (_, text) = session.channels().await;
    assert!(!text.contains(encoded_key), "{text}");

    let (status, deleted) = session.call(Method::DELETE, &path, None).await;
    assert_eq!(
        (status, deleted),
        (StatusCode::OK, json!({ "success": true }))
    );
    assert_eq!(session.channel_count().await, 0);
    let (status, again) = session.call(Method::DELETE, &path, None).await;
    assert_eq!(
        (status, again),
        (
            StatusCode::NOT_FOUND,
            json!({ "error": "Channel not found" })
        )
    );
}

#[tokio::test]
async fn a_failed_test_is_a_502_with_details_and_sets_the_last_error() {
    let app = spawn_allowing_private().await;
    let session = Session::sign_in(&app, &app.expert_id).await;
    let secret = new_webhook_secret();
    let receiver = WebhookReceiver::start(&secret).await;
    let id = session
        .add(json!({ "kind": "webhook", "url": receiver.url(), "secret": secret }))
        .await["channelId"]
        .as_str()
        .unwrap()
        .to_owned();
    let test = format!("/api/channels/{id}/test");

    receiver.fail_next(1, Failure::Status(500));
    let (status, failed) = session.post(&test, json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{failed}");
    assert_eq!(failed["error"], "Test notification not delivered");
    let details = failed["details"].as_str().unwrap();
    assert!(details.contains("500"), "{details}");
    assert!(
        !details.contains(&receiver.url()),
        "errors carry no URL: {details}"
    );
    let channel = session.channel(&id).await;
    assert_eq!(channel["lastError"], details, "{channel}");
    assert_eq!(channel["lastErrorAt"], "2026-04-25T19:56:45.123Z");
    assert_eq!(
        channel["status"], "active",
        "one failure is not failing yet"
    );

    // Failing `failing_after` (5) times in a row shows it as failing.
    receiver.fail_next(4, Failure::ApiError("no such hook".to_owned()));
    for _ in 0..4 {
        let (status, _) = session.post(&test, json!({})).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
    }
    let channel = session.channel(&id).await;
    assert_eq!(channel["status"], "failing", "{channel}");
    assert!(
        channel["lastError"].as_str().unwrap().contains("400"),
        "{channel}"
    );

    // A test that gets through clears it.
    let (status, tested) = session.post(&test, json!({})).await;
    assert_eq!(
        (status, tested),
        (StatusCode::OK, json!({ "delivered": true }))
    );
    let channel = session.channel(&id).await;
    assert_eq!(channel["lastError"], Value::Null, "{channel}");
    assert_eq!(channel["status"], "active", "{channel}");
    assert_eq!(receiver.wait_for(6, PATIENCE).await.len(), 6);
}

#[tokio::test]
async fn a_webhook_has_no_connect_code() {
    let app = spawn_allowing_private().await;
    let session = Session::sign_in(&app, &app.expert_id).await;
    let id = session
        .add(json!({ "kind": "webhook", "url": "http://127.0.0.1:9/hook" }))
        .await["channelId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, refused) = session
        .post(&format!("/api/channels/{id}/connect"), json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "Invalid channel");
    assert!(
        refused["details"]
            .as_str()
            .unwrap()
            .contains("Telegram, Slack and Discord"),
        "{refused}"
    );
}

#[tokio::test]
async fn another_experts_channel_answers_exactly_like_a_missing_one() {
    let app = spawn_allowing_private().await;
    let alice = Session::sign_in(&app, &app.expert_id).await;
    let secret = new_webhook_secret();
    let receiver = WebhookReceiver::start(&secret).await;
    let theirs = alice
        .add(json!({ "kind": "webhook", "url": receiver.url(), "secret": secret }))
        .await["channelId"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob_tenant = app.tenant("Bob").await;
    let bob = Session::sign_in(&app, &bob_tenant.expert_id).await;
    assert_eq!(
        bob.channels().await.0,
        json!({ "channels": [] }),
        "Bob sees none of Alice's"
    );

    let missing = "0190f1e2-0000-7000-8000-000000000000";
    for (method, suffix, body) in [
        (Method::PATCH, "", Some(json!({ "paused": true }))),
        (Method::DELETE, "", None),
        (Method::POST, "/test", Some(json!({}))),
        (Method::POST, "/connect", Some(json!({}))),
    ] {
        let not_yours = bob
            .call(
                method.clone(),
                &format!("/api/channels/{theirs}{suffix}"),
                body.clone(),
            )
            .await;
        let absent = bob
            .call(
                method.clone(),
                &format!("/api/channels/{missing}{suffix}"),
                body,
            )
            .await;
        assert_eq!(
            not_yours.0,
            StatusCode::NOT_FOUND,
            "{method} {suffix}: {}",
            not_yours.1
        );
        assert_eq!(not_yours, absent, "{method} {suffix}");
        assert_eq!(not_yours.1, json!({ "error": "Channel not found" }));
    }

    // Alice's channel is as it was, and Bob's test reached nobody.
    let channel = alice.channel(&theirs).await;
    assert_eq!(channel["status"], "active", "{channel}");
    assert!(receiver.deliveries().is_empty());
}

#[tokio::test]
async fn changes_without_the_csrf_token_are_refused() {
    let app = spawn_allowing_private().await;
    let session = Session::sign_in(&app, &app.expert_id).await;
    let url = "http://127.0.0.1:9/hook";

    let (status, refused) = session
        .call_without_csrf(
            Method::POST,
            "/api/channels",
            Some(json!({ "kind": "webhook", "url": url })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["code"], "CSRF_TOKEN_INVALID");
    assert_eq!(session.channel_count().await, 0, "nothing stored");

    let id = session.add(json!({ "kind": "webhook", "url": url })).await["channelId"]
        .as_str()
        .unwrap()
        .to_owned();
    for (method, suffix, body) in [
        (Method::PATCH, "", Some(json!({ "paused": true }))),
        (Method::DELETE, "", None),
        (Method::POST, "/test", Some(json!({}))),
        (Method::POST, "/connect", Some(json!({}))),
    ] {
        let (status, refused) = session
            .call_without_csrf(method.clone(), &format!("/api/channels/{id}{suffix}"), body)
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{method} {suffix}: {refused}"
        );
    }
    let channel = session.channel(&id).await;
    assert_eq!(channel["status"], "active", "{channel}");
    assert_eq!(
        channel["lastError"],
        Value::Null,
        "no test was sent: {channel}"
    );
}
