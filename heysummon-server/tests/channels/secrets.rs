//! Secrets are write-only: a generated webhook secret is shown once, a given one never echoed,
//! and no bot token, signing secret or URL shows in any answer, even in a failed test.

use heysummon_server::testing::fake_channels::{
    DiscordApp, FakeSlack, FakeTelegram, WebhookReceiver, new_webhook_secret,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common;
use crate::session::Session;

use crate::manage::{only_delivery, spawn_allowing_private};

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
