//! Webhook targets (PROTOCOL F5): by default a webhook may not reach loopback, private,
//! link-local, shared or metadata addresses, however the address is spelled; only http(s)
//! without credentials; `allow_private_networks` lifts the address rule, and the rule is
//! checked again at delivery time.

use heysummon_server::testing::fake_channels::{WebhookReceiver, new_webhook_secret};
use reqwest::StatusCode;
use serde_json::json;

use crate::common;
use crate::session::Session;

/// Targets on the server's own networks, some spelled to slip past a naive check.
const PRIVATE_TARGETS: &[&str] = &[
    "http://127.0.0.1:9/x",
    "http://localhost:9/x",
    "HTTP://LOCALHOST:9/x",
    "http://10.0.0.1/x",
    "http://172.16.0.1/x",
    "http://192.168.1.1/x",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]:9/x",
    "http://[::ffff:127.0.0.1]:9/x",
    "http://[fe80::1]/x",
    "http://[fd00:ec2::254]/latest/meta-data",
    "http://100.64.0.1/x",
    "http://0.0.0.0:9/",
    "http://127.1:9/x",
    "http://2130706433:9/x",
    "http://0x7f000001:9/x",
    "https://127.0.0.1/x",
    "http://127.0.0.1.:9/x",
    "http://%31%32%37.0.0.1:9/x",
    "http://\u{ff11}\u{ff12}\u{ff17}.\u{ff10}.\u{ff10}.\u{ff11}:9/x",
    "http://\u{2460}\u{2461}\u{2466}.\u{24ea}.\u{24ea}.\u{2460}:9/x",
    "http://[::ffff:169.254.169.254]/latest/meta-data",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
    "http://[::]:9/",
];

#[tokio::test]
async fn private_targets_are_refused_by_default() {
    let app = common::spawn().await;
    assert!(!app.state.config.channels.allow_private_networks);
    let session = Session::sign_in(&app, &app.expert_id).await;
    for url in PRIVATE_TARGETS {
        let (status, refused) = session
            .post("/api/channels", json!({ "kind": "webhook", "url": url }))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {refused}");
        assert_eq!(refused["error"], "Invalid channel", "{url}: {refused}");
        let details = refused["details"].as_str().unwrap_or_default();
        assert!(
            details.contains("allow_private_networks"),
            "{url}: {details:?} does not say how to allow it"
        );
    }
    assert_eq!(session.channel_count().await, 0, "nothing was stored");
}

#[tokio::test]
async fn only_http_urls_without_credentials_are_taken() {
    let app = common::spawn().await;
    let session = Session::sign_in(&app, &app.expert_id).await;
    for (url, details) in [
        ("ftp://127.0.0.1/x", "url must be http or https"),
        ("ftp://files.example.com/x", "url must be http or https"),
        ("file:///etc/passwd", "url must be http or https"),
        ("gopher://127.0.0.1:25/x", "url must be http or https"),
        (
            "https://user:password@hooks.example.com/x",
            "url must not carry credentials",
        ),
        (
            "https://user@hooks.example.com/x",
            "url must not carry credentials",
        ),
        (
            "http://:secret@127.0.0.1:9/x",
            "url must not carry credentials",
        ),
        ("/relative/path", "url is not a valid URL"),
    ] {
        let (status, refused) = session
            .post("/api/channels", json!({ "kind": "webhook", "url": url }))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {refused}");
        assert_eq!(refused["error"], "Invalid channel", "{url}: {refused}");
        let given = refused["details"].as_str().unwrap_or_default();
        assert!(
            given.contains(details),
            "{url}: {given:?} does not say {details:?}"
        );
    }
    assert_eq!(session.channel_count().await, 0, "nothing was stored");
}

#[tokio::test]
async fn loopback_is_taken_when_private_networks_are_allowed() {
    let app = common::spawn_with(|config| config.channels.allow_private_networks = true).await;
    let session = Session::sign_in(&app, &app.expert_id).await;
    for url in [
        "http://127.0.0.1:9/x",
        "http://localhost:9/x",
        "http://[::1]:9/x",
    ] {
        session.add(json!({ "kind": "webhook", "url": url })).await;
    }
    // Credentials stay refused either way.
    let (status, refused) = session
        .post(
            "/api/channels",
            json!({ "kind": "webhook", "url": "http://u:p@127.0.0.1:9/x" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(session.channel_count().await, 3);
}

#[tokio::test]
async fn a_stored_loopback_webhook_is_refused_at_delivery_once_private_networks_are_disallowed() {
    let secret = new_webhook_secret();
    let receiver = WebhookReceiver::start(&secret).await;
    refused_at_delivery(&receiver, &secret, receiver.url()).await;
}

#[tokio::test]
async fn a_stored_name_resolving_to_loopback_is_refused_at_delivery() {
    let secret = new_webhook_secret();
    let receiver = WebhookReceiver::start(&secret).await;
    let url = receiver.url().replace("127.0.0.1", "localhost");
    refused_at_delivery(&receiver, &secret, url).await;
}

/// Adds a webhook to `url` while private networks are allowed, restarts with them
/// disallowed, and sends a test: refused, saying why, and nothing reaches the receiver.
async fn refused_at_delivery(receiver: &WebhookReceiver, secret: &str, url: String) {
    let app = common::spawn_with(|config| config.channels.allow_private_networks = true).await;
    let id = {
        let session = Session::sign_in(&app, &app.expert_id).await;
        session
            .add(json!({ "kind": "webhook", "url": url, "secret": secret }))
            .await["channelId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let app = app
        .restart_with(|config| config.channels.allow_private_networks = false)
        .await;
    let session = Session::sign_in(&app, &app.expert_id).await;
    let (status, failed) = session
        .post(&format!("/api/channels/{id}/test"), json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{failed}");
    let details = failed["details"].as_str().unwrap_or_default();
    assert!(details.contains("allow_private_networks"), "{details:?}");
    assert!(
        receiver.deliveries().is_empty(),
        "nothing reached the receiver"
    );
    assert_eq!(session.channel(&id).await["lastError"], details);
}
