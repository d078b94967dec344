use std::time::Duration;

use serde_json::json;

use super::{WAIT, post_json};
use crate::testing::fake_channels::{Failure, FakeTelegram, callback_update, message_update};

#[tokio::test]
async fn send_and_edit_messages_with_incrementing_ids() {
    let fake = FakeTelegram::start().await;
    let url = |method: &str| format!("{}/bot123:ABC/{method}", fake.api_base());
    let send = json!({ "chat_id": 42, "text": "<b>Question</b> 1 &lt; 2", "parse_mode": "HTML" });

    let (status, _, first) = post_json(&url("sendMessage"), None, &send).await;
    assert_eq!(status, 200);
    assert_eq!(first["result"]["message_id"], 100);
    let (_, _, second) = post_json(&url("sendMessage"), None, &send).await;
    assert_eq!(second["result"]["message_id"], 101);

    let edit =
        json!({ "chat_id": 42, "message_id": 100, "text": "Answered", "parse_mode": "HTML" });
    let (status, _, edited) = post_json(&url("editMessageText"), None, &edit).await;
    assert_eq!((status, edited["ok"].clone()), (200, json!(true)));
    // The same edit again changes nothing: Telegram refuses it.
    let (status, _, same) = post_json(&url("editMessageText"), None, &edit).await;
    assert_eq!(status, 400);
    assert!(
        same["description"]
            .as_str()
            .unwrap()
            .contains("not modified")
    );
    let unknown = json!({ "chat_id": 42, "message_id": 7, "text": "x" });
    let (status, _, _) = post_json(&url("editMessageText"), None, &unknown).await;
    assert_eq!(status, 400);

    let calls = fake.calls_of("sendMessage");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].token.as_deref(), Some("123:ABC"));
    assert_eq!(calls[0].json()["chat_id"], 42);
    let edits = fake.wait_for("editMessageText", 3, WAIT).await;
    assert_eq!(
        edits.iter().map(|c| c.failed).collect::<Vec<_>>(),
        [false, true, true]
    );
}

#[tokio::test]
async fn refuses_unescaped_html_and_missing_fields() {
    let fake = FakeTelegram::start().await;
    let url = format!("{}/botT/sendMessage", fake.api_base());
    let bad = json!({ "chat_id": 1, "text": "is 1 <2?", "parse_mode": "HTML" });
    let (status, _, answer) = post_json(&url, None, &bad).await;
    assert_eq!(status, 400);
    let description = answer["description"].as_str().unwrap();
    assert!(
        description.starts_with("Bad Request: can't parse entities"),
        "{description}"
    );
    let (status, _, _) = post_json(&url, None, &json!({ "chat_id": 1 })).await;
    assert_eq!(status, 400);
    assert!(fake.calls().iter().all(|c| c.failed));
}

#[tokio::test]
async fn records_the_webhook_and_answers_callbacks() {
    let fake = FakeTelegram::start().await;
    assert_eq!(fake.webhook_secret(), None);
    let set = json!({
        "url": "https://pager.example.com/api/channels/telegram/ch1",
        "secret_token": "s3cr3t_-X", "allowed_updates": ["message", "callback_query"],
    });
    let base = fake.api_base();
    let (status, _, _) = post_json(&format!("{base}/botT1/setWebhook"), None, &set).await;
    assert_eq!(status, 200);
    assert_eq!(fake.webhook_secret().as_deref(), Some("s3cr3t_-X"));
    assert_eq!(
        fake.webhook_url().as_deref(),
        Some("https://pager.example.com/api/channels/telegram/ch1")
    );
    assert_eq!(fake.webhook_token().as_deref(), Some("T1"));
    let bad = json!({ "url": "https://x.test/", "secret_token": "no spaces" });
    let (status, _, _) = post_json(&format!("{base}/botT1/setWebhook"), None, &bad).await;
    assert_eq!(status, 400);

    let answer = json!({ "callback_query_id": "cb1", "text": "Approved" });
    let (_, _, answered) =
        post_json(&format!("{base}/botT1/answerCallbackQuery"), None, &answer).await;
    assert_eq!(answered, json!({ "ok": true, "result": true }));

    let (status, _, _) = post_json(&format!("{base}/botT1/deleteWebhook"), None, &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(fake.webhook_url(), None);
}

#[tokio::test]
async fn planned_failures_then_recovery() {
    let fake = FakeTelegram::start().await;
    fake.fail_next(
        1,
        Failure::RateLimited {
            retry_after_secs: 3,
        },
    );
    fake.fail_next(1, Failure::Status(502));
    let url = format!("{}/botT/sendMessage", fake.api_base());
    let send = json!({ "chat_id": 5, "text": "hi" });

    let (status, _, limited) = post_json(&url, None, &send).await;
    assert_eq!(status, 429);
    assert_eq!(limited["parameters"]["retry_after"], 3);
    assert_eq!(limited["error_code"], 429);
    let (status, _, _) = post_json(&url, None, &send).await;
    assert_eq!(status, 502);
    let (status, _, sent) = post_json(&url, None, &send).await;
    assert_eq!(status, 200);
    // Failed attempts take no message id.
    assert_eq!(sent["result"]["message_id"], 100);

    let calls = fake.wait_for("sendMessage", 3, WAIT).await;
    assert_eq!(calls.iter().filter(|c| c.failed).count(), 2);
}

#[tokio::test]
async fn a_hang_runs_into_the_client_timeout() {
    let fake = FakeTelegram::start().await;
    fake.fail_next(1, Failure::Hang(Duration::from_secs(5)));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let url = format!("{}/botT/sendMessage", fake.api_base());
    let body = json!({ "chat_id": 5, "text": "hi" });
    let error = client.post(&url).json(&body).send().await.unwrap_err();
    assert!(error.is_timeout());
    // Recorded before the hang.
    assert!(fake.calls_of("sendMessage")[0].failed);
    let response = client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
#[should_panic(expected = "2 × sendMessage")]
async fn wait_for_panics_listing_what_arrived() {
    let fake = FakeTelegram::start().await;
    let url = format!("{}/botT/getMe", fake.api_base());
    post_json(&url, None, &json!({})).await;
    fake.wait_for("sendMessage", 2, Duration::from_millis(100))
        .await;
}

#[test]
fn inbound_updates_have_telegrams_shape() {
    let update = message_update(7, 42, 42, "/connect ABC123", Some(100));
    assert_eq!(update["update_id"], 7);
    let message = &update["message"];
    assert_eq!(message["chat"], json!({ "id": 42, "type": "private" }));
    assert_eq!(message["from"]["id"], 42);
    assert_eq!(message["text"], "/connect ABC123");
    assert_eq!(message["entities"][0]["length"], 8);
    assert_eq!(message["reply_to_message"]["message_id"], 100);
    assert!(
        message_update(8, -5, 42, "hi", None)["message"]
            .get("reply_to_message")
            .is_none()
    );

    let callback = callback_update(9, "cb-1", 42, 43, 100, "approve:req_1");
    let query = &callback["callback_query"];
    assert_eq!(query["id"], "cb-1");
    assert_eq!(query["from"]["id"], 43);
    assert_eq!(query["message"]["message_id"], 100);
    assert_eq!(query["message"]["chat"]["id"], 42);
    assert_eq!(query["data"], "approve:req_1");
}
