//! The harness itself works: health, and a request round trip.

mod common;

use reqwest::StatusCode;

#[tokio::test]
async fn health_endpoints_answer() {
    let server = common::spawn().await;
    for path in ["/health", "/api/health", "/api/v1/health"] {
        let (status, body) = server.call(reqwest::Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body["status"], "ok");
    }
    let (_, v1) = server
        .call(reqwest::Method::GET, "/api/v1/health", None, None)
        .await;
    assert_eq!(v1["connectivity"], "direct");
}
