//! Answering from the chats (PROTOCOL F4): a linked user approves, denies and answers from
//! Telegram, Slack and Discord and the agent (the SDK) gets it; forged, stale and replayed
//! calls do nothing; a chat user who is not linked cannot answer; the message is edited after
//! the decision.

use heysummon_sdk::wire::ApprovalDecision;
use heysummon_sdk::{AskOptions, WaitOptions};
use heysummon_server::testing::fake_channels::{
    block_action_payload, callback_update, command_body, form_body, message_update,
    slack_signature, view_submission_payload,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::setup::{self, Fakes, PATIENCE, SLACK_SECRET, Session};

fn wait() -> WaitOptions {
    WaitOptions::default().with_timeout(PATIENCE)
}

/// Posts an update to the Telegram webhook the server registered.
async fn telegram_update(
    app: &heysummon_server::testing::TestApp,
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

#[tokio::test]
async fn telegram_buttons_and_replies_reach_the_agent_only_from_linked_users() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    let channel = session
        .add(json!({ "kind": "telegram", "botToken": "123:tg", "chatId": "-100500" }))
        .await;
    let secret = fakes
        .telegram
        .webhook_secret()
        .expect("setWebhook with a secret token");
    assert!(
        fakes
            .telegram
            .webhook_url()
            .unwrap()
            .ends_with(&format!("/api/channels/telegram/{channel}"))
    );

    // A wrong secret token: refused, like an unknown channel.
    assert_eq!(
        telegram_update(
            &app,
            &fakes,
            "wrong",
            &message_update(1, -100500, 42, "/connect X", None)
        )
        .await,
        401
    );

    // Ada links herself with a code from the dashboard.
    let code = session.connect_code(&channel).await;
    let connect = message_update(2, -100500, 42, &format!("/connect {code}"), None);
    assert_eq!(telegram_update(&app, &fakes, &secret, &connect).await, 200);
    let said = fakes.telegram.wait_for("sendMessage", 1, PATIENCE).await;
    assert!(
        said[0].json()["text"]
            .as_str()
            .unwrap()
            .starts_with("Connected"),
        "{}",
        said[0].text()
    );

    let agent = setup::plain_agent(&app);
    let approval = agent
        .submit_approval("Deploy to production?", &AskOptions::default())
        .await
        .unwrap();
    let sent = fakes.telegram.wait_for("sendMessage", 2, PATIENCE).await;
    let announced = sent[1].json();
    let keyboard = &announced["reply_markup"]["inline_keyboard"][0];
    assert_eq!(
        keyboard[0]["callback_data"],
        format!("approve:{}", approval.request_id())
    );
    let message_id = find_message_id(&fakes, "Deploy to production?").await;

    // Someone else in the group presses Approve: told to link, nothing decided.
    let stranger = callback_update(
        3,
        "cb-stranger",
        -100500,
        99,
        message_id,
        keyboard[0]["callback_data"].as_str().unwrap(),
    );
    assert_eq!(telegram_update(&app, &fakes, &secret, &stranger).await, 200);
    let answered = fakes
        .telegram
        .wait_for("answerCallbackQuery", 1, PATIENCE)
        .await;
    assert!(
        answered[0].json()["text"]
            .as_str()
            .unwrap()
            .contains("not linked")
    );

    // Ada approves; a replay of her update changes nothing.
    let approve = callback_update(
        4,
        "cb-ada",
        -100500,
        42,
        message_id,
        keyboard[0]["callback_data"].as_str().unwrap(),
    );
    assert_eq!(telegram_update(&app, &fakes, &secret, &approve).await, 200);
    let decided = approval.decision(wait()).await.unwrap();
    assert_eq!(decided.decision, ApprovalDecision::Approved);
    assert_eq!(telegram_update(&app, &fakes, &secret, &approve).await, 200);
    let deny = callback_update(
        5,
        "cb-ada-2",
        -100500,
        42,
        message_id,
        keyboard[1]["callback_data"].as_str().unwrap(),
    );
    telegram_update(&app, &fakes, &secret, &deny).await;
    let answers = fakes
        .telegram
        .wait_for("answerCallbackQuery", 3, PATIENCE)
        .await;
    assert_eq!(answers.len(), 3, "the replayed update was handled again");
    assert!(
        answers[2].json()["text"]
            .as_str()
            .unwrap()
            .contains("Already approved")
    );
    // The message is edited to say who decided and when.
    let edits = fakes
        .telegram
        .wait_for("editMessageText", 1, PATIENCE)
        .await;
    let edited = edits[0].json();
    assert!(
        edited["text"]
            .as_str()
            .unwrap()
            .contains("Approved by Alice"),
        "{edited}"
    );
    assert!(edited.get("reply_markup").is_none());

    // A reply to the bot's message about a question is the answer.
    let question = agent
        .submit("Which colour for the button?", &AskOptions::default())
        .await
        .unwrap();
    fakes.telegram.wait_for("sendMessage", 3, PATIENCE).await;
    let question_message = fakes
        .telegram
        .calls_of("sendMessage")
        .iter()
        .filter(|c| {
            c.json()["text"]
                .as_str()
                .unwrap_or_default()
                .contains("Which colour")
        })
        .count();
    assert_eq!(question_message, 1);
    let replied_to = find_message_id(&fakes, "Which colour").await;
    let reply = message_update(6, -100500, 42, "Blue, please", Some(replied_to));
    assert_eq!(telegram_update(&app, &fakes, &secret, &reply).await, 200);
    let answer = question.answer(wait()).await.unwrap();
    assert_eq!(answer.text, "Blue, please");
}

/// The message id the fake gave the bot's message containing `needle` (it numbers the messages
/// it accepts from 100, in order).
async fn find_message_id(fakes: &Fakes, needle: &str) -> i64 {
    for (index, call) in fakes.telegram.calls_of("sendMessage").iter().enumerate() {
        if call.json()["text"]
            .as_str()
            .unwrap_or_default()
            .contains(needle)
        {
            return 100 + i64::try_from(index).unwrap();
        }
    }
    panic!("no message with {needle:?}");
}

async fn slack_post(
    app: &heysummon_server::testing::TestApp,
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

fn now_secs() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[tokio::test]
async fn slack_buttons_and_the_reply_modal_reach_the_agent_and_forgeries_do_nothing() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    let channel = session
        .add(json!({ "kind": "slack", "botToken": "xoxb-1", "channel": "C0PAGER", "signingSecret": SLACK_SECRET }))
        .await;
    let code = session.connect_code(&channel).await;
    let (status, said) = slack_post(
        &app,
        &channel,
        "commands",
        &command_body("U_ADA", "C0PAGER", &format!("connect {code}")),
        now_secs(),
        SLACK_SECRET,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        said["text"].as_str().unwrap().starts_with("Connected"),
        "{said}"
    );

    let agent = setup::plain_agent(&app);
    let approval = agent
        .submit_approval("Rotate the database password?", &AskOptions::default())
        .await
        .unwrap();
    let posted = fakes.slack.wait_for("chat.postMessage", 1, PATIENCE).await[0].json();
    let id = approval.request_id().to_string();
    let approve = form_body(&block_action_payload(
        "U_ADA",
        "C0PAGER",
        "1700000000.000100",
        "approve",
        &id,
        "trigger-1",
    ));

    // Forged (another secret) and stale (10 minutes old) calls are refused.
    assert_eq!(
        slack_post(
            &app,
            &channel,
            "interactions",
            &approve,
            now_secs(),
            "not-the-secret"
        )
        .await
        .0,
        401
    );
    assert_eq!(
        slack_post(
            &app,
            &channel,
            "interactions",
            &approve,
            now_secs() - 600,
            SLACK_SECRET
        )
        .await
        .0,
        401
    );
    // A user who is not linked is told so, privately; nothing is decided.
    let stranger = form_body(&block_action_payload(
        "U_EVE",
        "C0PAGER",
        "1700000000.000100",
        "approve",
        &id,
        "trigger-2",
    ));
    assert_eq!(
        slack_post(
            &app,
            &channel,
            "interactions",
            &stranger,
            now_secs(),
            SLACK_SECRET
        )
        .await
        .0,
        200
    );
    let ephemeral = fakes
        .slack
        .wait_for("chat.postEphemeral", 1, PATIENCE)
        .await;
    assert!(
        ephemeral[0].json()["text"]
            .as_str()
            .unwrap()
            .contains("not linked")
    );

    let ts = now_secs();
    assert_eq!(
        slack_post(&app, &channel, "interactions", &approve, ts, SLACK_SECRET)
            .await
            .0,
        200
    );
    assert_eq!(
        approval.decision(wait()).await.unwrap().decision,
        ApprovalDecision::Approved
    );
    // The same signed request again (a replay within the window): handled once.
    assert_eq!(
        slack_post(&app, &channel, "interactions", &approve, ts, SLACK_SECRET)
            .await
            .0,
        200
    );
    let updates = fakes.slack.wait_for("chat.update", 1, PATIENCE).await;
    let update = updates[0].json();
    assert!(update["ts"].is_string(), "{update}");
    assert_eq!(update["channel"], posted["channel"]);
    assert!(update.to_string().contains("Approved by Alice"), "{update}");
    assert_eq!(
        fakes.slack.calls_of("chat.postEphemeral").len(),
        2,
        "one answer for the approval, none for the replay"
    );

    // Deny on another approval.
    let second = agent
        .submit_approval("Delete the staging bucket?", &AskOptions::default())
        .await
        .unwrap();
    fakes.slack.wait_for("chat.postMessage", 2, PATIENCE).await;
    let deny = form_body(&block_action_payload(
        "U_ADA",
        "C0PAGER",
        "1700000000.000200",
        "deny",
        second.request_id().as_ref(),
        "trigger-3",
    ));
    assert_eq!(
        slack_post(
            &app,
            &channel,
            "interactions",
            &deny,
            now_secs(),
            SLACK_SECRET
        )
        .await
        .0,
        200
    );
    assert_eq!(
        second.decision(wait()).await.unwrap().decision,
        ApprovalDecision::Denied
    );

    // Reply opens a modal; submitting it answers the question.
    let question = agent
        .submit("Which region?", &AskOptions::default())
        .await
        .unwrap();
    fakes.slack.wait_for("chat.postMessage", 3, PATIENCE).await;
    let qid = question.request_id().to_string();
    let reply = form_body(&block_action_payload(
        "U_ADA",
        "C0PAGER",
        "1700000000.000300",
        "reply",
        &qid,
        "trigger-4",
    ));
    assert_eq!(
        slack_post(
            &app,
            &channel,
            "interactions",
            &reply,
            now_secs(),
            SLACK_SECRET
        )
        .await
        .0,
        200
    );
    let opened = fakes.slack.wait_for("views.open", 1, PATIENCE).await[0].json();
    assert_eq!(opened["trigger_id"], "trigger-4");
    assert_eq!(opened["view"]["private_metadata"], qid.as_str());
    let submit = form_body(&view_submission_payload("U_ADA", &qid, "eu-west-1"));
    let (status, body) = slack_post(
        &app,
        &channel,
        "interactions",
        &submit,
        now_secs(),
        SLACK_SECRET,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(question.answer(wait()).await.unwrap().text, "eu-west-1");
}

#[tokio::test]
async fn discord_interactions_are_verified_and_buttons_decide() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    let channel = session
        .add(json!({ "kind": "discord", "botToken": "d-token", "channelId": "4242", "publicKey": fakes.discord_app.public_key_hex() }))
        .await;
    let url = app.url(&format!("/api/channels/discord/{channel}/interactions"));
    let post = |body: Value, valid: bool| {
        let text = body.to_string();
        let ts = now_secs().to_string();
        let mut request = app
            .http
            .post(&url)
            .header("content-type", "application/json");
        for (name, value) in fakes.discord_app.signed_headers(&ts, &text) {
            let value = if valid { value } else { "00".repeat(64) };
            request = request.header(name, value);
        }
        async move {
            let response = request.body(text).send().await.unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    assert_eq!(post(fakes.discord_app.ping(), false).await.0, 401);
    assert_eq!(
        post(fakes.discord_app.ping(), true).await,
        (StatusCode::OK, json!({ "type": 1 }))
    );

    let code = session.connect_code(&channel).await;
    let (_, linked) = post(
        fakes.discord_app.command_connect("i-1", "D_ADA", &code),
        true,
    )
    .await;
    assert!(
        linked["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Connected"),
        "{linked}"
    );

    let agent = setup::plain_agent(&app);
    let approval = agent
        .submit_approval("Ship v2?", &AskOptions::default())
        .await
        .unwrap();
    let sent = fakes
        .discord
        .wait_for("POST /channels/4242/messages", 1, PATIENCE)
        .await[0]
        .json();
    let approve = sent["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, stranger) = post(
        fakes.discord_app.component("i-2", "D_EVE", "m-1", &approve),
        true,
    )
    .await;
    assert!(
        stranger["data"]["content"]
            .as_str()
            .unwrap()
            .contains("not linked"),
        "{stranger}"
    );
    let (_, updated) = post(
        fakes.discord_app.component("i-3", "D_ADA", "m-1", &approve),
        true,
    )
    .await;
    assert_eq!(updated["type"], 7, "{updated}");
    assert!(
        updated["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Approved by Alice")
    );
    assert_eq!(updated["data"]["components"], json!([]));
    assert_eq!(
        approval.decision(wait()).await.unwrap().decision,
        ApprovalDecision::Approved
    );
    // The same interaction again: handled once.
    let (_, again) = post(
        fakes.discord_app.component("i-3", "D_ADA", "m-1", &approve),
        true,
    )
    .await;
    assert!(
        again["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Already handled")
    );
}

#[tokio::test]
async fn replays_in_disguise_and_answers_from_elsewhere_do_nothing() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    let agent = setup::plain_agent(&app);

    // Telegram: a reply in another chat (message ids count per chat) answers nothing.
    let telegram = session
        .add(json!({ "kind": "telegram", "botToken": "77:tg", "chatId": "-100500" }))
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
    let message_id = find_message_id(&fakes, "Which port?").await;
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
        .add(json!({ "kind": "slack", "botToken": "xoxb-2", "channel": "C2", "signingSecret": SLACK_SECRET }))
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
        .add(json!({ "kind": "discord", "botToken": "d", "channelId": "9", "publicKey": fakes.discord_app.public_key_hex() }))
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
