//! What each audited action records, in order, with who did it and to what; and the
//! dashboard's `GET /api/requests/{id}/audit`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestApp};
use crate::{ask_approval, assert_intact, entries, facts};

const HOUR_MS: i64 = 3600 * 1000;

fn fact(kind: &str, actor: &str, subject: &str) -> (String, String, String) {
    (kind.to_owned(), actor.to_owned(), subject.to_owned())
}

/// A dashboard call with a session (`cookie`, `csrf`).
async fn dashboard(
    app: &TestApp,
    (cookie, csrf): &(String, String),
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .http
        .request(method, app.url(path))
        .header("cookie", cookie)
        .header("x-csrf-token", csrf);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn keys_sign_ins_decisions_closes_and_expiry_are_recorded_in_order() {
    let app = common::spawn_with(|c| c.request_ttl_secs = 3600).await;
    let expert = format!("expert:{}", app.expert_id);
    // The harness provisioned the tenant as an operator would.
    assert_eq!(
        facts(&entries(&app).await),
        [
            fact("key_created", "admin", &app.expert_id),
            fact("key_created", "admin", &app.client_key_id),
        ]
    );

    let session = app.session(&app.expert_id).await;
    let post = reqwest::Method::POST;
    let (status, created) = dashboard(
        &app,
        &session,
        post.clone(),
        "/api/keys",
        Some(json!({"name": "ci"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key_id = created["keyId"].as_str().unwrap().to_owned();
    let rotate = format!("/api/keys/{key_id}/rotate");
    let (status, rotated) = dashboard(&app, &session, post.clone(), &rotate, None).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let revoke = format!("/api/keys/{key_id}");
    let (status, _) = dashboard(&app, &session, reqwest::Method::DELETE, &revoke, None).await;
    assert_eq!(status, StatusCode::OK);

    let approval = ask_approval(&app).await;
    let (status, _) = app
        .post(
            &format!("/api/v1/approve/{approval}"),
            &app.expert_key,
            json!({"decision": "denied"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let closed = app.ask_ok(&app.client_key, "Which branch?").await;
    let (status, _) = app
        .post(
            &format!("/api/v1/close/{closed}"),
            &app.client_key,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let expiring = app.ask_ok(&app.client_key, "Anyone there?").await;
    app.clock.advance(2 * HOUR_MS);
    heysummon_server::sweeper::sweep_once(&app.state)
        .await
        .unwrap();

    let all = entries(&app).await;
    let client = format!("client:{}", app.client_key_id);
    assert_eq!(
        facts(&all[2..8]),
        [
            fact("signed_in", &expert, &app.expert_id),
            fact("key_created", &expert, &key_id),
            fact("key_rotated", &expert, &key_id),
            fact("key_revoked", &expert, &key_id),
            fact("decision", &expert, &approval),
            fact("closed", &client, &closed),
        ]
    );
    // Both live requests expire in one sweep, in no promised order (the approval was decided
    // but never closed).
    let mut expired = facts(&all[8..]);
    expired.sort();
    let mut expected = vec![
        fact("expired", "system", &approval),
        fact("expired", "system", &expiring),
    ];
    expected.sort();
    assert_eq!(expired, expected);
    let details = |kind: &str| {
        let entry = all.iter().find(|e| e.kind == kind).unwrap();
        serde_json::from_str::<Value>(&entry.details).unwrap()
    };
    assert_eq!(
        details("decision"),
        json!({"decision": "denied", "signed": false})
    );
    assert_eq!(details("signed_in")["method"], "link");
    assert_eq!(details("closed"), json!({"previousStatus": "pending"}));
    assert_eq!(details("key_created")["keyType"], "expert");
    // No key, token or question ever reaches the log.
    let new_key = rotated["clientKey"].as_str().unwrap();
    for entry in &all {
        let text = serde_json::to_string(entry).unwrap();
        for secret in [
            app.client_key.as_str(),
            app.expert_key.as_str(),
            new_key,
            created["clientKey"].as_str().unwrap(),
            session.0.as_str(),
            "May I deploy?",
        ] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    assert_intact(&app).await;
}

#[tokio::test]
async fn the_dashboard_lists_a_requests_entries_to_its_expert_only() {
    let app = common::spawn().await;
    let request = app.ask_ok(&app.client_key, "Close me").await;
    let (status, _) = app
        .post(
            &format!("/api/v1/close/{request}"),
            &app.expert_key,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let session = app.session(&app.expert_id).await;
    let get = reqwest::Method::GET;
    let path = format!("/api/requests/{request}/audit");
    let (status, body) = dashboard(&app, &session, get.clone(), &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = body["entries"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["kind"], "closed");
    assert_eq!(listed[0]["actor"], format!("expert:{}", app.expert_id));
    assert_eq!(listed[0]["details"], json!({"previousStatus": "pending"}));
    assert!(listed[0]["createdAt"].is_string());

    // Another tenant's expert: exactly the answer of a request that does not exist.
    let stranger = app.tenant("Mallory").await;
    let theirs = app.session(&stranger.expert_id).await;
    let hidden = dashboard(&app, &theirs, get.clone(), &path, None).await;
    let missing = dashboard(&app, &theirs, get, "/api/requests/nope/audit", None).await;
    assert_eq!(hidden.0, StatusCode::NOT_FOUND);
    assert_eq!(hidden, missing);
    // Without a session: 401.
    let anonymous = app.http.get(app.url(&path)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn published_expert_keys_and_enrolled_devices_are_recorded() {
    let app = common::spawn().await;
    let (status, published) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/expert/keys",
            Some(&app.expert_key),
            Some(common::exchange_keys()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    let device_key = heysummon_sdk::keys::PartyKeys::generate().public().sign;
    let (status, enrolled) = app
        .post(
            "/api/v1/devices",
            &app.client_key,
            json!({"publicKey": device_key.to_hex()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{enrolled}");

    let all = entries(&app).await;
    assert_eq!(
        facts(&all[2..]),
        [
            fact(
                "expert_keys_published",
                &format!("expert:{}", app.expert_id),
                &app.expert_id
            ),
            fact(
                "device_enrolled",
                &format!("client:{}", app.client_key_id),
                &app.client_key_id
            ),
        ]
    );
    let details: Vec<Value> = all[2..]
        .iter()
        .map(|e| serde_json::from_str(&e.details).unwrap())
        .collect();
    assert_eq!(details[0]["fingerprint"], published["fingerprint"]);
    assert_eq!(details[1]["deviceId"], enrolled["deviceId"]);
    assert_intact(&app).await;
}
