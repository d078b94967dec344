//! One-time sign-in links and the session cookie (PROTOCOL E2).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestApp};

fn token_of(url: &str) -> String {
    let (_, token) = url
        .split_once("/signin#")
        .expect("a link to /signin with the token in the fragment");
    token.to_owned()
}

async fn use_link(app: &TestApp, token: &str) -> reqwest::Response {
    app.http
        .post(app.url("/auth/link"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_link_signs_in_once() {
    let app = common::spawn().await;
    let link = app.login_link(&app.expert_id).await;
    assert!(link.starts_with(&app.base));
    let token = token_of(&link);
    assert!(
        !app.database_contains(token.as_bytes()).await,
        "links are stored as hashes"
    );

    let response = use_link(&app, &token).await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("hs_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http: no Secure attribute"
    );
    let session = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("hs_session=");
    assert_eq!(session.len(), 64, "256 random bits");
    assert!(
        !app.database_contains(session.as_bytes()).await,
        "sessions are stored as hashes"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expert"]["id"], app.expert_id.as_str());

    // Used once: refused, exactly like a link that never existed.
    for token in [token.clone(), "0".repeat(64), "short".into()] {
        let response = use_link(&app, &token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "LINK_INVALID");
    }
}

#[tokio::test]
async fn a_link_expires_after_fifteen_minutes() {
    let app = common::spawn().await;
    let fresh = token_of(&app.login_link(&app.expert_id).await);
    let stale = token_of(&app.login_link(&app.expert_id).await);
    app.clock.advance(15 * 60 * 1000 - 1);
    assert_eq!(use_link(&app, &fresh).await.status(), 200);
    app.clock.advance(1);
    assert_eq!(use_link(&app, &stale).await.status(), 401);
}

#[tokio::test]
async fn links_are_json_only_and_bad_bodies_lose_nothing() {
    let app = common::spawn().await;
    let token = token_of(&app.login_link(&app.expert_id).await);
    // A cross-site form cannot send JSON: refused before the link is looked at.
    let form = app
        .http
        .post(app.url("/auth/link"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = form.json().await.unwrap();
    assert!(body["error"].is_string());
    for bad in [
        json!({}),
        json!({"token": 5}),
        json!({"token": token, "extra": 1}),
        json!([token]),
    ] {
        let response = app
            .http
            .post(app.url("/auth/link"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].is_string());
    }
    // The link still works after the bad attempts.
    assert_eq!(use_link(&app, &token).await.status(), 200);
}

#[tokio::test]
async fn an_https_public_url_makes_the_cookie_secure_and_the_links_absolute() {
    let app = common::spawn_with(|c| c.public_url = Some("https://pager.example.com".into())).await;
    let link = heysummon_server::web::create_login_link(
        &app.store,
        &app.expert_id,
        app.state.config.public_url.as_deref().unwrap(),
        app.clock.now(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(link.url.starts_with("https://pager.example.com/signin#"));
    let response = use_link(&app, &token_of(&link.url)).await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn an_unknown_expert_gets_no_link() {
    let app = common::spawn().await;
    let link = heysummon_server::web::create_login_link(&app.store, "nobody", &app.base, 0)
        .await
        .unwrap();
    assert!(link.is_none());
}
