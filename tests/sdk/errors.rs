//! The errors the asking API reports for what the real server answers: foreign requests, wrong
//! keys, blocked content, and requests whose keys are not keys.

use heysummon_sdk::Error;
use heysummon_sdk::client::Client;
use heysummon_sdk::keystore::MemoryKeyStore;
use heysummon_sdk::wire::RequestId;
use serde_json::json;

use crate::support::{Server, quick};

#[tokio::test]
async fn real_server_errors() {
    let server = Server::start().await;
    let agent = server.agent(MemoryKeyStore::new());
    // Not this key's request: 404, not retried.
    let error = agent.status(&RequestId::new("nope")).await.unwrap_err();
    assert_eq!(error.http_status(), Some(404));
    assert!(!error.is_retryable());
    // A wrong key: 401.
    let stranger = Client::builder()
        .base_url(&server.base)
        .api_key("hs_cli_wrong")
        .build()
        .unwrap();
    let error = stranger.ask_with("Hi", quick()).await.unwrap_err();
    assert_eq!(error.http_status(), Some(401));
    // Content blocked by the safety filter: 422 with the server's body.
    let error = agent
        .ask_with("My card is 4111 1111 1111 1111", quick())
        .await
        .unwrap_err();
    assert_eq!(error.http_status(), Some(422));
    // A v1 client's request with keys that are not keys: the expert cannot open it.
    let expert = server.expert(MemoryKeyStore::new());
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/help", server.base))
        .json(&json!({
            "apiKey": server.client_key,
            "signPublicKey": "none",
            "encryptPublicKey": "none",
            "question": "Legacy?",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = RequestId::new(created["requestId"].as_str().unwrap());
    let error = expert.reply(&id, "Hello").await.unwrap_err();
    assert!(matches!(error, Error::InvalidPublicKey { .. }), "{error}");
}
