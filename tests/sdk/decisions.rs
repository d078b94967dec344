//! Decisions only the expert can make (PROTOCOL H4), from the agent's side: an approval counts
//! only when the expert signed it with the key pinned for the request, over that request and
//! the action asked about. A decision the server invented, moved from another request, or that
//! was changed in transit is refused: the tests tamper with the database (through the server's
//! own store) and with the responses on their way.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use heysummon_sdk::Error;
use heysummon_sdk::client::{AskOptions, DecisionTrust, WaitOptions, WaitStrategy};
use heysummon_sdk::decision::{DecisionStatement, action_hash};
use heysummon_sdk::keystore::MemoryKeyStore;
use heysummon_sdk::wire::{ApprovalDecision, RequestId, Timestamp};
use serde_json::{Value, json};

use crate::support::Server;

/// Waiting by plain status reads, quickly: every read goes through a proxy as one response.
fn polling() -> AskOptions {
    AskOptions::new().with_wait(
        WaitOptions::new()
            .with_strategy(WaitStrategy::SmartPoll)
            .with_smart_poll(
                Duration::from_millis(50),
                Duration::from_secs(60),
                Duration::from_millis(50),
            )
            .with_timeout(Duration::from_secs(20)),
    )
}

fn deploy() -> Value {
    json!({"tool": "deploy", "args": {"service": "billing", "env": "prod"}})
}

#[tokio::test]
async fn a_signed_approval_of_a_sealed_action_counts() {
    let server = Server::start().await;
    let expert = server.expert(MemoryKeyStore::new());
    expert.publish_keys().await.unwrap();
    let agent = server.agent(MemoryKeyStore::new());
    let waiting = tokio::spawn({
        let agent = agent.clone();
        async move {
            agent
                .approval_with("Deploy billing?", polling().with_action(deploy()))
                .await
        }
    });
    let id = server.wait_for_pending(&expert).await;
    let opened = expert.open(&id).await.unwrap();
    assert!(opened.sealed);
    assert!(
        opened.question.contains("\"service\": \"billing\""),
        "{}",
        opened.question
    );
    // The server holds the action's hash, never the action of a sealed question.
    assert!(!server.database_contains(b"billing").await);
    expert
        .decide(&id, ApprovalDecision::Approved)
        .await
        .unwrap();
    let approval = waiting.await.unwrap().unwrap();
    assert!(approval.is_approved());
    assert!(approval.signed);
}

/// Sets a request's decision straight in the store, as a compromised server could.
async fn forge(server: &Server, id: &RequestId, signature: Option<(String, i64)>) {
    server.app.forge_approval(id.as_str(), signature).await;
}

#[tokio::test]
async fn an_approval_the_server_invented_or_moved_is_refused() {
    let server = Server::start().await;
    let expert = server.expert(MemoryKeyStore::new());
    expert.publish_keys().await.unwrap();
    let agent = server.agent(MemoryKeyStore::new());
    let ask = |question: &'static str| {
        let agent = agent.clone();
        tokio::spawn(async move {
            agent
                .approval_with(question, polling().with_action(deploy()))
                .await
        })
    };

    // A genuine signed approval of one request...
    let genuine = ask("Deploy billing?");
    let first = server.wait_for_pending(&expert).await;
    expert
        .decide(&first, ApprovalDecision::Approved)
        .await
        .unwrap();
    assert!(genuine.await.unwrap().unwrap().signed);
    let stored = server
        .app
        .store
        .request(first.as_str())
        .await
        .unwrap()
        .unwrap();
    let stolen = (
        stored.decision_signature.clone().unwrap(),
        stored.decided_at.unwrap(),
    );

    // ...moved onto another request with the same action: refused.
    let replayed = ask("Deploy billing again?");
    let second = server.wait_for_pending(&expert).await;
    forge(&server, &second, Some(stolen)).await;
    let error = replayed.await.unwrap().unwrap_err();
    assert!(matches!(error, Error::DecisionUnverified { .. }), "{error}");

    // An approval without any signature: an honest server refuses to take it...
    let invented = ask("Deploy billing a third time?");
    let third = server.wait_for_pending(&expert).await;
    let (status, refused) = server
        .app
        .post(
            &format!("/api/v1/approve/{third}"),
            &server.expert_key,
            json!({"decision": "approved"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["code"], "DECISION_SIGNATURE_REQUIRED");
    // ...and the agent refuses it from a dishonest one.
    forge(&server, &third, None).await;
    let error = invented.await.unwrap().unwrap_err();
    assert!(matches!(error, Error::DecisionUnverified { .. }), "{error}");

    // Signed by the expert's own key for this very request, but at a time before the request
    // existed (an old decision of a reused id): refused.
    let stale = ask("Deploy billing, stale?");
    let fourth = server.wait_for_pending(&expert).await;
    let hash = action_hash(&deploy()).unwrap();
    let long_ago = Timestamp::now().plus_millis(-3_600_000);
    let statement = DecisionStatement {
        request_id: fourth.as_str(),
        decision: ApprovalDecision::Approved,
        action_hash: Some(&hash),
        edited_action_hash: None,
        decided_at_ms: long_ago.unix_millis(),
    };
    let signature = statement.sign(&expert.identity().unwrap().sign).unwrap();
    forge(&server, &fourth, Some((signature, long_ago.unix_millis()))).await;
    let error = stale.await.unwrap().unwrap_err();
    assert!(matches!(error, Error::DecisionUnverified { .. }), "{error}");

    // ...unless the agent's policy accepts server-attested decisions.
    let trusting = server
        .agent_builder(MemoryKeyStore::new())
        .decision_trust(DecisionTrust::AcceptServerAttested)
        .build()
        .unwrap();
    let waiting = tokio::spawn(async move {
        trusting
            .approval_with("Deploy billing, trusting?", polling())
            .await
    });
    let fifth = server.wait_for_pending(&expert).await;
    forge(&server, &fifth, None).await;
    let approval = waiting.await.unwrap().unwrap();
    assert!(approval.is_approved());
    assert!(!approval.signed);
}

/// Forwards to the server and turns every reported denial into an approval on the way back.
async fn flip_denials(
    State(upstream): State<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = reqwest::Client::new().request(method, format!("{upstream}{path}"));
    for name in ["x-api-key", "content-type", "idempotency-key"] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value.as_bytes());
        }
    }
    let answer = request.body(body).send().await.unwrap();
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let text = answer.text().await.unwrap().replace(
        "\"approvalDecision\":\"denied\"",
        "\"approvalDecision\":\"approved\"",
    );
    (status, [("content-type", "application/json")], text).into_response()
}

#[tokio::test]
async fn a_denial_turned_into_an_approval_in_transit_is_refused() {
    let server = Server::start().await;
    let expert = server.expert(MemoryKeyStore::new());
    expert.publish_keys().await.unwrap();
    // The expert reaches the server directly; the agent only through the proxy.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .fallback(flip_denials)
        .with_state(server.base.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let agent = heysummon_sdk::Client::builder()
        .base_url(&proxy)
        .api_key(server.client_key.clone())
        .key_store(MemoryKeyStore::new())
        .build()
        .unwrap();

    let waiting = tokio::spawn(async move {
        agent
            .approval_with("Deploy billing?", polling().with_action(deploy()))
            .await
    });
    let id = server.wait_for_pending(&expert).await;
    expert.decide(&id, ApprovalDecision::Denied).await.unwrap();
    let error = waiting.await.unwrap().unwrap_err();
    assert!(matches!(error, Error::DecisionUnverified { .. }), "{error}");
}
