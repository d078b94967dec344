//! Managing channels through the session API (PROTOCOL F1, docs/channels-wire.md): list, add,
//! pause and resume, test, connect codes, delete; secrets are write-only; another expert's
//! channel answers like a missing one; CSRF; every bad input refused with a clear error and
//! nothing stored.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use heysummon_server::testing::TestApp;
use heysummon_server::testing::fake_channels::{
    DiscordApp, Failure, FakeSlack, FakeTelegram, WebhookReceiver, new_webhook_secret,
    webhook_signature,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common;
use crate::support::{DEADLINE, Session};

/// A server (manual clock) whose webhooks may reach loopback.
async fn spawn_allowing_private() -> TestApp {
    common::spawn_with(|config| config.channels.allow_private_networks = true).await
}

/// The one delivery a receiver got, after waiting for it.
async fn only_delivery(
    receiver: &WebhookReceiver,
) -> heysummon_server::testing::fake_channels::Delivery {
    let deliveries = receiver.wait_for(1, DEADLINE).await;
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
async fn a_given_webhook_secret_is_not_echoed_and_signs_the_test() {
    let app = spawn_allowing_private().await;
    let session = Session::sign_in(&app, &app.expert_id).await;
    let secret = new_webhook_secret();
    let receiver = WebhookReceiver::start(&secret).await;
    // `null` is absent: generated.
    let generated = session
        .add(json!({ "kind": "webhook", "url": receiver.url(), "secret": null, "name": null }))
        .await;
    assert!(
        generated["secret"].as_str().unwrap().starts_with("whsec_"),
        "{generated}"
    );

    let added = session
        .add(json!({ "kind": "webhook", "url": receiver.url(), "secret": secret, "name": "Ops hook" }))
        .await;
    assert_eq!(added.as_object().unwrap().len(), 1, "only the id: {added}");
    let id = added["channelId"].as_str().unwrap();
    assert_eq!(session.channel(id).await["name"], "Ops hook");

    let (status, tested) = session
        .post(&format!("/api/channels/{id}/test"), json!({}))
        .await;
    assert_eq!(
        (status, tested),
        (StatusCode::OK, json!({ "delivered": true }))
    );
    let delivery = only_delivery(&receiver).await;
    assert!(delivery.signature_valid, "{delivery:?}");
    assert!(delivery.id.starts_with("msg_"), "{}", delivery.id);
    let (_, text) = session.channels().await;
    assert!(
        !text.contains(secret.strip_prefix("whsec_").unwrap()),
        "{text}"
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
    assert_eq!(receiver.wait_for(6, DEADLINE).await.len(), 6);
}

#[tokio::test]
async fn chat_channels_never_show_their_tokens_and_give_connect_codes() {
    let telegram = FakeTelegram::start().await;
    let slack = FakeSlack::start().await;
    let discord = DiscordApp::new();
    let app = common::spawn_with(|config| {
        config.channels.telegram.api_base = telegram.api_base();
        config.channels.slack.api_base = slack.api_base();
    })
    .await;
    let session = Session::sign_in(&app, &app.expert_id).await;
    let secrets = [
        "123456:TG-bot-token-SECRET",
        "xoxb-slack-bot-token-SECRET",
        "slack-signing-secret-SECRET",
        "discord-bot-token-SECRET",
    ];

    let tg = session
        .add(json!({ "kind": "telegram", "botToken": secrets[0], "chatId": "-100500" }))
        .await;
    let sl = session
        .add(json!({ "kind": "slack", "botToken": secrets[1], "channel": "C0PAGER", "signingSecret": secrets[2] }))
        .await;
    let dc = session
        .add(json!({ "kind": "discord", "botToken": secrets[3], "channelId": "4242", "publicKey": discord.public_key_hex() }))
        .await;
    for added in [&tg, &sl, &dc] {
        assert_eq!(added.as_object().unwrap().len(), 1, "only the id: {added}");
    }
    let tg = tg["channelId"].as_str().unwrap();
    let sl = sl["channelId"].as_str().unwrap();
    let dc = dc["channelId"].as_str().unwrap();

    // Adding a Telegram channel registered the bot's webhook with the server's secret token.
    assert_eq!(telegram.webhook_token().as_deref(), Some(secrets[0]));
    let hook = telegram.webhook_url().unwrap();
    assert!(
        hook.ends_with(&format!("/api/channels/telegram/{tg}")),
        "{hook}"
    );
    assert!(telegram.webhook_secret().is_some_and(|s| s.len() >= 32));

    let (list, text) = session.channels().await;
    for secret in secrets {
        assert!(!text.contains(secret), "the list shows {secret}: {text}");
    }
    let settings = |id: &str| {
        list["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["channelId"] == id)
            .unwrap()["settings"]
            .clone()
    };
    assert_eq!(settings(tg), json!({ "chatId": "-100500" }));
    assert_eq!(settings(sl), json!({ "channel": "C0PAGER" }));
    assert_eq!(
        settings(dc),
        json!({ "channelId": "4242", "publicKey": discord.public_key_hex() })
    );

    let mut answers = Vec::new();
    for (id, how) in [
        (tg, "/connect "),
        (sl, "/heysummon connect "),
        (dc, "/heysummon code:"),
    ] {
        let (status, code) = session
            .post(&format!("/api/channels/{id}/connect"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{code}");
        let text = code["code"].as_str().unwrap();
        assert_eq!(text.len(), 9, "{code}");
        assert_eq!(text.as_bytes()[4], b'-', "{code}");
        // Ten minutes on the manual clock.
        assert_eq!(code["expiresAt"], "2026-04-25T20:06:45.123Z");
        let instructions = code["instructions"].as_str().unwrap();
        assert!(
            instructions.contains(&format!("{how}{text}")),
            "{instructions}"
        );
        answers.push(code.to_string());
        let (status, paused) = session
            .call(
                Method::PATCH,
                &format!("/api/channels/{id}"),
                Some(json!({ "paused": true })),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        answers.push(paused.to_string());
    }
    for answer in &answers {
        for secret in secrets {
            assert!(!answer.contains(secret), "{answer} shows {secret}");
        }
    }
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

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_nothing_is_stored() {
    let app = spawn_allowing_private().await;
    let session = Session::sign_in(&app, &app.expert_id).await;
    let url = "http://127.0.0.1:9/hook";
    let short_secret = format!("whsec_{}", BASE64.encode([7u8; 16]));
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({ "kind": "pager", "url": url }),
            "Invalid channel",
            "kind must be webhook, slack, telegram, discord or email",
        ),
        (json!({ "url": url }), "Validation failed", "kind"),
        (
            json!({ "kind": 7, "url": url }),
            "Validation failed",
            "kind",
        ),
        (
            json!({ "kind": "webhook" }),
            "Invalid channel",
            "url is required",
        ),
        (
            json!({ "kind": "webhook", "url": "" }),
            "Invalid channel",
            "url is required",
        ),
        (
            json!({ "kind": "webhook", "url": "not a url" }),
            "Invalid channel",
            "url is not a valid URL",
        ),
        (
            json!({ "kind": "webhook", "url": 42 }),
            "Invalid channel",
            "invalid type",
        ),
        (
            json!({ "kind": "webhook", "url": url, "chatId": "1" }),
            "Invalid channel",
            "chatId does not apply to a webhook channel",
        ),
        (
            json!({ "kind": "webhook", "url": url, "colour": "red" }),
            "Invalid channel",
            "unknown field `colour`",
        ),
        (
            json!({ "kind": "webhook", "url": url, "secret": short_secret }),
            "Invalid channel",
            "secret must be whsec_ followed by 24 to 64 bytes",
        ),
        (
            json!({ "kind": "webhook", "url": url, "secret": "hunter2" }),
            "Invalid channel",
            "secret must be whsec_",
        ),
        (
            json!({ "kind": "email", "to": "ada@example.com" }),
            "Invalid channel",
            "e-mail is not configured",
        ),
        (
            json!({ "kind": "email", "to": "not an address" }),
            "Invalid channel",
            "to must be an e-mail address",
        ),
        (
            json!({ "kind": "discord", "botToken": "t", "channelId": "4242", "publicKey": "not-hex" }),
            "Invalid channel",
            "publicKey must be the application's Ed25519 public key in hex",
        ),
        (
            json!({ "kind": "discord", "botToken": "t", "channelId": "4242", "publicKey": "abcd" }),
            "Invalid channel",
            "publicKey must be",
        ),
        (
            json!({ "kind": "telegram", "botToken": "123:abc", "chatId": "a b" }),
            "Invalid channel",
            "chatId must be letters",
        ),
        (
            json!({ "kind": "telegram", "botToken": "12/3", "chatId": "1" }),
            "Invalid channel",
            "botToken is not a valid token",
        ),
        (
            json!({ "kind": "slack", "botToken": "x", "channel": "C1" }),
            "Invalid channel",
            "signingSecret is required",
        ),
    ];
    for (body, error, details) in cases {
        let (status, refused) = session.post("/api/channels", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {refused}");
        assert_eq!(refused["error"], error, "{body}: {refused}");
        let given = refused["details"].as_str().unwrap_or_default();
        assert!(
            given.contains(details),
            "{body}: {given:?} does not say {details:?}"
        );
    }
    let (status, refused) = session
        .call_raw(
            Method::POST,
            "/api/channels",
            "application/json",
            "{\"kind\":",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "Malformed JSON body");
    let (status, _) = session
        .call_raw(Method::POST, "/api/channels", "text/plain", "kind=webhook")
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(session.channel_count().await, 0, "nothing was stored");

    // A channel's pause switch takes a boolean and nothing else.
    let id = session.add(json!({ "kind": "webhook", "url": url })).await["channelId"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/channels/{id}");
    for (body, details) in [
        (json!({ "paused": "yes" }), "invalid type"),
        (json!({ "paused": 1 }), "invalid type"),
        (json!({}), "missing field `paused`"),
        (
            json!({ "paused": true, "url": "http://127.0.0.1:10/other" }),
            "unknown field `url`",
        ),
    ] {
        let (status, refused) = session.call(Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {refused}");
        assert_eq!(refused["error"], "Validation failed", "{body}: {refused}");
        let given = refused["details"].as_str().unwrap_or_default();
        assert!(
            given.contains(details),
            "{body}: {given:?} does not say {details:?}"
        );
    }
    let (status, refused) = session
        .call_raw(Method::PATCH, &path, "application/json", "{\"paused\":tru")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "Malformed JSON body");
    let channel = session.channel(&id).await;
    assert_eq!(channel["status"], "active", "{channel}");
    assert_eq!(channel["settings"], json!({ "url": url }));
    assert_eq!(session.channel_count().await, 1);
}

#[tokio::test]
async fn an_unreachable_webhook_test_says_why_without_the_url() {
    let app = spawn_allowing_private().await;
    let session = Session::sign_in(&app, &app.expert_id).await;
    // A port nobody listens on any more.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}/hook/secret-path-token");
    let id = session.add(json!({ "kind": "webhook", "url": url })).await["channelId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, failed) = session
        .post(&format!("/api/channels/{id}/test"), json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{failed}");
    let details = failed["details"].as_str().unwrap();
    assert!(details.starts_with("could not connect"), "{details}");
    assert!(
        details.to_lowercase().contains("refused"),
        "says why: {details}"
    );
    assert!(!details.contains("secret-path-token"), "{details}");
    assert!(!details.contains(&closed.port().to_string()), "{details}");
}

#[tokio::test]
async fn a_bot_token_never_shows_in_a_failed_test() {
    let telegram = FakeTelegram::start().await;
    let app =
        common::spawn_with(|config| config.channels.telegram.api_base = telegram.api_base()).await;
    let token = "123456:TG-bot-token-SECRET";
    let id = {
        let session = Session::sign_in(&app, &app.expert_id).await;
        session
            .add(json!({ "kind": "telegram", "botToken": token, "chatId": "-100500" }))
            .await["channelId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // The Bot API's address now answers nothing: the URL of the failed call holds the token.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = app
        .restart_with(|config| config.channels.telegram.api_base = format!("http://{closed}"))
        .await;
    let session = Session::sign_in(&app, &app.expert_id).await;
    let (status, failed) = session
        .post(&format!("/api/channels/{id}/test"), json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{failed}");
    let details = failed["details"].as_str().unwrap();
    assert!(details.starts_with("could not connect"), "{details}");
    assert!(!details.contains("TG-bot-token"), "{details}");
    let (_, text) = session.channels().await;
    assert!(!text.contains("TG-bot-token"), "{text}");
}
