//! Input the server used to take too kindly: content types by substring, JSON arrays as bodies,
//! keys that are not keys, unknown statuses and limits; and budgets that streams must not spend.

#![allow(clippy::unwrap_used)]

mod common;

use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn the_content_type_is_the_media_type_not_a_substring() {
    let server = common::spawn().await;
    let body = json!({"apiKey": server.client_key, "signPublicKey": "s",
                      "encryptPublicKey": "e", "question": "q"});
    for (content_type, expected) in [
        ("text/application/jsonx", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("application/jsonx", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("application/json; charset=utf-8", StatusCode::OK),
        ("Application/JSON", StatusCode::OK),
    ] {
        let response = server
            .http
            .post(server.url("/api/v1/help"))
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{content_type}");
    }
}

#[tokio::test]
async fn bodies_are_objects_and_errors_name_the_member() {
    let server = common::spawn().await;
    let key = server.client_key.clone();
    let (status, body) = server
        .call(
            Method::POST,
            "/api/v1/help",
            None,
            Some(json!([key, "n", "n", "q"])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["details"], "the body must be a JSON object");
    assert_eq!(server.request_count().await, 0, "nothing was created");

    let (status, body) = server
        .call(
            Method::POST,
            "/api/v1/help",
            None,
            Some(
                json!({"apiKey": key, "signPublicKey": "s", "encryptPublicKey": "e",
                        "question": "q", "requiresApproval": "yes"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "Validation failed");
    assert!(
        body["details"]
            .as_str()
            .unwrap()
            .starts_with("requiresApproval: invalid type"),
        "{body}"
    );
}

#[tokio::test]
async fn key_exchange_refuses_keys_that_are_not_keys() {
    let server = common::spawn().await;
    let id = server.ask_ok(&server.client_key, "q").await;
    let path = format!("/api/v1/key-exchange/{id}");
    let (status, body) = server
        .post(
            &path,
            &server.expert_key,
            json!({"signPublicKey": "not-a-key", "encryptPublicKey": "not-a-key"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "Invalid public key");
    let (_, status_body) = server
        .get(&format!("/api/v1/help/{id}"), &server.client_key)
        .await;
    assert_eq!(status_body["status"], "pending", "the request did not move");
    let (status, _) = server
        .post(&path, &server.expert_key, common::exchange_keys())
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn request_listings_validate_status_and_limit() {
    let server = common::spawn().await;
    for n in 0..3 {
        server.ask_ok(&server.client_key, &format!("q{n}")).await;
    }
    let e = &server.expert_key;
    for query in [
        "status=zzz",
        "limit=abc",
        "limit=-1",
        "limit=0",
        "limit=1001",
    ] {
        let (status, body) = server.get(&format!("/api/v1/requests?{query}"), e).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["error"].as_str().unwrap().starts_with("Invalid"));
    }
    let (status, body) = server.get("/api/v1/requests?limit=2", e).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["requests"].as_array().unwrap().len(), 2);
    let (_, body) = server.get("/api/v1/requests?status=PENDING", e).await;
    assert_eq!(body["requests"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn opening_streams_does_not_spend_the_request_budget() {
    let server = common::spawn_with(|c| {
        c.rate_limits.per_key = 5;
        c.rate_limits.events_per_key = 1000;
    })
    .await;
    for _ in 0..10 {
        let response = server
            .http
            .get(server.url("/api/v1/events/stream"))
            .header("x-api-key", &server.client_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        drop(response);
    }
    // The agent can still ask.
    server.ask_ok(&server.client_key, "Still there?").await;
}

#[tokio::test]
async fn an_experts_stream_can_be_narrowed_to_one_request() {
    let server = common::spawn().await;
    let first = server.ask_ok(&server.client_key, "first").await;
    let stranger = server.tenant("Bob").await;
    let other = server.ask_ok(&stranger.client_key, "not Alice's").await;
    let e = &server.expert_key;
    let (status, _) = server
        .get(&format!("/api/v1/events/stream?requestId={other}"), e)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a stranger's request");
    let second = server.ask_ok(&server.client_key, "second").await;
    let mut stream = server
        .http
        .get(server.url(&format!(
            "/api/v1/events/stream?requestId={second}&lastEventId=0"
        )))
        .header("x-api-key", e)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut seen = String::new();
    while !seen.contains("new_request") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), stream.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains(&second), "{seen}");
    assert!(!seen.contains(&first), "only the narrowed request: {seen}");
}

#[tokio::test]
async fn hidden_controls_in_agent_text_are_shown_visibly_to_the_expert() {
    let server = common::spawn().await;
    // NUL is refused (no backend stores it in text), the request not created.
    let (status, refused) = server
        .post(
            "/api/v1/help",
            &server.client_key,
            json!({"apiKey": server.client_key, "question": "Approve\u{0} it?",
                   "signPublicKey": "s", "encryptPublicKey": "e"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["details"].as_str().unwrap().contains("NUL"),
        "{refused}"
    );
    assert_eq!(server.request_count().await, 0);
    let tricky = "Approve\u{7} the \u{202E}nosrep\u{202C} refund?";
    let shown = "Approve<U+0007> the <U+202E>nosrep<U+202C> refund?";
    let id = server.ask_ok(&server.client_key, tricky).await;
    let e = &server.expert_key;
    let (_, listed) = server.get("/api/v1/requests", e).await;
    assert_eq!(listed["requests"][0]["question"], shown);
    let (_, pending) = server.get("/api/v1/events/pending", e).await;
    assert_eq!(pending["events"][0]["question"], shown, "{pending}");
    let (status, _) = server
        .post(
            &format!("/api/v1/message/{id}"),
            &server.client_key,
            json!({"from": "consumer", "plaintext": tricky}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, messages) = server.get(&format!("/api/v1/messages/{id}"), e).await;
    assert_eq!(messages["messages"][0]["plaintext"], shown);
    // The agent reads its own text back as it sent it.
    let (_, own) = server
        .get(&format!("/api/v1/messages/{id}"), &server.client_key)
        .await;
    assert_eq!(own["messages"][0]["plaintext"], tricky);
}

#[tokio::test]
async fn made_up_subscriber_tokens_spend_their_addresss_budget() {
    let server = common::spawn_with(|c| {
        c.events.mercure_jwt_secret = Some("a-mercure-secret-of-at-least-32-bytes!".into());
        c.rate_limits.events_per_key = 3;
    })
    .await;
    let mut statuses = Vec::new();
    for n in 0..5 {
        let response = server
            .http
            .get(server.url("/.well-known/mercure?topic=*"))
            .bearer_auth(format!("made.up.token{n}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
}
