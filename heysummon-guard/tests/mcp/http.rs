//! `/mcp` on a running guard: the same tools over streamable HTTP, and only for local callers.

use std::collections::HashSet;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::client::McpClient;
use crate::support::{TestApp, expert, next_request, running_guard};

#[tokio::test]
async fn the_running_guard_serves_the_tools_over_streamable_http() {
    let server = TestApp::spawn().await;
    let expert = expert(&server);
    let dir = tempfile::tempdir().unwrap();
    let stop = CancellationToken::new();
    let (_, base) = running_guard(&server, dir.path(), &stop).await;
    let client = McpClient::http(&format!("{base}/mcp")).await;
    assert_eq!(client.ready["server"]["name"], "heysummon");
    assert_eq!(client.tools().await.len(), 5);

    let call = client.start_call("ask_human", json!({ "question": "Ship it on Friday?" }));
    let request = next_request(&expert, &mut HashSet::new()).await;
    assert_eq!(request.question.as_deref(), Some("Ship it on Friday?"));
    expert.reply(&request.request_id, "Monday").await.unwrap();
    let result = call.result().await;
    assert_eq!(
        result["structuredContent"]["status"], "answered",
        "{result}"
    );
    assert_eq!(result["structuredContent"]["answer"], "Monday");
    client.close().await;

    // A web page cannot reach it: the guard refuses requests with an Origin.
    let refused = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("origin", "https://evil.example")
        .header("accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    // Nor a name that resolves elsewhere (DNS rebinding): only loopback Hosts are served.
    let rebound = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("host", "attacker.example")
        .header("accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);
    // A body over the guard's limit is refused before the MCP layer reads it.
    let huge = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    stop.cancel();
}
