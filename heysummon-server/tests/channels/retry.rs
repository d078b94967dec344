//! Delivery when the third party fails (PROTOCOL F2): errors, rate limits and timeouts are
//! retried with backoff until every notification arrives, in order; a channel that keeps
//! failing shows as failing with its last error, then active again; reminders.

use std::time::{Duration, Instant};

use heysummon_server::clock::Clock;
use heysummon_server::testing::TestApp;
use heysummon_server::testing::fake_channels::Failure;
use serde_json::json;

use crate::session::Session;
use crate::setup::{self, Fakes, PATIENCE};

#[tokio::test]
async fn every_notification_arrives_in_order_once_the_webhook_recovers() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    session
        .add_id(json!({ "kind": "webhook", "url": fakes.webhook.url(), "secret": fakes.webhook_secret }))
        .await;
    fakes.webhook.fail_next(2, Failure::Status(500));
    fakes.webhook.fail_next(1, Failure::Status(503));
    let mut asked = Vec::new();
    for n in 0..6 {
        asked.push(app.ask_ok(&app.client_key, &format!("Question {n}")).await);
    }
    let delivered: Vec<_> = fakes
        .webhook
        .wait_for(9, PATIENCE)
        .await
        .into_iter()
        .filter(|d| !d.failed)
        .collect();
    let order: Vec<String> = delivered
        .iter()
        .map(|d| d.json()["data"]["requestId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(order, asked, "in creation order, each once");
    // Retries of one notification keep its id (receivers deduplicate on it).
    let all = fakes.webhook.deliveries();
    assert!(
        all[..4].iter().all(|d| d.id == all[0].id),
        "{:?}",
        all.iter().map(|d| &d.id).collect::<Vec<_>>()
    );
    assert!(all.iter().all(|d| d.signature_valid));
}

#[tokio::test]
async fn telegram_rate_limits_are_honoured() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    session
        .add_id(json!({ "kind": "telegram", "botToken": "1:t", "chatId": "7" }))
        .await;
    fakes.telegram.fail_next(
        1,
        Failure::RateLimited {
            retry_after_secs: 1,
        },
    );
    let started = Instant::now();
    app.ask_ok(&app.client_key, "Anyone there?").await;
    let calls = fakes.telegram.wait_for("sendMessage", 2, PATIENCE).await;
    assert!(calls[0].failed && !calls[1].failed);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retried before retry_after"
    );
}

#[tokio::test]
async fn slack_rate_limits_and_timeouts_are_retried() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    session
        .add_id(json!({ "kind": "slack", "botToken": "xoxb", "channel": "C1", "signingSecret": "s3cret" }))
        .await;
    fakes
        .slack
        .fail_next(1, Failure::Hang(Duration::from_millis(1500)));
    fakes.slack.fail_next(
        1,
        Failure::RateLimited {
            retry_after_secs: 1,
        },
    );
    let started = Instant::now();
    app.ask_ok(&app.client_key, "First").await;
    app.ask_ok(&app.client_key, "Second").await;
    let calls = fakes.slack.wait_for("chat.postMessage", 4, PATIENCE).await;
    let ok: Vec<String> = calls
        .iter()
        .filter(|c| !c.failed)
        .map(|c| {
            c.json()["blocks"][1]["text"]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ok, ["First", "Second"]);
    // One timeout (1 s) and one Retry-After (1 s) before the first got through.
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[tokio::test]
async fn a_channel_that_keeps_failing_shows_as_failing_then_recovers() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |config| config.channels.failing_after = 2).await;
    let session = Session::new(&app).await;
    let id = session
        .add_id(json!({ "kind": "discord", "botToken": "d", "channelId": "55", "publicKey": fakes.discord_app.public_key_hex() }))
        .await;
    fakes.discord.fail_next(4, Failure::Status(500));
    app.ask_ok(&app.client_key, "Hello?").await;
    setup::eventually("the channel to show as failing", || async {
        let channel = session.channel(&id).await;
        channel["status"] == "failing"
            && channel["lastError"]
                .as_str()
                .is_some_and(|e| e.contains("500"))
            && channel["pending"] == 1
    })
    .await;
    setup::eventually("the channel to recover", || async {
        let channel = session.channel(&id).await;
        channel["status"] == "active" && channel["lastError"].is_null() && channel["pending"] == 0
    })
    .await;
    assert!(session.channel(&id).await["lastDeliveredAt"].is_string());
    assert_eq!(
        fakes.discord.calls().iter().filter(|c| !c.failed).count(),
        1
    );
}

#[tokio::test]
async fn a_paused_channel_gets_nothing_and_a_resumed_one_gets_what_comes_next() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    let id = session
        .add_id(json!({ "kind": "webhook", "url": fakes.webhook.url(), "secret": fakes.webhook_secret }))
        .await;
    let (status, _) = session
        .call(
            reqwest::Method::PATCH,
            &format!("/api/channels/{id}"),
            Some(json!({ "paused": true })),
        )
        .await;
    assert_eq!(status, 200);
    app.ask_ok(&app.client_key, "While paused").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(fakes.webhook.deliveries().is_empty());
    session
        .call(
            reqwest::Method::PATCH,
            &format!("/api/channels/{id}"),
            Some(json!({ "paused": false })),
        )
        .await;
    let after = app.ask_ok(&app.client_key, "After resuming").await;
    let delivered = fakes.webhook.wait_for(1, PATIENCE).await;
    assert_eq!(delivered[0].json()["data"]["requestId"], after.as_str());
}

#[tokio::test]
async fn a_request_still_waiting_is_reminded_once_and_an_answered_one_never() {
    let fakes = Fakes::start().await;
    let clock = Clock::manual(crate::common::START_MS);
    let app = TestApp::builder()
        .clock(clock.clone())
        .config(|config| {
            fakes.configure(config);
            config.channels.reminder_after_secs = 600;
        })
        .spawn()
        .await;
    let session = Session::new(&app).await;
    session
        .add_id(json!({ "kind": "webhook", "url": fakes.webhook.url(), "secret": fakes.webhook_secret }))
        .await;
    let waiting = app.ask_ok(&app.client_key, "Still there?").await;
    let answered = app.ask_ok(&app.client_key, "Quick one").await;
    fakes.webhook.wait_for(2, PATIENCE).await;
    app.answer(&app.expert_key, &answered, "Yes").await;
    fakes.webhook.wait_for(3, PATIENCE).await; // the update of the answered one
    clock.advance(601_000);
    let all = fakes.webhook.wait_for(4, PATIENCE).await;
    let reminder = all[3].json();
    assert_eq!(reminder["type"], "request.reminder");
    assert_eq!(reminder["data"]["requestId"], waiting.as_str());
    clock.advance(700_000);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let types: Vec<String> = fakes
        .webhook
        .deliveries()
        .iter()
        .map(|d| d.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "request.created",
            "request.created",
            "request.updated",
            "request.reminder"
        ]
    );
}

#[tokio::test]
async fn an_smtp_server_refusing_for_a_while_gets_the_mail_later() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    session
        .add_id(json!({ "kind": "email", "to": "ops@example.com" }))
        .await;
    fakes.smtp.fail_next(2);
    let id = app.ask_ok(&app.client_key, "Mail me").await;
    let mails = fakes.smtp.wait_for(1, PATIENCE).await;
    assert!(
        fakes.smtp.attempts() >= 3,
        "{} attempts",
        fakes.smtp.attempts()
    );
    assert!(mails[0].text_body().unwrap().contains(&id));
    assert_eq!(mails[0].to, ["ops@example.com"]);
}
