//! End-to-end flows over HTTP: the plaintext round trip, end-to-end encryption with per-request
//! key exchange, sealed questions (PROTOCOL B3), approval mode and notification mode.

#![allow(clippy::unwrap_used)]

mod common;

use common::TestApp;
use heysummon_sdk::envelope::Channel;
use heysummon_sdk::keys::{PartyKeys, PublicKeys};
use heysummon_sdk::wire::EncryptedPayload;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const HOUR_MS: i64 = 3600 * 1000;

/// `GET /api/v1/events/pending` for a key, asserting success.
async fn feed(server: &TestApp, key: &str) -> Vec<Value> {
    let (status, body) = server.get("/api/v1/events/pending", key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["events"].as_array().unwrap().clone()
}

/// The event of a type for a request in a feed.
fn event<'a>(events: &'a [Value], kind: &str, request_id: &str) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["type"] == kind && e["requestId"] == request_id)
}

/// `POST /api/v1/help` with the consumer's real hex public keys plus `extra` members.
async fn ask_with_keys(
    server: &TestApp,
    consumer: &PartyKeys,
    extra: Value,
) -> (StatusCode, Value) {
    let public = consumer.public();
    let mut body = json!({
        "apiKey": server.client_key,
        "signPublicKey": public.sign.to_hex(),
        "encryptPublicKey": public.encrypt.to_hex(),
    });
    for (name, value) in extra.as_object().unwrap() {
        body[name] = value.clone();
    }
    server
        .call(Method::POST, "/api/v1/help", None, Some(body))
        .await
}

/// The body of an encrypted `POST /message`.
fn encrypted_body(payload: &EncryptedPayload, from: &str) -> Value {
    let mut body = serde_json::to_value(payload).unwrap();
    body["from"] = json!(from);
    body
}

