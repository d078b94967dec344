//! Approvals fail closed: `request_approval` and the permission-prompt tool `approval_prompt`
//! report approval only on the expert's explicit decision.

use std::collections::HashSet;
use std::time::Duration;

use heysummon_sdk::wire::ApprovalDecision;
use serde_json::{Value, json};

use crate::client::{McpClient, text};
use crate::support::{TestApp, expert, guard_env, next_request};

#[tokio::test]
async fn request_approval_is_approved_denied_or_timed_out_never_allowed_by_default() {
    let server = TestApp::spawn().await;
    let expert = expert(&server);
    let dir = tempfile::tempdir().unwrap();
    let client = McpClient::stdio(&guard_env(&server, dir.path(), Duration::from_secs(45))).await;
    let mut seen = HashSet::new();

    for (decision, status) in [
        (ApprovalDecision::Approved, "approved"),
        (ApprovalDecision::Denied, "denied"),
    ] {
        let call = client.start_call(
            "request_approval",
            json!({ "action": "kubectl rollout restart deploy/api", "details": "Pods are stuck" }),
        );
        let request = next_request(&expert, &mut seen).await;
        assert!(request.requires_approval);
        expert.decide(&request.request_id, decision).await.unwrap();
        let result = call.result().await;
        assert_eq!(result["structuredContent"]["status"], status, "{result}");
        let said = text(&result);
        assert!(said.starts_with(&status.to_uppercase()), "{said}");
    }

    // Nobody decides within the caller's timeout: "timeout", and still not approved when the
    // expert approves afterwards.
    let result = client
        .call(
            "request_approval",
            json!({ "action": "DROP TABLE orders", "timeout_seconds": 1 }),
        )
        .await;
    let structured = &result["structuredContent"];
    assert_eq!(structured["status"], "timeout", "{result}");
    assert!(text(&result).contains("NOT approved"));
    let id = structured["request_id"].as_str().unwrap().to_owned();
    let late = next_request(&expert, &mut seen).await;
    assert_eq!(late.request_id.as_str(), id);
    expert
        .decide(&late.request_id, ApprovalDecision::Approved)
        .await
        .unwrap();
    let after = client
        .call("await_human", json!({ "request_id": id }))
        .await;
    assert_eq!(after["structuredContent"]["status"], "timeout", "{after}");
    client.close().await;
}

/// The text of an `approval_prompt` result, parsed: what a permission-prompt hook reads.
fn decision(result: &Value) -> Value {
    assert_ne!(result["isError"], true, "{result}");
    serde_json::from_str(text(result)).unwrap_or_else(|_| panic!("not JSON: {result}"))
}

#[tokio::test]
async fn approval_prompt_answers_as_a_permission_hook_expects_and_pages_once_per_tool_use() {
    let server = TestApp::spawn().await;
    let expert = expert(&server);
    let dir = tempfile::tempdir().unwrap();
    // One guard (device key, key store) seen by two hosts: one holding the full 45 s, one
    // giving up after 2 s.
    let client = McpClient::stdio(&guard_env(&server, dir.path(), Duration::from_secs(45))).await;
    let hasty = McpClient::stdio(&guard_env(&server, dir.path(), Duration::from_secs(2))).await;
    let mut seen = HashSet::new();
    let input = json!({ "command": "rm -rf build/", "description": "Clean the build" });

    // Approved: exactly {"behavior":"allow","updatedInput":<the input>}.
    let call = client.start_call(
        "approval_prompt",
        json!({ "tool_name": "Bash", "input": input, "tool_use_id": "toolu_01" }),
    );
    let request = next_request(&expert, &mut seen).await;
    assert!(request.requires_approval);
    expert
        .decide(&request.request_id, ApprovalDecision::Approved)
        .await
        .unwrap();
    let allowed = call.result().await;
    assert_eq!(
        decision(&allowed),
        json!({ "behavior": "allow", "updatedInput": input })
    );
    assert_eq!(allowed["structuredContent"]["status"], "approved");
    // The same tool call again: the same request, no second page.
    let count = server.request_count().await;
    let retried = client
        .call(
            "approval_prompt",
            json!({ "tool_name": "Bash", "input": input, "tool_use_id": "toolu_01" }),
        )
        .await;
    assert_eq!(decision(&retried)["behavior"], "allow");
    assert_eq!(
        retried["structuredContent"]["request_id"],
        request.request_id.as_str()
    );
    assert_eq!(server.request_count().await, count);

    // The same tool_use_id with another input never inherits the approval: a request of its own.
    let call = client.start_call(
        "approval_prompt",
        json!({ "tool_name": "Bash", "input": {"command": "rm -rf /"}, "tool_use_id": "toolu_01" }),
    );
    let other = next_request(&expert, &mut seen).await;
    assert_ne!(other.request_id, request.request_id);
    expert
        .decide(&other.request_id, ApprovalDecision::Denied)
        .await
        .unwrap();
    assert_eq!(decision(&call.result().await)["behavior"], "deny");
    let count = server.request_count().await;

    // No decision within the hold: denied, naming the reference; once the expert approves,
    // the same tool_use_id is allowed, still on one request.
    let waiting = hasty
        .call(
            "approval_prompt",
            json!({ "tool_name": "Write", "input": {"path": "a"}, "tool_use_id": "toolu_02" }),
        )
        .await;
    let denied = decision(&waiting);
    assert_eq!(denied["behavior"], "deny", "{waiting}");
    let pending = next_request(&expert, &mut seen).await;
    assert!(
        denied["message"]
            .as_str()
            .unwrap()
            .contains(pending.ref_code.as_str())
    );
    assert_eq!(waiting["structuredContent"]["status"], "pending");
    expert
        .decide(&pending.request_id, ApprovalDecision::Approved)
        .await
        .unwrap();
    let later = hasty
        .call(
            "approval_prompt",
            json!({ "tool_name": "Write", "input": {"path": "a"}, "tool_use_id": "toolu_02" }),
        )
        .await;
    assert_eq!(
        decision(&later),
        json!({ "behavior": "allow", "updatedInput": {"path": "a"} })
    );
    assert_eq!(server.request_count().await, count + 1);

    // Denied by the expert: deny, with the expert's word.
    let call = client.start_call(
        "approval_prompt",
        json!({ "tool_name": "Bash", "input": {"command": "git push --force"}, "tool_use_id": "toolu_03" }),
    );
    let request = next_request(&expert, &mut seen).await;
    expert
        .reply_with_decision(
            &request.request_id,
            "Never force-push main",
            ApprovalDecision::Denied,
        )
        .await
        .unwrap();
    let refused = decision(&call.result().await);
    assert_eq!(refused["behavior"], "deny");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("Never force-push main"),
        "{refused}"
    );
    client.close().await;
}
