//! Replays in disguise (a Slack signature in upper case, a stale Discord timestamp) and answers
//! from the wrong place (another Telegram chat, an unlinked user) do nothing.

use heysummon_sdk::AskOptions;
use heysummon_server::testing::fake_channels::{
    command_body, form_body, message_update, slack_signature, view_submission_payload,
};
use serde_json::json;

use crate::chats::{find_message_id, now_secs, slack_post, telegram_update};
use crate::session::Session;
use crate::setup::{self, Fakes, PATIENCE, SLACK_SECRET};

#[tokio::test]
async fn replays_in_disguise_and_answers_from_elsewhere_do_nothing() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    let agent = setup::plain_agent(&app);

    // Telegram: a reply in another chat (message ids count per chat) answers nothing.
    let telegram = session
        .add_id(json!({ "kind": "telegram", "botToken": "77:tg", "chatId": "-100500" }))
        .await;
    let secret = fakes.telegram.webhook_secret().unwrap();
    let code = session.connect_code(&telegram).await;
    telegram_update(
        &app,
        &fakes,
        &secret,
        &message_update(1, 42, 42, &format!("/connect {code}"), None),
    )
    .await;
    let question = agent
        .submit("Which port?", &AskOptions::default())
        .await
        .unwrap();
    fakes.telegram.wait_for("sendMessage", 2, PATIENCE).await;
    let message_id = find_message_id(&app, &fakes, &telegram, "Which port?").await;
    let elsewhere = message_update(2, 42, 42, "8080", Some(message_id));
    assert_eq!(
        telegram_update(&app, &fakes, &secret, &elsewhere).await,
        200
    );
    // Unlinked in the dashboard: the same reply in the right chat is refused too.
    let (status, _) = session
        .call(
            reqwest::Method::DELETE,
            &format!("/api/channels/{telegram}/links/42"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = session
        .call(
            reqwest::Method::DELETE,
            &format!("/api/channels/{telegram}/links/42"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let unlinked = message_update(3, -100500, 42, "8080", Some(message_id));
    assert_eq!(telegram_update(&app, &fakes, &secret, &unlinked).await, 200);
    let said = fakes.telegram.wait_for("sendMessage", 3, PATIENCE).await;
    assert!(
        said[2].json()["text"]
            .as_str()
            .unwrap()
            .contains("not linked"),
        "{}",
        said[2].text()
    );
    let (_, messages) = app
        .get(
            &format!("/api/v1/messages/{}", question.request_id()),
            &app.client_key,
        )
        .await;
    assert_eq!(
        messages["messages"].as_array().unwrap().len(),
        0,
        "{messages}"
    );

    // Slack: the same request with its signature in upper case is still a replay.
    let slack_channel = session
        .add_id(json!({ "kind": "slack", "botToken": "xoxb-2", "channel": "C2", "signingSecret": SLACK_SECRET }))
        .await;
    let code = session.connect_code(&slack_channel).await;
    slack_post(
        &app,
        &slack_channel,
        "commands",
        &command_body("U1", "C2", &format!("connect {code}")),
        now_secs(),
        SLACK_SECRET,
    )
    .await;
    let asked = agent
        .submit("Which branch?", &AskOptions::default())
        .await
        .unwrap();
    let submit = form_body(&view_submission_payload(
        "U1",
        asked.request_id().as_ref(),
        "main",
    ));
    let ts = now_secs().to_string();
    let signature = slack_signature(SLACK_SECRET, &ts, &submit);
    for variant in [
        signature.clone(),
        format!("v0={}", signature[3..].to_ascii_uppercase()),
    ] {
        let status = app
            .http
            .post(app.url(&format!("/api/channels/slack/{slack_channel}/interactions")))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", variant)
            .body(submit.clone())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    let (_, messages) = app
        .get(
            &format!("/api/v1/messages/{}", asked.request_id()),
            &app.client_key,
        )
        .await;
    assert_eq!(
        messages["messages"].as_array().unwrap().len(),
        1,
        "{messages}"
    );

    // Discord: a correctly signed interaction with a stale timestamp is refused.
    let discord = session
        .add_id(json!({ "kind": "discord", "botToken": "d", "channelId": "9", "publicKey": fakes.discord_app.public_key_hex() }))
        .await;
    let body = fakes.discord_app.ping().to_string();
    let stale = (now_secs() - 3600).to_string();
    let mut request = app
        .http
        .post(app.url(&format!("/api/channels/discord/{discord}/interactions")))
        .header("content-type", "application/json");
    for (name, value) in fakes.discord_app.signed_headers(&stale, &body) {
        request = request.header(name, value);
    }
    assert_eq!(request.body(body).send().await.unwrap().status(), 401);
}
