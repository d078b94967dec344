//! Bringing a chat message up to date: every state change edits it (an answer keeps the
//! buttons of an undecided approval, the decision removes them), an edit right behind its own
//! announcement in the outbox finds the message, and an edit the chat refuses for good does not
//! hold back what comes after it.

use heysummon_server::testing::fake_channels::Failure;
use serde_json::{Value, json};

use crate::session::Session;
use crate::setup::{self, Fakes, PATIENCE, SLACK_SECRET};

/// `POST /api/v1/help` for an approval; its id.
async fn approval(app: &heysummon_server::testing::TestApp, text: &str) -> String {
    let (status, body) = app
        .post(
            "/api/v1/help",
            &app.client_key,
            json!({ "apiKey": app.client_key, "signPublicKey": "test-sign-key",
                "encryptPublicKey": "test-encrypt-key", "question": text, "requiresApproval": true }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["requestId"].as_str().unwrap().to_owned()
}

async fn decide(app: &heysummon_server::testing::TestApp, id: &str, decision: &str) {
    let (status, body) = app
        .post(
            &format!("/api/v1/approve/{id}"),
            &app.expert_key,
            json!({ "decision": decision }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn has_buttons(edit: &Value) -> bool {
    edit["reply_markup"]["inline_keyboard"].is_array()
}

#[tokio::test]
async fn each_change_edits_the_message_and_buttons_stay_until_the_decision() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    session
        .add_id(json!({ "kind": "telegram", "botToken": "9:tok", "chatId": "-5" }))
        .await;
    let id = approval(&app, "Restart the cluster?").await;
    fakes.telegram.wait_for("sendMessage", 1, PATIENCE).await;

    // A plain answer first: the message says so, and Approve / Deny stay.
    app.answer(&app.expert_key, &id, "Checking the load first")
        .await;
    let edits = fakes
        .telegram
        .wait_for("editMessageText", 1, PATIENCE)
        .await;
    let first = edits[0].json();
    assert!(
        first["text"]
            .as_str()
            .unwrap()
            .contains("Answered by Alice"),
        "{first}"
    );
    assert!(has_buttons(&first), "{first}");

    // Then the decision: a second edit, without buttons.
    decide(&app, &id, "denied").await;
    let edits = fakes
        .telegram
        .wait_for("editMessageText", 2, PATIENCE)
        .await;
    let second = edits[1].json();
    assert!(
        second["text"].as_str().unwrap().contains("Denied by Alice"),
        "{second}"
    );
    assert!(!has_buttons(&second), "{second}");
}

#[tokio::test]
async fn an_edit_behind_its_announcement_in_one_batch_finds_the_message() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |config| config.channels.retry_initial_ms = 400).await;
    let session = Session::new(&app).await;
    session
        .add_id(json!({ "kind": "slack", "botToken": "xoxb", "channel": "C9", "signingSecret": SLACK_SECRET }))
        .await;
    // The announcement fails for a while; meanwhile the expert decides in the dashboard.
    fakes.slack.fail_next(2, Failure::Status(503));
    let id = approval(&app, "Scale down?").await;
    decide(&app, &id, "approved").await;
    let posted = fakes.slack.wait_for("chat.postMessage", 3, PATIENCE).await;
    assert!(
        posted[2].json()["blocks"]
            .to_string()
            .contains("Scale down?")
    );
    let updates = fakes.slack.wait_for("chat.update", 1, PATIENCE).await;
    let update = updates[0].json();
    assert!(update["ts"].is_string(), "{update}");
    assert!(update.to_string().contains("Approved by Alice"), "{update}");
}

#[tokio::test]
async fn an_edit_the_chat_refuses_for_good_does_not_block_the_channel() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    let channel = session
        .add_id(json!({ "kind": "telegram", "botToken": "9:tok", "chatId": "-5" }))
        .await;
    let id = approval(&app, "Drop the cache?").await;
    fakes.telegram.wait_for("sendMessage", 1, PATIENCE).await;
    // Someone deleted the message in the chat: Telegram refuses the edit.
    fakes.telegram.fail_next(
        1,
        Failure::ApiError("Bad Request: message to edit not found".to_owned()),
    );
    decide(&app, &id, "approved").await;
    fakes
        .telegram
        .wait_for("editMessageText", 1, PATIENCE)
        .await;
    let next = app.ask_ok(&app.client_key, "Next question").await;
    let sent = fakes.telegram.wait_for("sendMessage", 2, PATIENCE).await;
    assert!(
        sent[1].json()["text"]
            .as_str()
            .unwrap()
            .contains("Next question")
    );
    setup::eventually("nothing pending", || async {
        session.channel(&channel).await["pending"] == 0
    })
    .await;
    assert_eq!(
        fakes.telegram.calls_of("editMessageText").len(),
        1,
        "not retried"
    );
    let _ = next;
}
