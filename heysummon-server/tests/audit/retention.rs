//! Retention deletes finished requests and their messages, never the audit log's entries
//! about them: the chain still verifies, whole.

use reqwest::StatusCode;
use serde_json::json;

use crate::common;
use crate::{assert_intact, entries};

const DAY_MS: i64 = 24 * 3600 * 1000;

#[tokio::test]
async fn retention_deletes_finished_requests_and_keeps_their_audit_entries() {
    let app = common::spawn_with(|c| c.finished_retention_secs = 3 * 24 * 3600).await;
    let closed = app.ask_ok(&app.client_key, "Done soon").await;
    app.answer(&app.expert_key, &closed, "Yes").await;
    let close = format!("/api/v1/close/{closed}");
    let (status, _) = app.post(&close, &app.client_key, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let before = entries(&app).await;
    assert!(
        before
            .iter()
            .any(|e| e.subject == closed && e.kind == "closed")
    );

    app.clock.advance(4 * DAY_MS);
    heysummon_server::sweeper::sweep_once(&app.state)
        .await
        .unwrap();
    assert_eq!(app.store.request(&closed).await.unwrap(), None, "deleted");
    assert!(app.store.messages(&closed).await.unwrap().is_empty());

    assert_eq!(entries(&app).await, before, "every entry kept as it was");
    assert_eq!(
        app.store.audit_entries_about(&closed).await.unwrap().len(),
        1
    );
    assert_intact(&app).await;
}
