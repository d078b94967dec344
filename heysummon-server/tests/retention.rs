//! Finished requests and their messages are deleted by the sweeper once their retention has
//! passed; live requests never are.

#![allow(clippy::unwrap_used)]

mod common;

use reqwest::StatusCode;
use serde_json::json;

const DAY_MS: i64 = 24 * 3600 * 1000;

#[tokio::test]
async fn the_sweeper_deletes_finished_requests_after_their_retention() {
    let server = common::spawn_with(|c| {
        c.finished_retention_secs = 30 * 24 * 3600;
        c.request_ttl_secs = 90 * 24 * 3600;
    })
    .await;
    let closed = server.ask_ok(&server.client_key, "Done soon").await;
    let live = server.ask_ok(&server.client_key, "Still open").await;
    server.answer(&server.expert_key, &closed, "Yes").await;
    let (status, _) = server
        .post(
            &format!("/api/v1/close/{closed}"),
            &server.client_key,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    server.clock.advance(29 * DAY_MS);
    heysummon_server::sweeper::sweep_once(&server.state)
        .await
        .unwrap();
    let (status, _) = server
        .get(&format!("/api/v1/help/{closed}"), &server.client_key)
        .await;
    assert_eq!(status, StatusCode::OK, "kept for 30 days");

    server.clock.advance(2 * DAY_MS);
    heysummon_server::sweeper::sweep_once(&server.state)
        .await
        .unwrap();
    let (status, _) = server
        .get(&format!("/api/v1/help/{closed}"), &server.client_key)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleted after 30 days");
    assert!(server.store.messages(&closed).await.unwrap().is_empty());
    let (status, body) = server
        .get(&format!("/api/v1/help/{live}"), &server.client_key)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "pending");
}

#[test]
fn a_request_outlives_its_idempotency_record() {
    let config = heysummon_server::config::Config {
        finished_retention_secs: 24 * 3600,
        ..Default::default()
    };
    assert!(
        config.validate().is_err(),
        "a retried create could page twice"
    );
}
