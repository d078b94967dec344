//! Expiry through the injected clock (lazy on read and by the sweeper), persistence across a
//! restart on the same SQLite file, and the confidentiality of sealed questions in the raw
//! database bytes (PROTOCOL A statuses/expiry, B2, B3, D rotation).

#![allow(clippy::unwrap_used)]

mod common;

use common::TestApp;
use heysummon_sdk::envelope::Channel;
use heysummon_sdk::keys::{PartyKeys, PublicKeys};
use heysummon_sdk::wire::EncryptedPayload;
use heysummon_server::audit::Actor;
use heysummon_server::provision::{self, ClientOptions};
use heysummon_server::sweeper::sweep_once;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const HOUR_MS: i64 = 3600 * 1000;
const TTL_MS: i64 = 72 * HOUR_MS;

/// `status` of `GET /api/v1/help/:id`, asserting 200.
async fn status_of(server: &TestApp, key: &str, id: &str) -> String {
    let (status, body) = server.get(&format!("/api/v1/help/{id}"), key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["status"].as_str().unwrap().to_owned()
}

/// The stored status, without any lazy expiry.
async fn stored_status(server: &TestApp, id: &str) -> String {
    let record = server.store.request(id).await.unwrap().unwrap();
    record.status.as_str().to_owned()
}

/// The expert's listing, id → status.
async fn listed(server: &TestApp, query: &str) -> Vec<(String, String)> {
    let path = format!("/api/v1/requests{query}");
    let (status, body) = server.get(&path, &server.expert_key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn ask_with(server: &TestApp, extra: Value) -> Value {
    let mut body = json!({
        "apiKey": server.client_key,
        "signPublicKey": "test-sign-key",
        "encryptPublicKey": "test-encrypt-key",
        "question": "a question",
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, body) = server
        .call(Method::POST, "/api/v1/help", None, Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_pending_request_expires_lazily_when_read() {
    let server = common::spawn().await;
    let (status, created) = server.ask(&server.client_key, "will it expire?").await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["expiresAt"], "2026-04-28T19:56:45.123Z");
    let id = created["requestId"].as_str().unwrap();

    server.clock.advance(TTL_MS - 1);
    assert_eq!(status_of(&server, &server.client_key, id).await, "pending");
    server.clock.advance(2);
    assert_eq!(
        stored_status(&server, id).await,
        "pending",
        "nobody read it yet"
    );
    assert_eq!(status_of(&server, &server.client_key, id).await, "expired");
    assert_eq!(stored_status(&server, id).await, "expired");
    // The approval decision of an approval request that ran out is never "approved".
    let (_, help) = server
        .get(&format!("/api/v1/help/{id}"), &server.client_key)
        .await;
    assert!(help.get("approvalDecision").is_none_or(Value::is_null));
}

#[tokio::test]
async fn the_sweeper_expires_requests_nobody_read() {
    let server = common::spawn().await;
    let a = server.ask_ok(&server.client_key, "a").await;
    let b = server.ask_ok(&server.client_key, "b").await;
    server.clock.advance(HOUR_MS);
    let later = server.ask_ok(&server.client_key, "later").await;

    assert_eq!(sweep_once(&server.state).await.unwrap(), 0);
    server.clock.advance(TTL_MS - HOUR_MS + 1);
    assert_eq!(sweep_once(&server.state).await.unwrap(), 2);
    assert_eq!(stored_status(&server, &a).await, "expired");
    assert_eq!(stored_status(&server, &b).await, "expired");
    assert_eq!(stored_status(&server, &later).await, "pending");
    // A second sweep finds nothing new.
    assert_eq!(sweep_once(&server.state).await.unwrap(), 0);

    let all = listed(&server, "").await;
    assert!(all.contains(&(a.clone(), "expired".into())), "{all:?}");
    assert!(all.contains(&(b.clone(), "expired".into())), "{all:?}");
    assert!(all.contains(&(later.clone(), "pending".into())), "{all:?}");
    let expired = listed(&server, "?status=expired").await;
    assert_eq!(expired.len(), 2, "{expired:?}");
    let pending = listed(&server, "?status=pending").await;
    assert_eq!(pending, vec![(later, "pending".into())]);
}

#[tokio::test]
async fn listing_by_status_sees_ttl_expiry_before_the_sweeper() {
    let server = common::spawn().await;
    let id = server.ask_ok(&server.client_key, "unswept").await;
    server.clock.advance(TTL_MS + 1);
    // Nobody swept or read it: a status filter must still report it as expired.
    assert_eq!(listed(&server, "?status=pending").await, vec![]);
    assert_eq!(
        listed(&server, "?status=expired").await,
        vec![(id, "expired".into())]
    );
}

#[tokio::test]
async fn messages_and_decisions_on_expired_requests_are_refused() {
    let server = common::spawn().await;
    let approval = ask_with(&server, json!({"requiresApproval": true})).await;
    let id = approval["requestId"].as_str().unwrap().to_owned();
    server.clock.advance(TTL_MS + 1);

    let path = format!("/api/v1/message/{id}");
    let closed = json!({"error": "Request is closed or expired"});
    let consumer = json!({"from": "consumer", "plaintext": "still there?"});
    let (status, body) = server.post(&path, &server.client_key, consumer).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, closed.clone()));
    let expert = json!({"from": "expert", "plaintext": "sorry, late"});
    let (status, body) = server.post(&path, &server.expert_key, expert).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, closed.clone()));
    let decision = json!({"from": "expert", "plaintext": "ok", "approvalDecision": "approved"});
    let (status, body) = server.post(&path, &server.expert_key, decision).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, closed.clone()));
    let encrypted = json!({"from": "consumer", "ciphertext": "AAAA", "iv": "AAAAAAAAAAAAAAAA",
        "authTag": "AAAAAAAAAAAAAAAAAAAAAA==", "signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "messageId": "m-1"});
    let (status, body) = server.post(&path, &server.client_key, encrypted).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, closed));

    let (status, body) = server
        .post(
            &format!("/api/v1/approve/{id}"),
            &server.expert_key,
            json!({"decision": "approved"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, help) = server
        .get(&format!("/api/v1/help/{id}"), &server.client_key)
        .await;
    assert_eq!(help["status"], "expired");
    assert!(
        help.get("approvalDecision").is_none_or(Value::is_null),
        "{help}"
    );
    let (_, messages) = server
        .get(&format!("/api/v1/messages/{id}"), &server.client_key)
        .await;
    assert_eq!(messages["messages"], json!([]), "{messages}");
}

#[tokio::test]
async fn every_live_status_expires_and_terminal_ones_stay() {
    let server = common::spawn().await;
    let key = server.client_key.clone();
    let expert = server.expert_key.clone();
    let pending = server.ask_ok(&key, "pending").await;
    let reviewing = server.ask_ok(&key, "reviewing").await;
    let (s, _) = server
        .get(&format!("/api/v1/messages/{reviewing}"), &expert)
        .await;
    assert_eq!(s, StatusCode::OK);
    let active = server.ask_ok(&key, "active").await;
    let keys = common::exchange_keys();
    let (s, b) = server
        .post(&format!("/api/v1/key-exchange/{active}"), &expert, keys)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let responded = server.ask_ok(&key, "responded").await;
    server.answer(&expert, &responded, "an answer").await;
    let closed = server.ask_ok(&key, "closed").await;
    let (s, b) = server
        .post(&format!("/api/v1/close/{closed}"), &key, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let note = ask_with(&server, json!({"responseRequired": false})).await;
    let acknowledged = note["requestId"].as_str().unwrap().to_owned();
    let (s, b) = server
        .post(
            &format!("/api/v1/acknowledge/{acknowledged}"),
            &key,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let note = ask_with(&server, json!({"responseRequired": false})).await;
    let notification = note["requestId"].as_str().unwrap().to_owned();
    assert_eq!(note["expiresAt"], "2026-05-02T19:56:45.123Z", "7 days");

    let live = [&pending, &reviewing, &active, &responded];
    for (id, expected) in live
        .iter()
        .zip(["pending", "reviewing", "active", "responded"])
    {
        assert_eq!(stored_status(&server, id).await, expected);
    }

    // Past 72 h: the sweeper expires the live help requests, not the notification (7 days).
    server.clock.advance(TTL_MS + 1);
    assert_eq!(sweep_once(&server.state).await.unwrap(), live.len());
    for id in live {
        assert_eq!(stored_status(&server, id).await, "expired", "{id}");
        assert_eq!(status_of(&server, &key, id).await, "expired");
    }
    assert_eq!(status_of(&server, &key, &closed).await, "closed");
    assert_eq!(
        status_of(&server, &key, &acknowledged).await,
        "acknowledged"
    );
    assert_eq!(status_of(&server, &key, &notification).await, "pending");

    // Past 7 days: the notification expires lazily; the terminal ones still do not.
    server.clock.advance(4 * 24 * HOUR_MS);
    assert_eq!(status_of(&server, &key, &notification).await, "expired");
    assert_eq!(sweep_once(&server.state).await.unwrap(), 0);
    assert_eq!(stored_status(&server, &closed).await, "closed");
    assert_eq!(stored_status(&server, &acknowledged).await, "acknowledged");
    assert_eq!(status_of(&server, &key, &closed).await, "closed");
    assert_eq!(
        status_of(&server, &key, &acknowledged).await,
        "acknowledged"
    );
}

#[tokio::test]
async fn a_configured_ttl_is_honoured() {
    let server = common::spawn_with(|c| {
        c.request_ttl_secs = 60;
        c.notification_ttl_secs = 120;
    })
    .await;
    let created = ask_with(&server, json!({})).await;
    assert_eq!(created["expiresAt"], "2026-04-25T19:57:45.123Z");
    let id = created["requestId"].as_str().unwrap().to_owned();
    let note = ask_with(&server, json!({"responseRequired": false})).await;
    assert_eq!(note["expiresAt"], "2026-04-25T19:58:45.123Z");
    let note = note["requestId"].as_str().unwrap().to_owned();

    server.clock.advance(59_999);
    assert_eq!(status_of(&server, &server.client_key, &id).await, "pending");
    server.clock.advance(1);
    assert_eq!(status_of(&server, &server.client_key, &id).await, "expired");
    assert_eq!(
        status_of(&server, &server.client_key, &note).await,
        "pending"
    );
    server.clock.advance(60_000);
    assert_eq!(sweep_once(&server.state).await.unwrap(), 1);
    assert_eq!(stored_status(&server, &note).await, "expired");
}

/// Everything a key and a request look like from outside, to compare across a restart.
async fn snapshot(server: &TestApp, owned: &[(&str, &str)], keys: &[&str]) -> Value {
    let mut out = serde_json::Map::new();
    for (key, id) in owned {
        let (s1, help) = server.get(&format!("/api/v1/help/{id}"), key).await;
        let (s2, messages) = server.get(&format!("/api/v1/messages/{id}"), key).await;
        assert_eq!(
            (s1, s2),
            (StatusCode::OK, StatusCode::OK),
            "{help} {messages}"
        );
        out.insert(format!("help {id}"), help);
        out.insert(format!("messages {id}"), messages);
    }
    for key in keys {
        let (status, whoami) = server.get("/api/v1/whoami", key).await;
        assert_eq!(status, StatusCode::OK, "{whoami}");
        out.insert(format!("whoami {}", whoami["keyId"]), whoami);
    }
    let (_, list) = server.get("/api/v1/requests", &server.expert_key).await;
    out.insert("requests".into(), list);
    Value::Object(out)
}

#[tokio::test]
async fn everything_survives_a_restart() {
    let server = common::spawn().await;
    let key = server.client_key.clone();
    let expert = server.expert_key.clone();

    // A conversation: question, consumer and expert messages, then a rating.
    let talk = server.ask_ok(&key, "how do I migrate?").await;
    let path = format!("/api/v1/message/{talk}");
    let more = json!({"from": "consumer", "plaintext": "more context", "messageId": "c-1"});
    let (s, b) = server.post(&path, &key, more).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    server
        .answer(&expert, &talk, "run the migration twice")
        .await;
    let rate = json!({"rating": 5, "feedback": "great"});
    let (s, b) = server
        .post(&format!("/api/v1/rate/{talk}"), &key, rate)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Approvals: one by /approve, one by a message carrying the decision.
    let approved = ask_with(&server, json!({"requiresApproval": true})).await;
    let approved = approved["requestId"].as_str().unwrap().to_owned();
    let (s, b) = server
        .post(
            &format!("/api/v1/approve/{approved}"),
            &expert,
            json!({"decision": "approved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let denied = ask_with(&server, json!({"requiresApproval": true})).await;
    let denied = denied["requestId"].as_str().unwrap().to_owned();
    let deny = json!({"from": "expert", "plaintext": "no", "approvalDecision": "denied"});
    let (s, b) = server
        .post(&format!("/api/v1/message/{denied}"), &expert, deny)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let closed = server.ask_ok(&key, "to be closed").await;
    let (s, _) = server
        .post(&format!("/api/v1/close/{closed}"), &key, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let waiting = server.ask_ok(&key, "still waiting").await;
    // Idempotent creation (B2).
    let idem_body = json!({"apiKey": key, "signPublicKey": "s", "encryptPublicKey": "e",
        "question": "idempotent"});
    let idem = |server: &TestApp| {
        server
            .http
            .post(server.url("/api/v1/help"))
            .header("idempotency-key", "restart-idem-1")
            .json(&idem_body)
    };
    let first: Value = idem(&server).send().await.unwrap().json().await.unwrap();

    // An extra client key, a rotated one, a revoked one.
    let (_, extra) = server
        .client_key_for(
            &server.expert_id,
            ClientOptions {
                name: Some("extra".into()),
                ..ClientOptions::default()
            },
        )
        .await;
    let extra_request = server.ask_ok(&extra, "from the extra key").await;
    let (rotating_id, old_key) = server
        .client_key_for(&server.expert_id, ClientOptions::default())
        .await;
    let rotated_request = server.ask_ok(&old_key, "before rotation").await;
    let rotated =
        provision::rotate_client(&server.store, &server.clock, Actor::Admin, &rotating_id)
            .await
            .unwrap();
    let new_key = rotated.client_key.clone();
    assert_ne!(new_key, old_key);
    let (revoked_id, revoked_key) = server
        .client_key_for(&server.expert_id, ClientOptions::default())
        .await;
    provision::revoke_client(&server.store, &server.clock, Actor::Admin, &revoked_id)
        .await
        .unwrap();

    let owned = [
        (key.as_str(), talk.as_str()),
        (key.as_str(), approved.as_str()),
        (key.as_str(), denied.as_str()),
        (key.as_str(), closed.as_str()),
        (key.as_str(), waiting.as_str()),
        (extra.as_str(), extra_request.as_str()),
        (new_key.as_str(), rotated_request.as_str()),
        (old_key.as_str(), rotated_request.as_str()),
    ];
    let keys = [
        key.as_str(),
        extra.as_str(),
        new_key.as_str(),
        old_key.as_str(),
    ];
    let before = snapshot(&server, &owned, &keys).await;
    assert_eq!(before[format!("help {talk}")]["status"], "responded");
    assert_eq!(
        before[format!("help {approved}")]["approvalDecision"],
        "approved"
    );
    assert_eq!(
        before[format!("help {denied}")]["approvalDecision"],
        "denied"
    );

    let server = server.restart().await;
    let after = snapshot(&server, &owned, &keys).await;
    assert_eq!(before, after);

    // Decisions, ratings and idempotency records are still there.
    let (s, b) = server
        .post(
            &format!("/api/v1/approve/{approved}"),
            &expert,
            json!({"decision": "denied"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["decision"], "approved");
    let rate = json!({"rating": 1});
    let (s, b) = server
        .post(&format!("/api/v1/rate/{talk}"), &key, rate)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["existingRating"], 5);
    let again: Value = idem(&server).send().await.unwrap().json().await.unwrap();
    assert_eq!(again["requestId"], first["requestId"]);
    let dup = json!({"from": "consumer", "plaintext": "more context", "messageId": "c-1"});
    let (s, b) = server.post(&path, &key, dup).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["duplicate"], true, "{b}");
    // Everything still works after the restart.
    server
        .answer(&expert, &waiting, "answered after restart")
        .await;
    assert_eq!(status_of(&server, &key, &waiting).await, "responded");
    server.ask_ok(&extra, "extra after restart").await;
    let (s, b) = server.ask(&revoked_key, "revoked").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");

    // The rotated-out key works for 24 h after the rotation, then not.
    server.ask_ok(&old_key, "within grace").await;
    server.clock.advance(24 * HOUR_MS + 1000);
    let (s, b) = server.ask(&old_key, "after grace").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert_eq!(b["error"], "Invalid or inactive API key");
    let (s, _) = server
        .get(&format!("/api/v1/help/{rotated_request}"), &old_key)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    server.ask_ok(&new_key, "new key after grace").await;
    assert_eq!(
        status_of(&server, &new_key, &rotated_request).await,
        "pending"
    );
}

const QUESTION: &str = "the-secret-question-7f3a: may I rotate the prod credentials?";
const ANSWER: &str = "the-secret-answer-c91e: yes, after the backup";
const CONTROL: &str = "the-plaintext-control-5b2d";

/// Whether any of the database's files (main, `-wal`, `-shm`) holds `needle`.
fn database_contains(db: &std::path::Path, needle: &str) -> bool {
    ["", "-wal", "-shm"].iter().any(|suffix| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        std::fs::read(std::path::PathBuf::from(name)).is_ok_and(|bytes| {
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
    })
}

#[tokio::test]
async fn sealed_questions_and_answers_never_reach_the_database_in_plaintext() {
    let mut server = common::spawn().await;
    let expert_keys = PartyKeys::generate();
    let published = expert_keys.public();
    let body = json!({"signPublicKey": published.sign.to_hex(),
        "encryptPublicKey": published.encrypt.to_hex()});
    let (s, b) = server
        .call(
            Method::PUT,
            "/api/v1/expert/keys",
            Some(&server.expert_key),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let fingerprint = b["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(fingerprint, published.fingerprint().to_string());

    // The consumer seals the question to the expert's published keys.
    let consumer = PartyKeys::generate();
    let to_expert = Channel::new(&consumer, &published).unwrap();
    let sealed = to_expert.seal(QUESTION, None).unwrap();
    let created = ask_with(
        &server,
        json!({
            "question": null,
            "signPublicKey": consumer.public().sign.to_hex(),
            "encryptPublicKey": consumer.public().encrypt.to_hex(),
            "sealedQuestion": sealed,
            "expertFingerprint": fingerprint,
        }),
    )
    .await;
    let id = created["requestId"].as_str().unwrap().to_owned();

    // The expert reads the consumer's keys and the sealed question, and answers sealed.
    let (s, thread) = server
        .get(&format!("/api/v1/messages/{id}"), &server.expert_key)
        .await;
    assert_eq!(s, StatusCode::OK, "{thread}");
    assert_eq!(thread["status"], "active");
    let consumer_public = PublicKeys::parse(
        thread["consumerSignPubKey"].as_str().unwrap(),
        thread["consumerEncryptPubKey"].as_str().unwrap(),
    )
    .unwrap();
    let to_consumer = Channel::new(&expert_keys, &consumer_public).unwrap();
    let first: EncryptedPayload = serde_json::from_value(thread["messages"][0].clone()).unwrap();
    assert_eq!(to_consumer.open(&first).unwrap(), QUESTION);
    let reply = to_consumer.seal(ANSWER, None).unwrap();
    let mut reply = serde_json::to_value(&reply).unwrap();
    reply["from"] = json!("expert");
    let (s, b) = server
        .post(&format!("/api/v1/message/{id}"), &server.expert_key, reply)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // The consumer opens the answer; the server offers no plaintext of it.
    let (_, thread) = server
        .get(&format!("/api/v1/messages/{id}"), &server.client_key)
        .await;
    let answer: EncryptedPayload = serde_json::from_value(thread["messages"][1].clone()).unwrap();
    assert_eq!(to_expert.open(&answer).unwrap(), ANSWER);
    let (_, help) = server
        .get(&format!("/api/v1/help/{id}"), &server.client_key)
        .await;
    assert_eq!(help["status"], "responded");
    assert!(help.get("response").is_none_or(Value::is_null), "{help}");
    assert!(!thread.to_string().contains("the-secret"));

    // A plaintext control, to prove the scan finds what is there.
    let control = server.ask_ok(&server.client_key, CONTROL).await;
    server
        .answer(&server.expert_key, &control, "control-answer-e4f0")
        .await;

    // While the store is still open (with SQLite, data may sit in the WAL)…
    server.stop().await;
    for secret in SECRETS {
        assert!(
            !server.database_contains(secret.as_bytes()).await,
            "{secret:?} found"
        );
    }
    assert!(
        server.database_contains(CONTROL.as_bytes()).await,
        "control missing"
    );
    assert!(server.database_contains(b"control-answer-e4f0").await);
    // … and, with SQLite, after its files closed.
    if !heysummon_server::testing::postgres::suite_on_postgres() {
        let db = server.db_path.clone();
        let _dir = server.dir.clone();
        drop(server);
        for secret in SECRETS {
            assert!(!database_contains(&db, secret), "closed: {secret:?} found");
        }
        assert!(database_contains(&db, CONTROL), "closed: control missing");
    }
}

/// What must never be stored in the clear.
const SECRETS: [&str; 4] = [
    QUESTION,
    ANSWER,
    "the-secret-question-7f3a",
    "the-secret-answer",
];
