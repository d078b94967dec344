//! PROTOCOL H4 on the server: the action an approval request carries, its hash, and the
//! expert's signed decision, checked before it is stored and reported as it was signed. The
//! agent's own check (it trusts none of this) is in the workspace's SDK tests.

#![allow(clippy::unwrap_used)]

mod common;

use common::TestApp;
use heysummon_sdk::decision::{DecisionStatement, action_hash};
use heysummon_sdk::keys::{PartyKeys, SigningKeyPair};
use heysummon_sdk::wire::{ApprovalDecision, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The server's time (the suite's servers run on a manual clock).
fn server_now(server: &TestApp) -> Timestamp {
    Timestamp::from_unix_millis(server.clock.now()).unwrap()
}

/// Publishes a fresh identity for the first tenant's expert.
async fn publish(server: &TestApp) -> PartyKeys {
    let identity = PartyKeys::generate();
    let public = identity.public();
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/v1/expert/keys",
            Some(&server.expert_key),
            Some(json!({
                "signPublicKey": public.sign.to_hex(),
                "encryptPublicKey": public.encrypt.to_hex(),
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    identity
}

/// Creates a plaintext approval request with these extra members; the answer.
async fn approval(server: &TestApp, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({
        "apiKey": server.client_key,
        "signPublicKey": "test-sign-key",
        "encryptPublicKey": "test-encrypt-key",
        "question": "May I deploy?",
        "requiresApproval": true,
    });
    for (name, value) in extra.as_object().unwrap() {
        body[name] = value.clone();
    }
    server
        .call(Method::POST, "/api/v1/help", None, Some(body))
        .await
}

/// `POST /api/v1/approve/{id}` as the expert.
async fn approve(server: &TestApp, id: &str, body: Value) -> (StatusCode, Value) {
    server
        .post(&format!("/api/v1/approve/{id}"), &server.expert_key, body)
        .await
}

/// A signed `/approve` body.
fn signed(
    key: &SigningKeyPair,
    request_id: &str,
    decision: ApprovalDecision,
    hash: Option<&str>,
    at: Timestamp,
) -> Value {
    let statement = DecisionStatement {
        request_id,
        decision,
        action_hash: hash,
        edited_action_hash: None,
        decided_at_ms: at.unix_millis(),
    };
    let mut body = json!({
        "decision": decision.as_str(),
        "decisionSignature": statement.sign(key),
        "decidedAt": at.to_string(),
    });
    if let Some(hash) = hash {
        body["actionHash"] = json!(hash);
    }
    body
}

#[tokio::test]
async fn a_signed_decision_over_the_action_is_stored_and_reported_as_signed() {
    let server = common::spawn().await;
    let identity = publish(&server).await;
    let action = json!({"tool": "deploy", "args": {"env": "prod", "replicas": 3}});
    let (status, created) = approval(&server, json!({ "action": action })).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["requestId"].as_str().unwrap();
    let hash = action_hash(&action).unwrap();

    // The expert sees the action and its hash.
    let (_, conversation) = server
        .get(&format!("/api/v1/messages/{id}"), &server.expert_key)
        .await;
    assert_eq!(conversation["action"], action);
    assert_eq!(conversation["actionHash"], hash);
    let (_, listed) = server.get("/api/v1/requests", &server.expert_key).await;
    assert_eq!(listed["requests"][0]["action"], action);

    let at = server_now(&server);
    let body = signed(
        &identity.sign,
        id,
        ApprovalDecision::Approved,
        Some(&hash),
        at,
    );
    let (status, answer) = approve(&server, id, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    let (_, reported) = server
        .get(&format!("/api/v1/help/{id}"), &server.client_key)
        .await;
    assert_eq!(reported["approvalDecision"], "approved");
    let statement = DecisionStatement {
        request_id: id,
        decision: ApprovalDecision::Approved,
        action_hash: Some(&hash),
        edited_action_hash: None,
        decided_at_ms: Timestamp::parse(reported["decidedAt"].as_str().unwrap())
            .unwrap()
            .unix_millis(),
    };
    let signature = reported["decisionSignature"].as_str().unwrap();
    assert!(statement.verify(&identity.sign.public(), signature));
    assert_eq!(statement.decided_at_ms, at.unix_millis());

    // The audit log says the decision was signed.
    let entries = server.store.audit_entries_about(id).await.unwrap();
    let decision = entries.iter().find(|e| e.kind == "decision").unwrap();
    let details: Value = serde_json::from_str(&decision.details).unwrap();
    assert_eq!(details, json!({"decision": "approved", "signed": true}));
}

#[tokio::test]
async fn a_decision_signature_that_does_not_verify_is_refused_and_nothing_changes() {
    let server = common::spawn().await;
    let identity = publish(&server).await;
    let action = json!({"tool": "rm", "args": ["-rf", "/srv/data"]});
    let (_, created) = approval(&server, json!({ "action": action })).await;
    let id = created["requestId"].as_str().unwrap().to_owned();
    let (_, other) = approval(&server, json!({})).await;
    let other_id = other["requestId"].as_str().unwrap().to_owned();
    let hash = action_hash(&action).unwrap();
    let other_hash = action_hash(&json!({"tool": "rm", "args": ["-rf", "/tmp/x"]})).unwrap();
    let at = server_now(&server);
    let approved = ApprovalDecision::Approved;

    let mut no_time = signed(&identity.sign, &id, approved, Some(&hash), at);
    no_time.as_object_mut().unwrap().remove("decidedAt");
    let mut later = signed(&identity.sign, &id, approved, Some(&hash), at);
    later["decidedAt"] = json!(at.plus_millis(1).to_string());
    let mut garbage = signed(&identity.sign, &id, approved, Some(&hash), at);
    garbage["decisionSignature"] = json!("not a signature");
    let refused = [
        // By a key that is not the expert's published one.
        signed(&SigningKeyPair::generate(), &id, approved, Some(&hash), at),
        // Over another action, claimed as this request's.
        signed(&identity.sign, &id, approved, Some(&other_hash), at),
        // Over no action at all.
        signed(&identity.sign, &id, approved, None, at),
        // Over another request.
        signed(&identity.sign, &other_id, approved, Some(&hash), at),
        // Over the other decision.
        {
            let mut body = signed(
                &identity.sign,
                &id,
                ApprovalDecision::Denied,
                Some(&hash),
                at,
            );
            body["decision"] = json!("approved");
            body
        },
        no_time,
        later,
        garbage,
    ];
    for body in refused {
        let (status, error) = approve(&server, &id, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {error}");
        assert_eq!(error["code"], "DECISION_SIGNATURE_INVALID", "{error}");
    }
    let (_, status) = server
        .get(&format!("/api/v1/help/{id}"), &server.client_key)
        .await;
    assert!(status.get("approvalDecision").is_none(), "{status}");

    // An unsigned decision is still taken (HeySummon v1): agents decide whether it counts.
    let (status, _) = approve(&server, &other_id, json!({"decision": "denied"})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, reported) = server
        .get(&format!("/api/v1/help/{other_id}"), &server.client_key)
        .await;
    assert_eq!(reported["approvalDecision"], "denied");
    assert!(reported.get("decisionSignature").is_none());
}

#[tokio::test]
async fn an_approval_that_could_be_signed_is_refused_unsigned_and_decisions_are_fresh() {
    let server = common::spawn().await;
    let identity = publish(&server).await;
    let action = json!({"tool": "deploy"});
    let (_, created) = approval(&server, json!({ "action": action })).await;
    let id = created["requestId"].as_str().unwrap();
    let hash = action_hash(&action).unwrap();
    // Unsigned, by the API or inside a message: refused, and the decision is still open.
    let (status, error) = approve(&server, id, json!({"decision": "approved"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["code"], "DECISION_SIGNATURE_REQUIRED");
    // Signed long ago, or in the future: refused.
    let hour = 3_600_000;
    for at in [
        server_now(&server).plus_millis(-hour),
        server_now(&server).plus_millis(hour),
    ] {
        let body = signed(
            &identity.sign,
            id,
            ApprovalDecision::Approved,
            Some(&hash),
            at,
        );
        let (status, error) = approve(&server, id, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
        assert_eq!(error["code"], "DECISION_SIGNATURE_INVALID");
    }
    // An unsigned denial is taken: acting on it is safe.
    let (status, _) = approve(&server, id, json!({"decision": "denied"})).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_expert_without_published_keys_cannot_sign() {
    let server = common::spawn().await;
    let (_, created) = approval(&server, json!({})).await;
    let id = created["requestId"].as_str().unwrap();
    let body = signed(
        &SigningKeyPair::generate(),
        id,
        ApprovalDecision::Approved,
        None,
        server_now(&server),
    );
    let (status, error) = approve(&server, id, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["code"], "EXPERT_KEYS_UNPUBLISHED");
}

#[tokio::test]
async fn actions_are_checked_when_a_request_is_made() {
    let server = common::spawn().await;
    let action = json!({"tool": "deploy"});
    let hash = action_hash(&action).unwrap();
    let cases = [
        (
            json!({ "action": action, "requiresApproval": false }),
            "requiresApproval",
        ),
        (
            json!({ "action": action, "actionHash": "00".repeat(32) }),
            "actionHash",
        ),
        (json!({ "actionHash": "ABC" }), "actionHash"),
        (json!({ "actionHash": hash.to_uppercase() }), "actionHash"),
        (json!({ "action": {"blob": "x".repeat(70_000)} }), "65536"),
    ];
    for (extra, says) in cases {
        let (status, error) = approval(&server, extra.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{extra}");
        assert!(
            error["details"].as_str().unwrap_or_default().contains(says),
            "{extra} → {error}"
        );
    }
    // A hash alone belongs to a sealed question: beside a plaintext one nobody sees its action.
    let (status, error) = approval(&server, json!({ "actionHash": hash })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    // A card number in the action is refused as in the question.
    let card = json!({"tool": "pay", "args": {"card": "4111 1111 1111 1111"}});
    let (status, error) = approval(&server, json!({ "action": card })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    // With its correct hash it is taken.
    let (status, created) =
        approval(&server, json!({ "action": action, "actionHash": hash })).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(server.request_count().await, 1);
}
