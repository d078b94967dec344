//! The tools over stdio: what they declare, asking and waiting, notifying, bad input.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::client::{McpClient, text};
use crate::support::{TestApp, expert, guard_env, next_request};

#[tokio::test]
async fn the_five_tools_declare_their_inputs_for_a_model() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let client = McpClient::stdio(&guard_env(&server, dir.path(), Duration::from_secs(45))).await;
    assert_eq!(client.ready["server"]["name"], "heysummon");
    let instructions = client.ready["instructions"].as_str().unwrap();
    assert!(instructions.contains("await_human"), "{instructions}");

    let tools = client.tools().await;
    let by_name = |name: &str| -> &Value {
        tools
            .iter()
            .find(|tool| tool["name"] == name)
            .unwrap_or_else(|| panic!("no tool {name}"))
    };
    let names: HashSet<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        HashSet::from([
            "ask_human",
            "await_human",
            "request_approval",
            "notify_human",
            "approval_prompt"
        ])
    );
    for (name, required, optional) in [
        (
            "ask_human",
            vec!["question"],
            vec!["context", "timeout_seconds"],
        ),
        ("await_human", vec!["request_id"], vec!["wait_seconds"]),
        (
            "request_approval",
            vec!["action"],
            vec!["details", "timeout_seconds"],
        ),
        ("notify_human", vec!["message"], vec![]),
        (
            "approval_prompt",
            vec!["tool_name"],
            vec!["input", "tool_use_id"],
        ),
    ] {
        let tool = by_name(name);
        assert!(tool["description"].as_str().unwrap().len() > 80, "{tool}");
        let schema = &tool["inputSchema"];
        assert_eq!(schema["type"], "object", "{tool}");
        let listed: HashSet<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().map(|v| v.as_str().unwrap()).collect())
            .unwrap_or_default();
        assert_eq!(listed, required.iter().copied().collect(), "{name}");
        for property in required.iter().chain(&optional) {
            let described = &schema["properties"][property]["description"];
            assert!(
                described.as_str().is_some_and(|d| d.len() > 20),
                "{name}.{property}: {schema}"
            );
        }
    }
    client.close().await;
}

#[tokio::test]
async fn ask_human_returns_the_experts_answer_sealed_end_to_end() {
    let server = TestApp::spawn().await;
    let expert = expert(&server);
    expert.publish_keys().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = McpClient::stdio(&guard_env(&server, dir.path(), Duration::from_secs(45))).await;

    let call = client.start_call(
        "ask_human",
        json!({ "question": "Which region do we deploy to?", "context": "Terraform plan is ready" }),
    );
    let request = next_request(&expert, &mut HashSet::new()).await;
    assert_eq!(request.question, None, "sealed: the server cannot read it");
    let opened = expert.open(&request.request_id).await.unwrap();
    assert!(
        opened.question.starts_with("Which region do we deploy to?")
            && opened.question.contains("Terraform plan is ready"),
        "{}",
        opened.question
    );
    expert
        .reply(&request.request_id, "eu-west-1")
        .await
        .unwrap();

    let result = call.result().await;
    assert_ne!(result["isError"], true, "{result}");
    let structured = &result["structuredContent"];
    assert_eq!(structured["status"], "answered", "{result}");
    assert_eq!(structured["answer"], "eu-west-1");
    assert_eq!(structured["end_to_end"], true);
    assert_eq!(structured["request_id"], request.request_id.as_str());
    assert_eq!(structured["ref_code"], request.ref_code.as_str());
    assert!(text(&result).contains("eu-west-1"));
    assert!(!server.database_contains(b"Which region do we deploy").await);
    client.close().await;
}

#[tokio::test]
async fn a_call_holds_at_most_its_bound_then_await_human_picks_the_answer_up() {
    let server = TestApp::spawn().await;
    let expert = expert(&server);
    let dir = tempfile::tempdir().unwrap();
    let client = McpClient::stdio(&guard_env(&server, dir.path(), Duration::from_secs(1))).await;

    let started = std::time::Instant::now();
    let pending = client
        .call(
            "ask_human",
            json!({ "question": "Is the staging database safe to reset?" }),
        )
        .await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let structured = &pending["structuredContent"];
    assert_eq!(structured["status"], "pending", "{pending}");
    assert!(structured["retry_after_seconds"].as_u64().unwrap() >= 1);
    let id = structured["request_id"].as_str().unwrap().to_owned();
    assert!(text(&pending).contains(&id));

    // Nothing yet: still pending within the bound.
    let again = client
        .call("await_human", json!({ "request_id": id }))
        .await;
    assert_eq!(again["structuredContent"]["status"], "pending", "{again}");

    let request = next_request(&expert, &mut HashSet::new()).await;
    assert_eq!(request.request_id.as_str(), id);
    expert
        .reply(&request.request_id, "Yes, reset it")
        .await
        .unwrap();
    let answered = client
        .call(
            "await_human",
            json!({ "request_id": id, "wait_seconds": 30 }),
        )
        .await;
    assert_eq!(
        answered["structuredContent"]["status"], "answered",
        "{answered}"
    );
    assert_eq!(answered["structuredContent"]["answer"], "Yes, reset it");

    // A request this guard never made answers like a missing one.
    let unknown = client
        .call(
            "await_human",
            json!({ "request_id": "cm_not_a_request_of_ours" }),
        )
        .await;
    assert_eq!(unknown["isError"], true, "{unknown}");
    assert_eq!(unknown["structuredContent"]["error"], "not_found");
    client.close().await;
}

