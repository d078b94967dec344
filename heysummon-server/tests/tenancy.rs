//! Tenancy (PROTOCOL A, STRICTER): a client key acts only on the requests it created, an expert
//! key only on requests routed to it, every "not yours" answer is byte-identical to "does not
//! exist", and client keys cannot call expert-only endpoints nor expert keys client-only ones.

#![allow(clippy::unwrap_used)]

mod common;

use common::TestApp;
use heysummon_sdk::keys::PartyKeys;
use heysummon_sdk::wire::RefCode;
use heysummon_server::ids::new_id;
use heysummon_server::provision::ClientOptions;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An answer as it went over the wire: status, content type, body bytes.
type Raw = (StatusCode, Option<String>, String);

async fn raw(server: &TestApp, method: Method, path: &str, key: &str, body: Option<Value>) -> Raw {
    let mut request = server
        .http
        .request(method, server.url(path))
        .header("x-api-key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, content_type, response.text().await.unwrap())
}

/// Everything an intruder tries on a request.
#[derive(Clone, Copy, Debug)]
enum Op {
    Status,
    Messages,
    ByRef,
    Message,
    Close,
    Rate,
    Acknowledge,
    Timeout,
    KeyExchange,
    Approve,
    EventsAck,
}

const OPS: [Op; 11] = [
    Op::Status,
    Op::Messages,
    Op::ByRef,
    Op::Message,
    Op::Close,
    Op::Rate,
    Op::Acknowledge,
    Op::Timeout,
    Op::KeyExchange,
    Op::Approve,
    Op::EventsAck,
];

/// A request's id and reference code.
#[derive(Clone, Debug)]
struct Target {
    id: String,
    ref_code: String,
}

impl Target {
    fn from_created(created: &Value) -> Self {
        Self {
            id: created["requestId"].as_str().unwrap().to_owned(),
            ref_code: created["refCode"].as_str().unwrap().to_owned(),
        }
    }

    /// A request that does not exist.
    fn unknown() -> Self {
        Self {
            id: new_id(),
            ref_code: RefCode::random().as_str().to_owned(),
        }
    }
}

/// The HTTP call of an operation on a target; `from` is the caller's role.
fn call_of(op: Op, target: &Target, from: &str) -> (Method, String, Option<Value>) {
    let id = &target.id;
    let keys = PartyKeys::generate().public();
    match op {
        Op::Status => (Method::GET, format!("/api/v1/help/{id}"), None),
        Op::Messages => (Method::GET, format!("/api/v1/messages/{id}"), None),
        Op::ByRef => (
            Method::GET,
            format!("/api/v1/requests/by-ref/{}", target.ref_code),
            None,
        ),
        Op::Message => (
            Method::POST,
            format!("/api/v1/message/{id}"),
            Some(json!({"from": from, "plaintext": "let me in"})),
        ),
        Op::Close => (Method::POST, format!("/api/v1/close/{id}"), Some(json!({}))),
        Op::Rate => (
            Method::POST,
            format!("/api/v1/rate/{id}"),
            Some(json!({"rating": 1, "feedback": "not mine"})),
        ),
        Op::Acknowledge => (
            Method::POST,
            format!("/api/v1/acknowledge/{id}"),
            Some(json!({})),
        ),
        Op::Timeout => (
            Method::POST,
            format!("/api/v1/help/{id}/timeout"),
            Some(json!({})),
        ),
        Op::KeyExchange => (
            Method::POST,
            format!("/api/v1/key-exchange/{id}"),
            Some(json!({
                "signPublicKey": keys.sign.to_hex(),
                "encryptPublicKey": keys.encrypt.to_hex(),
            })),
        ),
        Op::Approve => (
            Method::POST,
            format!("/api/v1/approve/{id}"),
            Some(json!({"decision": "approved"})),
        ),
        Op::EventsAck => (
            Method::POST,
            format!("/api/v1/events/ack/{id}"),
            Some(json!({})),
        ),
    }
}

/// Tries an operation on a real request and on one that does not exist; both must fail with
/// the very same status, content type and body bytes.
async fn assert_not_yours(
    server: &TestApp,
    who: &str,
    key: &str,
    from: &str,
    op: Op,
    target: &Target,
) {
    let (method, path, body) = call_of(op, target, from);
    let real = raw(server, method, &path, key, body).await;
    let (method, path, body) = call_of(op, &Target::unknown(), from);
    let fake = raw(server, method, &path, key, body).await;
    assert!(
        !real.0.is_success(),
        "{who} {op:?} on someone else's request succeeded: {real:?}"
    );
    assert_eq!(
        real, fake,
        "{who} {op:?}: 'not yours' differs from 'does not exist'"
    );
}

fn ids_in(list: &[Value], member: &str) -> Vec<String> {
    list.iter()
        .filter_map(|item| item[member].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn other_tenants_and_sibling_keys_cannot_touch_a_request() {
    let server = common::spawn().await;
    let bob = server.tenant("Bob").await;
    let (_, sibling) = server
        .client_key_for(&server.expert_id, ClientOptions::default())
        .await;

    // Three requests of A's primary client key: answered, awaiting approval, a notification.
    let consumer = PartyKeys::generate().public();
    let create = |extra: Value| {
        let mut body = json!({
            "apiKey": server.client_key,
            "signPublicKey": consumer.sign.to_hex(),
            "encryptPublicKey": consumer.encrypt.to_hex(),
            "question": "Is this mine?",
        });
        for (name, value) in extra.as_object().unwrap() {
            body[name] = value.clone();
        }
        server.call(Method::POST, "/api/v1/help", None, Some(body))
    };
    let (status, created) = create(json!({})).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let answered = Target::from_created(&created);
    server
        .answer(&server.expert_key, &answered.id, "Yes, yours.")
        .await;
    let (status, created) = create(json!({"requiresApproval": true})).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let approval = Target::from_created(&created);
    let (status, created) = create(json!({"responseRequired": false})).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let notification = Target::from_created(&created);
    let targets = [&answered, &approval, &notification];
    let all_ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();

    let intruders = [
        ("B's client key", bob.client_key.as_str(), "consumer"),
        ("B's expert key", bob.expert_key.as_str(), "expert"),
        ("A's sibling client key", sibling.as_str(), "consumer"),
    ];
    for (who, key, from) in intruders {
        for target in targets {
            for op in OPS {
                assert_not_yours(&server, who, key, from, op, target).await;
            }
        }

        // Nothing of A's shows up in the intruder's feed or listing.
        let (status, body) = server.get("/api/v1/events/pending", key).await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        let seen = ids_in(body["events"].as_array().unwrap(), "requestId");
        assert!(
            all_ids.iter().all(|id| !seen.iter().any(|s| s == id)),
            "{who} sees {seen:?}"
        );
        let (status, body) = server.get("/api/v1/requests", key).await;
        if from == "expert" {
            assert_eq!(status, StatusCode::OK, "{who}: {body}");
            let listed = ids_in(body["requests"].as_array().unwrap(), "id");
            assert!(listed.is_empty(), "{who} lists {listed:?}");
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{who}: {body}");
        }
    }

    // A's request is unchanged after all that.
    let (status, body) = server
        .get(&format!("/api/v1/help/{}", answered.id), &server.client_key)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "responded");
    assert_eq!(body["response"], "Yes, yours.");
    let (status, body) = server
        .get(
            &format!("/api/v1/messages/{}", answered.id),
            &server.client_key,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "responded");
    assert_eq!(body["messages"].as_array().unwrap().len(), 1, "{body}");
    assert!(body["expertSignPubKey"].is_null(), "{body}");

    let (_, body) = server
        .get(
            &format!("/api/v1/messages/{}", approval.id),
            &server.client_key,
        )
        .await;
    assert_eq!(body["status"], "pending", "{body}");
    assert!(body["messages"].as_array().unwrap().is_empty(), "{body}");
    assert!(body["expertSignPubKey"].is_null(), "{body}");
    let (_, body) = server
        .get(&format!("/api/v1/help/{}", approval.id), &server.client_key)
        .await;
    assert!(body.get("approvalDecision").is_none(), "{body}");
    let (_, body) = server
        .get(
            &format!("/api/v1/help/{}", notification.id),
            &server.client_key,
        )
        .await;
    assert_eq!(body["status"], "pending", "{body}");

    // No intruder's ack hid anything from the owners' feeds.
    let (_, body) = server
        .get("/api/v1/events/pending", &server.expert_key)
        .await;
    let events = body["events"].as_array().unwrap();
    let has = |kind: &str, id: &str| {
        events
            .iter()
            .any(|e| e["type"] == kind && e["requestId"] == id)
    };
    assert!(has("new_request", &approval.id), "{body}");
    assert!(has("new_notification", &notification.id), "{body}");
    let (_, body) = server
        .get("/api/v1/events/pending", &server.client_key)
        .await;
    let events = body["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "new_message" && e["requestId"] == answered.id.as_str()),
        "{body}"
    );

    // The owners' one-shot actions still work, so no intruder used them up.
    let (status, body) = server
        .post(
            &format!("/api/v1/rate/{}", answered.id),
            &server.client_key,
            json!({"rating": 4}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server
        .post(
            &format!("/api/v1/help/{}/timeout", approval.id),
            &server.client_key,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["timeoutFallback"], "proceed_cautiously", "{body}");
    let expert_keys = PartyKeys::generate().public();
    let (status, body) = server
        .post(
            &format!("/api/v1/key-exchange/{}", approval.id),
            &server.expert_key,
            json!({
                "signPublicKey": expert_keys.sign.to_hex(),
                "encryptPublicKey": expert_keys.encrypt.to_hex(),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server
        .post(
            &format!("/api/v1/approve/{}", approval.id),
            &server.expert_key,
            json!({"decision": "denied"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server
        .post(
            &format!("/api/v1/acknowledge/{}", notification.id),
            &server.client_key,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The assigned expert may read the messages, look the request up, and close it.
    let (status, body) = server
        .get(
            &format!("/api/v1/messages/{}", answered.id),
            &server.expert_key,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    let (status, body) = server
        .get(
            &format!("/api/v1/requests/by-ref/{}", answered.ref_code),
            &server.expert_key,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["requestId"], answered.id.as_str());
    let (status, body) = server
        .post(
            &format!("/api/v1/close/{}", answered.id),
            &server.expert_key,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "closed");
    assert_eq!(body["previousStatus"], "responded");
    // And the owner's view agrees.
    let (_, body) = server
        .get(&format!("/api/v1/help/{}", answered.id), &server.client_key)
        .await;
    assert_eq!(body["status"], "closed");
}

#[tokio::test]
async fn roles_are_kept_apart() {
    let server = common::spawn().await;
    let id = server.ask_ok(&server.client_key, "A question").await;
    let keys = PartyKeys::generate().public();
    let key_body = json!({
        "signPublicKey": keys.sign.to_hex(),
        "encryptPublicKey": keys.encrypt.to_hex(),
    });

    // A client key on expert-only endpoints → 401.
    let expert_only = [
        (
            Method::POST,
            format!("/api/v1/approve/{id}"),
            Some(json!({"decision": "approved"})),
        ),
        (
            Method::POST,
            format!("/api/v1/key-exchange/{id}"),
            Some(key_body.clone()),
        ),
        (Method::GET, "/api/v1/requests".to_owned(), None),
        (
            Method::PUT,
            "/api/v1/expert/keys".to_owned(),
            Some(key_body),
        ),
    ];
    for (method, path, body) in expert_only {
        let (status, answer) = server
            .call(method.clone(), &path, Some(&server.client_key), body)
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "client key on {method} {path}: {answer}"
        );
        assert!(answer["error"].is_string(), "{answer}");
    }

    // An expert key on client-only endpoints → 401.
    let client_only = [
        (Method::GET, format!("/api/v1/help/{id}"), None),
        (
            Method::POST,
            format!("/api/v1/rate/{id}"),
            Some(json!({"rating": 5})),
        ),
        (Method::GET, "/api/v1/whoami".to_owned(), None),
        (
            Method::POST,
            format!("/api/v1/help/{id}/timeout"),
            Some(json!({})),
        ),
        (Method::GET, "/api/v1/experts".to_owned(), None),
    ];
    for (method, path, body) in client_only {
        let (status, answer) = server
            .call(method.clone(), &path, Some(&server.expert_key), body)
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "expert key on {method} {path}: {answer}"
        );
        assert!(answer["error"].is_string(), "{answer}");
    }

    // The request is untouched: still pending, no keys, no timeout reported.
    let (_, body) = server
        .get(&format!("/api/v1/messages/{id}"), &server.client_key)
        .await;
    assert_eq!(body["status"], "pending", "{body}");
    assert!(body["expertSignPubKey"].is_null(), "{body}");
    let (_, body) = server
        .post(
            &format!("/api/v1/help/{id}/timeout"),
            &server.client_key,
            json!({}),
        )
        .await;
    assert_eq!(body["timeoutFallback"], "proceed_cautiously", "{body}");
    // The expert's published keys were not set by the client key.
    let (_, body) = server.get("/api/v1/experts", &server.client_key).await;
    assert!(body["experts"][0]["fingerprint"].is_null(), "{body}");
}

#[tokio::test]
async fn experts_listing_is_per_tenant() {
    let server = common::spawn().await;
    let bob = server.tenant("Bob").await;
    let (_, sibling) = server
        .client_key_for(&server.expert_id, ClientOptions::default())
        .await;

    let (status, body) = server.get("/api/v1/experts", &bob.client_key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let experts = body["experts"].as_array().unwrap();
    assert_eq!(ids_in(experts, "id"), vec![bob.expert_id.clone()], "{body}");

    for key in [&server.client_key, &sibling] {
        let (status, body) = server.get("/api/v1/experts", key).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let experts = body["experts"].as_array().unwrap();
        assert_eq!(
            ids_in(experts, "id"),
            vec![server.expert_id.clone()],
            "{body}"
        );
    }

    // whoami names the key's own expert.
    let (status, body) = server.get("/api/v1/whoami", &bob.client_key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expert"]["id"], bob.expert_id.as_str());
}