/// `GET /api/v1/messages/:id`, asserting success.
async fn messages(server: &TestApp, key: &str, id: &str) -> Value {
    let (status, body) = server.get(&format!("/api/v1/messages/{id}"), key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// `GET /api/v1/help/:id` with the primary client key, asserting success.
async fn help_status(server: &TestApp, id: &str) -> Value {
    let (status, body) = server
        .get(&format!("/api/v1/help/{id}"), &server.client_key)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// `POST` with a key, asserting success.
async fn post_ok(server: &TestApp, path: &str, key: &str, body: Value) -> Value {
    let (status, body) = server.post(path, key, body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

fn payload_of(item: &Value) -> EncryptedPayload {
    serde_json::from_value(item.clone()).unwrap()
}

#[tokio::test]
async fn plaintext_round_trip() {
    let server = common::spawn().await;
    let id = server
        .ask_ok(&server.client_key, "Can I drop the staging table?")
        .await;

    // The expert sees the new request.
    let events = feed(&server, &server.expert_key).await;
    let seen = event(&events, "new_request", &id).expect("new_request in expert feed");
    assert_eq!(seen["question"], "Can I drop the staging table?");
    assert_eq!(seen["consumerSignPubKey"], "test-sign-key");
    assert_eq!(seen["consumerEncryptPubKey"], "test-encrypt-key");
    assert_eq!(seen["requiresApproval"], false);
    assert!(seen["refCode"].as_str().unwrap().starts_with("HS-"));

    // The expert answers in plaintext.
    let sent = server
        .answer(&server.expert_key, &id, "Yes, it is a copy.")
        .await;
    assert_eq!(sent["success"], true);
    assert!(sent["messageId"].is_string());

    // The expert's feed no longer lists an answered request; the consumer's shows the answer.
    let events = feed(&server, &server.expert_key).await;
    assert!(event(&events, "new_request", &id).is_none(), "{events:?}");
    let events = feed(&server, &server.client_key).await;
    let message = event(&events, "new_message", &id).expect("new_message in consumer feed");
    assert_eq!(message["from"], "expert");
    assert!(message["respondedAt"].is_string());

    // Acking removes it from the consumer's feed.
    let body = post_ok(
        &server,
        &format!("/api/v1/events/ack/{id}"),
        &server.client_key,
        json!({}),
    )
    .await;
    assert_eq!(body["ok"], true);
    let events = feed(&server, &server.client_key).await;
    assert!(event(&events, "new_message", &id).is_none(), "{events:?}");

    // The status carries the plaintext answer.
    let body = help_status(&server, &id).await;
    assert_eq!(body["status"], "responded");
    assert_eq!(body["response"], "Yes, it is a copy.");
    assert!(body["respondedAt"].is_string());
    assert!(body.get("approvalDecision").is_none());

    // The message list shows the plaintext item in both forms.
    let list = messages(&server, &server.client_key, &id).await;
    let items = list["messages"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["from"], "expert");
    assert_eq!(items[0]["plaintext"], "Yes, it is a copy.");
    assert_eq!(items[0]["iv"], "plaintext");
    assert_eq!(items[0]["ciphertext"], "WWVzLCBpdCBpcyBhIGNvcHku");

    // Rate, then close twice.
    let body = post_ok(
        &server,
        &format!("/api/v1/rate/{id}"),
        &server.client_key,
        json!({"rating": 5, "feedback": "quick"}),
    )
    .await;
    assert_eq!(body["success"], true);
    assert_eq!(body["rating"], 5);
    assert!(body["ratedAt"].is_string());

    let close = format!("/api/v1/close/{id}");
    let body = post_ok(&server, &close, &server.client_key, json!({})).await;
    assert_eq!(body["success"], true);
    assert_eq!(body["status"], "closed");
    assert_eq!(body["previousStatus"], "responded");
    let closed_at = body["closedAt"].clone();
    assert!(closed_at.is_string());

    let body = post_ok(&server, &close, &server.client_key, json!({})).await;
    assert_eq!(body["status"], "closed");
    assert_eq!(body["previousStatus"], "closed");
    assert_eq!(body["closedAt"], closed_at);

    // A closed request takes no more messages.
    let (status, body) = server
        .post(
            &format!("/api/v1/message/{id}"),
            &server.expert_key,
            json!({"from": "expert", "plaintext": "one more thing"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "Request is closed or expired");
}

#[tokio::test]
async fn encrypted_round_trip_with_key_exchange() {
    let server = common::spawn().await;
    let consumer = PartyKeys::generate();
    let (status, created) = ask_with_keys(&server, &consumer, json!({"question": "Deploy?"})).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["requestId"].as_str().unwrap().to_owned();

    // The expert learns the consumer's keys from its feed.
    let events = feed(&server, &server.expert_key).await;
    let seen = event(&events, "new_request", &id).unwrap();
    let consumer_public = PublicKeys::parse(
        seen["consumerSignPubKey"].as_str().unwrap(),
        seen["consumerEncryptPubKey"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(consumer_public, consumer.public());

    let expert = PartyKeys::generate();
    let expert_channel = Channel::new(&expert, &consumer_public).unwrap();
    let answer = expert_channel.seal("Yes — after 18:00.", None).unwrap();

    // Encrypted before the key exchange → 400.
    let path = format!("/api/v1/message/{id}");
    let (status, body) = server
        .post(&path, &server.expert_key, encrypted_body(&answer, "expert"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Key exchange, once.
    let exchange = format!("/api/v1/key-exchange/{id}");
    let keys = json!({
        "signPublicKey": expert.public().sign.to_hex(),
        "encryptPublicKey": expert.public().encrypt.to_hex(),
    });
    let body = post_ok(&server, &exchange, &server.expert_key, keys).await;
    assert_eq!(body, json!({"success": true, "status": "active"}));
    let other = PartyKeys::generate().public();
    let (status, body) = server
        .post(
            &exchange,
            &server.expert_key,
            json!({"signPublicKey": other.sign.to_hex(), "encryptPublicKey": other.encrypt.to_hex()}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // The encrypted answer; a repeat of the same messageId is a duplicate.
    let body = post_ok(
        &server,
        &path,
        &server.expert_key,
        encrypted_body(&answer, "expert"),
    )
    .await;
    assert_eq!(body["success"], true);
    assert_eq!(body["messageId"], answer.message_id.as_str());
    let body = post_ok(
        &server,
        &path,
        &server.expert_key,
        encrypted_body(&answer, "expert"),
    )
    .await;
    assert_eq!(body["duplicate"], true);

    // The consumer reads the expert's keys from /messages and opens the answer.
    let list = messages(&server, &server.client_key, &id).await;
    assert_eq!(list["status"], "responded");
    let expert_public = PublicKeys::parse(
        list["expertSignPubKey"].as_str().unwrap(),
        list["expertEncryptPubKey"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(expert_public, expert.public());
    let items = list["messages"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the duplicate was not stored: {list}");
    assert_eq!(items[0]["from"], "expert");
    assert!(items[0].get("plaintext").is_none());
    let consumer_channel = Channel::new(&consumer, &expert_public).unwrap();
    assert_eq!(
        consumer_channel.open(&payload_of(&items[0])).unwrap(),
        "Yes — after 18:00."
    );

    // The server cannot read the answer, so GET /help has no `response`.
    let body = help_status(&server, &id).await;
    assert_eq!(body["status"], "responded");
    assert!(body.get("response").is_none(), "{body}");

    // The consumer replies encrypted; the expert opens it.
    let reply = consumer_channel.seal("Thanks, will wait.", None).unwrap();
    post_ok(
        &server,
        &path,
        &server.client_key,
        encrypted_body(&reply, "consumer"),
    )
    .await;
    let list = messages(&server, &server.expert_key, &id).await;
    let items = list["messages"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["from"], "consumer");
    assert_eq!(
        expert_channel.open(&payload_of(&items[1])).unwrap(),
        "Thanks, will wait."
    );
}

#[tokio::test]
async fn sealed_question_round_trip() {
    let server = common::spawn().await;
    let expert = PartyKeys::generate();
    let publish = |keys: &PartyKeys| {
        json!({
            "signPublicKey": keys.public().sign.to_hex(),
            "encryptPublicKey": keys.public().encrypt.to_hex(),
        })
    };
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/v1/expert/keys",
            Some(&server.expert_key),
            Some(publish(&expert)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fingerprint = expert.public().fingerprint().to_string();
    assert_eq!(body["fingerprint"], fingerprint);

    // The consumer looks the expert's keys up and pins the fingerprint.
    let (status, body) = server.get("/api/v1/experts", &server.client_key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = &body["experts"][0];
    assert_eq!(listed["id"], server.expert_id.as_str());
    assert_eq!(listed["fingerprint"], fingerprint);
    let published = PublicKeys::parse(
        listed["signPublicKey"].as_str().unwrap(),
        listed["encryptPublicKey"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(published, expert.public());

    let consumer = PartyKeys::generate();
    let consumer_channel = Channel::new(&consumer, &published).unwrap();
    let sealed = consumer_channel
        .seal("Rotate the prod database password?", None)
        .unwrap();
    let (status, created) = ask_with_keys(
        &server,
        &consumer,
        json!({"sealedQuestion": sealed, "expertFingerprint": fingerprint}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["requestId"].as_str().unwrap().to_owned();

    // Active at once.
    let body = help_status(&server, &id).await;
    assert_eq!(body["status"], "active");

    // The expert's feed carries no question; the expert opens the sealed first message.
    let events = feed(&server, &server.expert_key).await;
    let seen = event(&events, "new_request", &id).unwrap();
    assert!(seen["question"].is_null(), "{seen}");
    let list = messages(&server, &server.expert_key, &id).await;
    assert_eq!(list["status"], "active");
    let consumer_public = PublicKeys::parse(
        list["consumerSignPubKey"].as_str().unwrap(),
        list["consumerEncryptPubKey"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(consumer_public, consumer.public());
    assert_eq!(list["expertEncryptPubKey"], published.encrypt.to_hex());
    let items = list["messages"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["from"], "consumer");
    let expert_channel = Channel::new(&expert, &consumer_public).unwrap();
    assert_eq!(
        expert_channel.open(&payload_of(&items[0])).unwrap(),
        "Rotate the prod database password?"
    );

    // Encrypted answer, no key exchange needed.
    let answer = expert_channel.seal("Yes, rotate it now.", None).unwrap();
    post_ok(
        &server,
        &format!("/api/v1/message/{id}"),
        &server.expert_key,
        encrypted_body(&answer, "expert"),
    )
    .await;
    let list = messages(&server, &server.client_key, &id).await;
    assert_eq!(list["status"], "responded");
    let items = list["messages"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        consumer_channel.open(&payload_of(&items[1])).unwrap(),
        "Yes, rotate it now."
    );
    let body = help_status(&server, &id).await;
    assert_eq!(body["status"], "responded");
    assert!(body.get("response").is_none(), "{body}");

    // A wrong pin → 409 EXPERT_KEY_CHANGED.
    let wrong = PartyKeys::generate().public().fingerprint().to_string();
    let fresh = || consumer_channel.seal("again", None).unwrap();
    let (status, body) = ask_with_keys(
        &server,
        &consumer,
        json!({"sealedQuestion": fresh(), "expertFingerprint": wrong}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "EXPERT_KEY_CHANGED");

    // Sealed and plaintext at once → 400.
    let (status, body) = ask_with_keys(
        &server,
        &consumer,
        json!({"sealedQuestion": fresh(), "expertFingerprint": fingerprint, "question": "hi"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // The expert re-publishes other keys: the old pin is refused, the new one works.
    let rotated = PartyKeys::generate();
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/v1/expert/keys",
            Some(&server.expert_key),
            Some(publish(&rotated)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_fingerprint = rotated.public().fingerprint().to_string();
    assert_eq!(body["fingerprint"], new_fingerprint);
    assert_ne!(new_fingerprint, fingerprint);
    let (status, body) = ask_with_keys(
        &server,
        &consumer,
        json!({"sealedQuestion": fresh(), "expertFingerprint": fingerprint}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "EXPERT_KEY_CHANGED");
    let (status, body) = ask_with_keys(
        &server,
        &consumer,
        json!({"sealedQuestion": fresh(), "expertFingerprint": new_fingerprint}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The earlier request keeps the keys it was sealed to.
    let list = messages(&server, &server.client_key, &id).await;
    assert_eq!(list["expertSignPubKey"], published.sign.to_hex());
    assert_eq!(list["expertEncryptPubKey"], published.encrypt.to_hex());
}

#[tokio::test]
async fn approval_decisions() {
    let server = common::spawn().await;
    let consumer = PartyKeys::generate();
    let approval = json!({"question": "May I run the migration?", "requiresApproval": true});

    // Denied through /approve.
    let (status, created) = ask_with_keys(&server, &consumer, approval.clone()).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let denied = created["requestId"].as_str().unwrap().to_owned();
    let events = feed(&server, &server.expert_key).await;
    assert_eq!(
        event(&events, "new_request", &denied).unwrap()["requiresApproval"],
        true
    );
    let approve = format!("/api/v1/approve/{denied}");
    let body = post_ok(
        &server,
        &approve,
        &server.expert_key,
        json!({"decision": "denied"}),
    )
    .await;
    assert_eq!(body["success"], true);
    assert_eq!(body["decision"], "denied");
    assert_eq!(body["refCode"], created["refCode"]);
    let body = help_status(&server, &denied).await;
    assert_eq!(body["status"], "responded");
    assert_eq!(body["approvalDecision"], "denied");
    // One-shot.
    let (status, body) = server
        .post(
            &approve,
            &server.expert_key,
            json!({"decision": "approved"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["decision"], "denied");
    // The marker message.
    let list = messages(&server, &server.client_key, &denied).await;
    let items = list["messages"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["ciphertext"], "denied");
    assert_eq!(items[0]["iv"], "");

    // /approve on a request that did not ask for approval → 400.
    let plain = server.ask_ok(&server.client_key, "Plain question").await;
    let (status, body) = server
        .post(
            &format!("/api/v1/approve/{plain}"),
            &server.expert_key,
            json!({"decision": "approved"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // An approval request that reaches its deadline undecided is expired, never approved.
    let (_, created) = ask_with_keys(&server, &consumer, approval.clone()).await;
    let late = created["requestId"].as_str().unwrap().to_owned();
    server.clock.advance(72 * HOUR_MS + 1);
    let body = help_status(&server, &late).await;
    assert_eq!(body["status"], "expired");
    assert!(body.get("approvalDecision").is_none(), "{body}");
    let (status, body) = server
        .post(
            &format!("/api/v1/approve/{late}"),
            &server.expert_key,
            json!({"decision": "approved"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let body = help_status(&server, &late).await;
    assert_eq!(body["status"], "expired");
    assert!(body.get("approvalDecision").is_none(), "{body}");

    // Approved through a message carrying approvalDecision.
    let (_, created) = ask_with_keys(&server, &consumer, approval).await;
    let approved = created["requestId"].as_str().unwrap().to_owned();
    post_ok(
        &server,
        &format!("/api/v1/message/{approved}"),
        &server.expert_key,
        json!({"from": "expert", "plaintext": "Go ahead.", "approvalDecision": "approved"}),
    )
    .await;
    let body = help_status(&server, &approved).await;
    assert_eq!(body["status"], "responded");
    assert_eq!(body["approvalDecision"], "approved");
    assert_eq!(body["response"], "Go ahead.");
    let (status, body) = server
        .post(
            &format!("/api/v1/approve/{approved}"),
            &server.expert_key,
            json!({"decision": "denied"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["decision"], "approved");
}

#[tokio::test]
async fn notification_mode() {
    let server = common::spawn().await;
    let consumer = PartyKeys::generate();
    let notify = json!({"question": "FYI: nightly backup done", "responseRequired": false});
    let (status, created) = ask_with_keys(&server, &consumer, notify.clone()).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["responseRequired"], false);
    assert_eq!(created["status"], "pending");
    let id = created["requestId"].as_str().unwrap().to_owned();

    let events = feed(&server, &server.expert_key).await;
    assert!(
        event(&events, "new_notification", &id).is_some(),
        "{events:?}"
    );
    assert!(event(&events, "new_request", &id).is_none(), "{events:?}");

    // No messages either way.
    let path = format!("/api/v1/message/{id}");
    for (key, from) in [
        (&server.expert_key, "expert"),
        (&server.client_key, "consumer"),
    ] {
        let (status, body) = server
            .post(&path, key, json!({"from": from, "plaintext": "hello"}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{from}: {body}");
        assert_eq!(body["code"], "NO_RESPONSE_REQUIRED");
    }
    // Closing a live notification does not apply.
    let (status, body) = server
        .post(
            &format!("/api/v1/close/{id}"),
            &server.client_key,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "NOT_APPLICABLE");

    // Acknowledged by the consumer.
    let ack = format!("/api/v1/acknowledge/{id}");
    let body = post_ok(&server, &ack, &server.client_key, json!({})).await;
    assert_eq!(body["success"], true);
    assert_eq!(body["status"], "acknowledged");
    assert!(body["acknowledgedAt"].is_string());
    let body = help_status(&server, &id).await;
    assert_eq!(body["status"], "acknowledged");
    let events = feed(&server, &server.client_key).await;
    assert!(
        event(&events, "notification_acknowledged", &id).is_some(),
        "{events:?}"
    );
    let events = feed(&server, &server.expert_key).await;
    assert!(
        event(&events, "new_notification", &id).is_none(),
        "{events:?}"
    );

    // /acknowledge on a normal request does not apply.
    let plain = server.ask_ok(&server.client_key, "A real question").await;
    let (status, body) = server
        .post(
            &format!("/api/v1/acknowledge/{plain}"),
            &server.client_key,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "NOT_APPLICABLE");

    // An unacknowledged notification expires after 7 days; the sweeper makes it visible.
    let (_, created) = ask_with_keys(&server, &consumer, notify).await;
    let unread = created["requestId"].as_str().unwrap().to_owned();
    server.clock.advance(7 * 24 * HOUR_MS + 1);
    let expired = heysummon_server::sweeper::sweep_once(&server.state)
        .await
        .unwrap();
    assert!(expired >= 1, "swept {expired}");
    let events = feed(&server, &server.client_key).await;
    assert!(
        event(&events, "notification_expired", &unread).is_some(),
        "{events:?}"
    );
    let body = help_status(&server, &unread).await;
    assert_eq!(body["status"], "expired");
    let (status, body) = server
        .post(
            &format!("/api/v1/acknowledge/{unread}"),
            &server.client_key,
            json!({}),
        )
        .await;
    assert_ne!(status, StatusCode::OK, "{body}");
    // The acknowledged one stays acknowledged.
    let body = help_status(&server, &id).await;
    assert_eq!(body["status"], "acknowledged");
}
