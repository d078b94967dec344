//! Talking to the server as the chats do: Telegram updates with the secret token, Slack
//! calls signed with the signing secret, and waiting for what reaches the agent.

use heysummon_sdk::WaitOptions;
use heysummon_server::testing::TestApp;
use heysummon_server::testing::fake_channels::slack_signature;
use reqwest::StatusCode;
use serde_json::Value;

use crate::setup::{Fakes, PATIENCE};

/// How long an agent waits for an answer from a chat.
pub fn wait() -> WaitOptions {
    WaitOptions::default().with_timeout(PATIENCE)
}

/// Posts an update to the Telegram webhook the server registered.
pub async fn telegram_update(
    app: &TestApp,
    fakes: &Fakes,
    token: &str,
    update: &Value,
) -> StatusCode {
    let url = fakes.telegram.webhook_url().unwrap();
    app.http
        .post(url)
        .header("x-telegram-bot-api-secret-token", token)
        .json(update)
        .send()
        .await
        .unwrap()
        .status()
}

/// The message id the fake gave the bot's message containing `needle` (it numbers the messages
/// it accepts from 100, in order), once the server has recorded it: the fake sees the call
/// before the server stores the id it answered, and a reply to an unrecorded message answers
/// nothing (as it would for a message the bot never sent).
pub async fn find_message_id(app: &TestApp, fakes: &Fakes, channel: &str, needle: &str) -> i64 {
    let index = fakes
        .telegram
        .calls_of("sendMessage")
        .iter()
        .position(|call| {
            call.json()["text"]
                .as_str()
                .unwrap_or_default()
                .contains(needle)
        })
        .unwrap_or_else(|| panic!("no message with {needle:?}"));
    let message_id = 100 + i64::try_from(index).unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while app
        .store
        .request_of_message(channel, &message_id.to_string())
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never recorded message {message_id}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    message_id
}

pub async fn slack_post(
    app: &TestApp,
    channel: &str,
    path: &str,
    body: &str,
    timestamp: i64,
    secret: &str,
) -> (StatusCode, Value) {
    let ts = timestamp.to_string();
    let response = app
        .http
        .post(app.url(&format!("/api/channels/slack/{channel}/{path}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", &ts)
        .header("x-slack-signature", slack_signature(secret, &ts, body))
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub fn now_secs() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}
