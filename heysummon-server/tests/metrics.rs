//! `GET /metrics`: Prometheus' text format, behind the configured bearer token, counting what
//! the server does.

#![allow(clippy::unwrap_used)]

mod common;

use heysummon_server::config::SecretString;
use reqwest::StatusCode;
use serde_json::json;

const TOKEN: &str = "scrape-me-0123456789";

/// The value of the first sample of `name` with all of `labels`, or 0.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.split(['{', ' ']).next() == Some(name) && labels.iter().all(|l| line.contains(l))
        })
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_requests_answers_and_refusals_behind_a_token() {
    let server = common::spawn_with(|c| {
        c.metrics_token = Some(TOKEN.parse::<SecretString>().unwrap());
        c.rate_limits.per_key = 3;
    })
    .await;
    let scrape = |token: Option<&str>| {
        let mut request = server.http.get(server.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    for token in [None, Some("wrong")] {
        let refused = scrape(token).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    }
    let before = scrape(Some(TOKEN)).await.unwrap().text().await.unwrap();

    let answered = server.ask_ok(&server.client_key, "Deploy?").await;
    server.ask_ok(&server.client_key, "Still waiting").await;
    server.clock.advance(90_000);
    server.answer(&server.expert_key, &answered, "Yes").await;
    let (status, _) = server
        .post(
            &format!("/api/v1/close/{answered}"),
            &server.client_key,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Three requests a minute: the fourth of this minute is refused.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(server.ask(&server.client_key, "over the limit").await.0);
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let created_over = statuses.iter().filter(|s| **s == StatusCode::OK).count();

    let response = scrape(Some(TOKEN)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let after = response.text().await.unwrap();
    let grew =
        |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    let question = ["kind=\"question\""];
    assert_eq!(
        grew("heysummon_requests_created_total", &question),
        2.0 + created_over as f64,
        "{after}"
    );
    let closed = ["kind=\"question\"", "status=\"closed\""];
    assert_eq!(grew("heysummon_requests_finished_total", &closed), 1.0);
    assert_eq!(grew("heysummon_first_response_seconds_count", &[]), 1.0);
    // 90 s after creation: in the 300 s bucket, not in the 60 s one.
    assert_eq!(
        grew("heysummon_first_response_seconds_bucket", &["le=\"300\""]),
        1.0
    );
    assert_eq!(
        grew("heysummon_first_response_seconds_bucket", &["le=\"60\""]),
        0.0
    );
    assert_eq!(
        sample(&after, "heysummon_requests_waiting", &[]),
        1.0 + created_over as f64
    );
    assert_eq!(
        grew("heysummon_rate_limited_total", &["bucket=\"key\""]),
        1.0
    );
    assert!(grew("heysummon_events_appended_total", &[]) >= 4.0);
    assert!(sample(&after, "heysummon_store_commit_seconds_count", &[]) > 0.0);
}
