//! Answering from Telegram: buttons and replies reach the agent, only from linked users; the
//! message is edited after the decision.

use heysummon_sdk::AskOptions;
use heysummon_sdk::wire::ApprovalDecision;
use heysummon_server::testing::fake_channels::{callback_update, message_update};
use serde_json::json;

use crate::chats::{find_message_id, telegram_update, wait};
use crate::session::Session;
use crate::setup::{self, Fakes, PATIENCE};

#[tokio::test]
async fn telegram_buttons_and_replies_reach_the_agent_only_from_linked_users() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    let channel = session
        .add_id(json!({ "kind": "telegram", "botToken": "123:tg", "chatId": "-100500" }))
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
    let message_id = find_message_id(&app, &fakes, &channel, "Deploy to production?").await;

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
    let replied_to = find_message_id(&app, &fakes, &channel, "Which colour").await;
    let reply = message_update(6, -100500, 42, "Blue, please", Some(replied_to));
    assert_eq!(telegram_update(&app, &fakes, &secret, &reply).await, 200);
    let answer = question.answer(wait()).await.unwrap();
    assert_eq!(answer.text, "Blue, please");
}
