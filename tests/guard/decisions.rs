//! Decisions only the expert can make (PROTOCOL H4) for an agent without cryptography: a
//! HeySummon v1 client whose questions the guard seals reads the status through the guard,
//! which passes on an approval only when the expert signed it.

use std::time::Duration;

use crate::common::{GuardHandle, TestApp, expert, get, post};
use heysummon_sdk::wire::{ApprovalDecision, RequestId};
use reqwest::StatusCode;
use serde_json::json;

/// A v1 approval request through the guard (sealed by it); its id.
async fn ask(http: &reqwest::Client, guard: &GuardHandle, question: &str) -> RequestId {
    let body = json!({
        "question": question,
        "requiresApproval": true,
        "action": {"tool": "deploy", "args": {"service": "billing"}},
    });
    let (status, created) = post(http, &format!("{}/api/v1/help", guard.base), body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["sealed"], true, "{created}");
    RequestId::new(created["requestId"].as_str().unwrap())
}

#[tokio::test]
async fn a_v1_agent_behind_the_guard_sees_only_approvals_the_expert_signed() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("k")).await;
    guard.guard.enroll().await.unwrap();
    let expert = expert(&server);
    expert.publish_keys().await.unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let status_of = |id: &RequestId| format!("{}/api/v1/help/{id}", guard.base);

    // Signed by the expert: passed on.
    let signed = ask(&http, &guard, "Deploy billing?").await;
    expert
        .decide(&signed, ApprovalDecision::Approved)
        .await
        .unwrap();
    let (status, answer) = get(&http, &status_of(&signed)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["approvalDecision"], "approved");
    assert!(answer["decisionSignature"].is_string());

    // Approved in the server's store without the expert: refused, for reads and long-polls.
    let forged = ask(&http, &guard, "Deploy billing again?").await;
    server.forge_approval(forged.as_str(), None).await;
    for query in ["", "?wait=1"] {
        let (status, refused) = get(&http, &format!("{}{query}", status_of(&forged))).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{refused}");
        assert_eq!(refused["code"], "DECISION_UNVERIFIED", "{refused}");
        assert!(refused.get("approvalDecision").is_none());
    }

    // Moved from the signed request: refused too.
    let stored = server
        .store
        .request(signed.as_str())
        .await
        .unwrap()
        .unwrap();
    let moved = ask(&http, &guard, "Deploy billing a third time?").await;
    let stolen = (
        stored.decision_signature.unwrap(),
        stored.decided_at.unwrap(),
    );
    server.forge_approval(moved.as_str(), Some(stolen)).await;
    let (status, refused) = get(&http, &status_of(&moved)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{refused}");
    assert_eq!(refused["code"], "DECISION_UNVERIFIED");
}
