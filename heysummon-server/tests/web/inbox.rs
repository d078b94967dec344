//! `GET /api/requests` and `GET /api/requests/{id}` (PROTOCOL E3): newest first, filters,
//! search, pages, and tenancy.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::Browser;
use crate::common;

#[tokio::test]
async fn the_inbox_lists_newest_first_with_what_the_expert_needs() {
    let app = common::spawn().await;
    let browser = Browser::sign_in(&app).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(app.ask_ok(&app.client_key, &format!("Question {n}")).await);
        app.clock.advance(1000);
    }
    let (status, approval) = app
        .post(
            "/api/v1/help",
            &app.client_key,
            json!({
                "apiKey": app.client_key,
                "signPublicKey": "test-sign-key",
                "encryptPublicKey": "test-encrypt-key",
                "question": "Drop the table?",
                "requiresApproval": true,
            }),
        )
        .await;
    assert_eq!(status, 200, "{approval}");
    app.answer(&app.expert_key, &ids[0], "Done").await;

    let (status, page) = browser.get("/api/requests").await;
    assert_eq!(status, 200);
    let requests = page["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 6);
    assert_eq!(requests[0]["id"], approval["requestId"]);
    assert_eq!(requests[0]["kind"], "approval");
    assert_eq!(requests[1]["kind"], "question");
    assert_eq!(requests[1]["question"], "Question 4");
    assert_eq!(requests[1]["clientKeyName"], "Alice's agent");
    assert_eq!(requests[1]["sealed"], false);
    let answered = requests
        .iter()
        .find(|r| r["id"] == ids[0].as_str())
        .unwrap();
    assert_eq!(answered["responseCount"], 1);
    assert_eq!(answered["status"], "responded");
    assert!(page["nextCursor"].is_null());

    // Filter by status (several at once), search by reference code (any case).
    let (_, pending) = browser.get("/api/requests?status=pending,reviewing").await;
    assert_eq!(pending["requests"].as_array().unwrap().len(), 5);
    let code = requests[2]["refCode"]
        .as_str()
        .unwrap()
        .to_ascii_lowercase();
    let (_, found) = browser.get(&format!("/api/requests?ref={code}")).await;
    assert_eq!(found["requests"].as_array().unwrap().len(), 1);
    assert_eq!(found["requests"][0]["id"], requests[2]["id"]);
    let (_, none) = browser.get("/api/requests?ref=HS-NOTHING1").await;
    assert_eq!(none["requests"], json!([]));

    // Pages: every request once, in order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/requests?limit=4&cursor={c}"),
            None => "/api/requests?limit=4".to_owned(),
        };
        let (status, page) = browser.get(&path).await;
        assert_eq!(status, 200);
        seen.extend(
            page["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].clone()),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let all: Vec<Value> = requests.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(seen, all);
}

#[tokio::test]
async fn bad_inbox_queries_get_clear_errors() {
    let app = common::spawn().await;
    let browser = Browser::sign_in(&app).await;
    for (query, error) in [
        ("status=bogus", "Invalid status"),
        ("limit=0", "Invalid limit"),
        ("limit=201", "Invalid limit"),
        ("cursor=%%%", "Invalid cursor"),
        ("cursor=bm90IGEgY3Vyc29y", "Invalid cursor"),
        ("unknown=1", ""),
    ] {
        let (status, body) = browser.get(&format!("/api/requests?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(
            body["error"].as_str().unwrap().starts_with(error),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn a_request_page_holds_the_conversation_and_moves_it_to_review() {
    let app = common::spawn().await;
    let browser = Browser::sign_in(&app).await;
    let id = app.ask_ok(&app.client_key, "Which region?").await;
    let (status, page) = browser.get(&format!("/api/requests/{id}")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["request"]["id"], id.as_str());
    assert_eq!(page["request"]["question"], "Which region?");
    assert_eq!(page["request"]["status"], "reviewing");
    assert_eq!(page["requestId"], id.as_str());
    assert!(page["messages"].is_array());
    assert_eq!(page["request"]["responseCount"], 0);
}

#[tokio::test]
async fn another_experts_request_is_not_there() {
    let app = common::spawn().await;
    let bob = app.tenant("Bob").await;
    let alices = app.ask_ok(&app.client_key, "Alice only").await;
    let stranger = Browser::sign_in_as(&app, &bob.expert_id).await;
    let missing = "c0ffee0000000000000000aa";
    for path in ["/api/requests/{}", "/api/v1/messages/{}"] {
        let (status, body) = stranger.get(&path.replace("{}", &alices)).await;
        let (missing_status, missing_body) = stranger.get(&path.replace("{}", missing)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!((status, &body), (missing_status, &missing_body), "{path}");
    }
    let (status, body) = stranger
        .post(&format!("/api/v1/close/{alices}"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, list) = stranger.get("/api/requests").await;
    assert_eq!(list["requests"], json!([]));
    let (_, status) = app
        .get(&format!("/api/v1/help/{alices}"), &app.client_key)
        .await;
    assert_eq!(status["status"], "pending", "untouched");
}

#[tokio::test]
async fn the_expert_acknowledges_a_notification() {
    let app = common::spawn().await;
    let browser = Browser::sign_in(&app).await;
    let (status, note) = app
        .post(
            "/api/v1/help",
            &app.client_key,
            json!({
                "apiKey": app.client_key,
                "signPublicKey": "test-sign-key",
                "encryptPublicKey": "test-encrypt-key",
                "question": "Deployed v2.3 to staging.",
                "responseRequired": false,
            }),
        )
        .await;
    assert_eq!(status, 200, "{note}");
    let id = note["requestId"].as_str().unwrap();
    let (_, listed) = browser.get("/api/requests").await;
    assert_eq!(listed["requests"][0]["kind"], "notification");
    let (status, acked) = browser
        .post(&format!("/api/v1/acknowledge/{id}"), json!({}))
        .await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["status"], "acknowledged");
    // A question is not a notification: nothing to acknowledge.
    let question = app.ask_ok(&app.client_key, "Which region?").await;
    let (status, body) = browser
        .post(&format!("/api/v1/acknowledge/{question}"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}
