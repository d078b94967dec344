//! `/api/keys` (PROTOCOL E3): the expert's client keys, shown once, rotated, revoked; never
//! another expert's.

use reqwest::StatusCode;
use serde_json::json;

use crate::Browser;
use crate::common;

#[tokio::test]
async fn keys_are_created_shown_once_rotated_and_revoked() {
    let app = common::spawn().await;
    let browser = Browser::sign_in(&app).await;
    let (status, created) = browser
        .post("/api/keys", json!({"name": "deploy bot"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["clientKey"].as_str().unwrap().to_owned();
    let key_id = created["keyId"].as_str().unwrap().to_owned();
    assert!(key.starts_with("hs_cli_"));

    let (_, listed) = browser.get("/api/keys").await;
    let text = listed.to_string();
    assert!(!text.contains(&key), "never the key string again");
    assert!(!text.contains(&app.client_key));
    let entry = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["name"], "deploy bot");
    assert_eq!(entry["status"], "active");
    assert!(entry["lastUsedAt"].is_null());

    // The key works, and its use is seen.
    app.ask_ok(&key, "Hello from the new key").await;
    let (_, listed) = browser.get("/api/keys").await;
    let used = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key_id.as_str())
        .unwrap()
        .clone();
    assert!(used["lastUsedAt"].is_string(), "{used}");

    let (status, rotated) = browser
        .post(&format!("/api/keys/{key_id}/rotate"), json!({}))
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new_key = rotated["clientKey"].as_str().unwrap();
    assert_ne!(new_key, key);
    assert!(rotated["previousKeyExpiresAt"].is_string());
    app.ask_ok(new_key, "From the rotated key").await;

    let (status, revoked) = browser.delete(&format!("/api/keys/{key_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(revoked["status"], "revoked");
    let (status, _) = app.ask(new_key, "Still there?").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_key_bodies_get_clear_errors() {
    let app = common::spawn().await;
    let browser = Browser::sign_in(&app).await;
    for bad in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "  "}),
        json!({"name": 1}),
        json!({"name": "x".repeat(101)}),
    ] {
        let (status, body) = browser.post("/api/keys", bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["error"].is_string());
    }
    let (_, listed) = browser.get("/api/keys").await;
    assert_eq!(
        listed["keys"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
}

#[tokio::test]
async fn another_experts_key_answers_like_a_missing_one() {
    let app = common::spawn().await;
    let bob = app.tenant("Bob").await;
    let stranger = Browser::sign_in_as(&app, &bob.expert_id).await;
    let alices = app.client_key_id.clone();
    for (path, missing) in [(
        format!("/api/keys/{alices}/rotate"),
        "/api/keys/nope/rotate".to_owned(),
    )] {
        let refused = stranger.post(&path, json!({})).await;
        let absent = stranger.post(&missing, json!({})).await;
        assert_eq!(refused.0, StatusCode::NOT_FOUND);
        assert_eq!(refused, absent);
    }
    let refused = stranger.delete(&format!("/api/keys/{alices}")).await;
    let absent = stranger.delete("/api/keys/nope").await;
    assert_eq!(refused.0, StatusCode::NOT_FOUND);
    assert_eq!(refused, absent);
    app.ask_ok(&app.client_key, "Alice's key still works").await;
    let (_, listed) = stranger.get("/api/keys").await;
    assert!(!listed.to_string().contains(&alices));
}