#[tokio::test]
async fn notify_human_returns_the_reference_and_bad_input_is_a_clear_error() {
    let server = TestApp::spawn().await;
    let expert = expert(&server);
    let dir = tempfile::tempdir().unwrap();
    let client = McpClient::stdio(&guard_env(&server, dir.path(), Duration::from_secs(45))).await;

    let notified = client
        .call(
            "notify_human",
            json!({ "message": "Nightly backup finished" }),
        )
        .await;
    let structured = &notified["structuredContent"];
    assert!(structured["request_id"].as_str().is_some(), "{notified}");
    assert!(structured["ref_code"].as_str().unwrap().starts_with("HS-"));
    let request = next_request(&expert, &mut HashSet::new()).await;
    assert!(request.notification);

    // Blank text: a tool error saying what is wrong; nothing reaches the server.
    let before = server.request_count().await;
    let blank = client.call("ask_human", json!({ "question": "   " })).await;
    assert_eq!(blank["isError"], true, "{blank}");
    assert_eq!(blank["structuredContent"]["error"], "invalid_input");
    assert!(text(&blank).contains("question is required"));
    // A card number: refused before anything is sent.
    let card = client
        .call(
            "ask_human",
            json!({ "question": "Charge 4111 1111 1111 1111?" }),
        )
        .await;
    assert_eq!(
        card["structuredContent"]["error"], "content_blocked",
        "{card}"
    );
    // Out-of-range and missing arguments: refused by the schema.
    let range = client
        .call(
            "request_approval",
            json!({ "action": "Deploy", "timeout_seconds": 0 }),
        )
        .await;
    assert_eq!(range["isError"], true, "{range}");
    assert!(text(&range).contains("not approved") || text(&range).contains("NOT approved"));
    let missing = client
        .call("ask_human", json!({ "context": "no question" }))
        .await;
    let said = missing.to_string();
    assert!(said.contains("question"), "{said}");
    assert_ne!(missing["structuredContent"]["status"], "answered");
    assert_eq!(server.request_count().await, before);
    client.close().await;
}

#[tokio::test]
async fn a_server_that_never_answers_cannot_hold_a_call_past_its_bound() {
    // A server that accepts connections and never answers.
    let stalled = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", stalled.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = stalled.accept().await {
            open.push(socket);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("HEYSUMMON_UPSTREAM", base),
        ("HEYSUMMON_API_KEY", "hs_cli_stalled".to_owned()),
        (
            "HEYSUMMON_DEVICE_KEY_FILE",
            dir.path().join("device.key").display().to_string(),
        ),
        ("HEYSUMMON_MCP_HOLD_SECS", "2".to_owned()),
    ];
    let client = McpClient::stdio(&env).await;
    for (tool, arguments) in [
        ("ask_human", json!({ "question": "Anyone there?" })),
        ("request_approval", json!({ "action": "Deploy" })),
    ] {
        let started = std::time::Instant::now();
        let result = client.call(tool, arguments).await;
        let took = started.elapsed();
        assert!(took < Duration::from_secs(4), "{tool} held {took:?}");
        assert_eq!(result["isError"], true, "{result}");
        assert_eq!(
            result["structuredContent"]["error"], "unavailable",
            "{result}"
        );
    }
    let started = std::time::Instant::now();
    let prompt = client
        .call(
            "approval_prompt",
            json!({ "tool_name": "Bash", "input": {"command": "ls"} }),
        )
        .await;
    assert!(started.elapsed() < Duration::from_secs(4));
    let decision: Value = serde_json::from_str(text(&prompt)).unwrap();
    assert_eq!(decision["behavior"], "deny", "{prompt}");
    client.close().await;
    held.abort();
}
