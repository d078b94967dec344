//! The tamper-evident audit log over a real server: what the actions of keys, sign-ins,
//! decisions, closes and expiry record; the dashboard's view of a request's entries and its
//! tenancy; `audit verify` finding changed, removed and reordered entries (the real binary on
//! an SQLite file edited underneath it); retention keeping the log whole. On PostgreSQL when
//! the suite runs there (`HEYSUMMON_TEST_BACKEND=postgres`), except the file-editing tests.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../common/mod.rs"]
mod common;

mod retention;
mod tamper;
mod trail;

use heysummon_server::audit::AuditEntry;
use heysummon_server::cli::verify_log;
use heysummon_server::testing::TestApp;

/// Asks for an approval with the first tenant's client key; the request id.
pub async fn ask_approval(app: &TestApp) -> String {
    let (status, asked) = app
        .post(
            "/api/v1/help",
            &app.client_key,
            serde_json::json!({
                "apiKey": app.client_key,
                "signPublicKey": "test-sign-key",
                "encryptPublicKey": "test-encrypt-key",
                "question": "May I deploy?",
                "requiresApproval": true,
            }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{asked}");
    asked["requestId"].as_str().unwrap().to_owned()
}

/// Every entry of the server's audit log, oldest first.
pub async fn entries(app: &TestApp) -> Vec<AuditEntry> {
    app.store.audit_entries_after(0, 10_000).await.unwrap()
}

/// `(kind, actor, subject)` of each entry, for comparing with what a test expects.
pub fn facts(entries: &[AuditEntry]) -> Vec<(String, String, String)> {
    entries
        .iter()
        .map(|e| (e.kind.clone(), e.actor.clone(), e.subject.clone()))
        .collect()
}

/// Asserts that the whole log verifies with the server's audit key.
pub async fn assert_intact(app: &TestApp) {
    let key = app.store.audit_public_key().await.unwrap();
    verify_log(&app.store, key)
        .await
        .unwrap_or_else(|e| panic!("the audit log does not verify: {e}"));
}
