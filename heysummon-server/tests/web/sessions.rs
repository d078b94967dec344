//! Sessions: their limits, CSRF, logout, and the session accepted by `/api/v1` (PROTOCOL E2,
//! E3).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::Browser;
use crate::common;

const HOUR: i64 = 3600 * 1000;

#[tokio::test]
async fn without_a_session_the_api_answers_401() {
    let app = common::spawn().await;
    for path in ["/api/me", "/api/requests", "/api/keys", "/api/sessions"] {
        let (status, body) = app.get(path, "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body["code"], "NOT_SIGNED_IN");
    }
    let forged = app
        .http
        .get(app.url("/api/me"))
        .header("cookie", format!("hs_session={}", "a".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn me_names_the_expert_and_its_csrf_token() {
    let app = common::spawn().await;
    let browser = Browser::sign_in(&app).await;
    let (status, me) = browser.get("/api/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["expert"]["id"], app.expert_id.as_str());
    assert_eq!(me["expert"]["name"], "Alice");
    assert_eq!(me["csrfToken"], browser.csrf.as_str());
    assert!(me["publishedKeys"].is_null());

    let (status, renamed) = browser
        .send(
            Method::PATCH,
            "/api/me",
            Some(json!({"name": "  Alice B.  "})),
            true,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(renamed["expert"]["name"], "Alice B.");
    for bad in [
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({"name": "a\u{7}"}),
    ] {
        let (status, body) = browser
            .send(Method::PATCH, "/api/me", Some(bad), true)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn state_changes_need_the_csrf_token() {
    let app = common::spawn().await;
    let browser = Browser::sign_in(&app).await;
    let request_id = app.ask_ok(&app.client_key, "Restart?").await;
    let attempts = [
        (
            Method::POST,
            "/api/keys".to_owned(),
            Some(json!({"name": "x"})),
        ),
        (
            Method::PATCH,
            "/api/me".to_owned(),
            Some(json!({"name": "x"})),
        ),
        (Method::DELETE, "/api/sessions".to_owned(), None),
        (
            Method::POST,
            format!("/api/v1/close/{request_id}"),
            Some(json!({})),
        ),
        (Method::POST, "/auth/logout".to_owned(), Some(json!({}))),
    ];
    for (method, path, body) in attempts.iter().cloned() {
        let (status, answer) = browser
            .send(method.clone(), &path, body.clone(), false)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(answer["code"], "CSRF_TOKEN_INVALID");
        // A token of another session is no better.
        let other = Browser::sign_in(&app).await;
        let mut wrong = Browser {
            app: &app,
            cookie: browser.cookie.clone(),
            csrf: other.csrf,
        };
        wrong.csrf.make_ascii_uppercase();
        let (status, _) = wrong.send(method, &path, body, true).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // Nothing happened.
    let (_, me) = browser.get("/api/me").await;
    assert_eq!(me["expert"]["name"], "Alice");
    let (_, keys) = browser.get("/api/keys").await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    let (_, status) = app
        .get(&format!("/api/v1/help/{request_id}"), &app.client_key)
        .await;
    assert_eq!(status["status"], "pending");
}

#[tokio::test]
async fn the_session_is_accepted_by_the_expert_api() {
    let app = common::spawn().await;
    let browser = Browser::sign_in(&app).await;
    let request_id = app.ask_ok(&app.client_key, "May I deploy?").await;
    let (status, list) = browser.get("/api/v1/requests").await;
    assert_eq!(status, 200);
    assert_eq!(list["requests"][0]["id"], request_id.as_str());
    let (status, conversation) = browser.get(&format!("/api/v1/messages/{request_id}")).await;
    assert_eq!(status, 200, "{conversation}");
    let (status, published) = browser
        .send(
            Method::PUT,
            "/api/v1/expert/keys",
            Some(common::exchange_keys()),
            true,
        )
        .await;
    assert_eq!(status, 200, "{published}");
    let (_, me) = browser.get("/api/me").await;
    assert_eq!(me["publishedKeys"]["fingerprint"], published["fingerprint"]);
    let (status, reply) = browser
        .post(
            &format!("/api/v1/message/{request_id}"),
            json!({"from": "expert", "plaintext": "Yes, go ahead."}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let (status, closed) = browser
        .post(&format!("/api/v1/close/{request_id}"), json!({}))
        .await;
    assert_eq!(status, 200, "{closed}");
    // A key, when present, decides: a client key with the expert's cookie stays a client.
    let (status, _) = app
        .http
        .get(app.url("/api/v1/requests"))
        .header("cookie", &browser.cookie)
        .header("x-api-key", &app.client_key)
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_event_stream_accepts_the_session() {
    let app = common::spawn().await;
    let browser = Browser::sign_in(&app).await;
    let mut stream = browser.open_stream().await;
    let request_id = app.ask_ok(&app.client_key, "Are you there?").await;
    let mut seen = String::new();
    while !seen.contains(&request_id) {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), stream.chunk())
            .await
            .expect("the event arrives")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: new_request"), "{seen}");
}

#[tokio::test]
async fn sessions_end_when_idle_and_after_seven_days() {
    let app = common::spawn().await;
    let idle = Browser::sign_in(&app).await;
    let active = Browser::sign_in(&app).await;
    app.clock.advance(11 * HOUR);
    assert_eq!(active.get("/api/me").await.0, 200);
    app.clock.advance(HOUR + 1);
    assert_eq!(
        idle.get("/api/me").await.0,
        StatusCode::UNAUTHORIZED,
        "12 h idle"
    );
    // Used every 11 h, it still ends 7 days after it began.
    let mut elapsed = 12 * HOUR + 1;
    while elapsed + 11 * HOUR < 7 * 24 * HOUR {
        assert_eq!(active.get("/api/me").await.0, 200, "after {elapsed} ms");
        app.clock.advance(11 * HOUR);
        elapsed += 11 * HOUR;
    }
    app.clock.advance(7 * 24 * HOUR - elapsed);
    assert_eq!(
        active.get("/api/me").await.0,
        StatusCode::UNAUTHORIZED,
        "7 days"
    );
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = common::spawn().await;
    let browser = Browser::sign_in(&app).await;
    let other = Browser::sign_in(&app).await;
    let (status, listed) = browser.get("/api/sessions").await;
    assert_eq!(status, 200);
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);

    let (status, _) = browser.post("/auth/logout", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(browser.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(other.get("/api/me").await.0, 200);

    // Ending another session by id; a stranger's id answers like a missing one.
    let third = Browser::sign_in(&app).await;
    let (_, listed) = third.get("/api/sessions").await;
    let other_id = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = app.tenant("Bob").await;
    let stranger = Browser::sign_in_as(&app, &bob.expert_id).await;
    let (status, refused) = stranger.delete(&format!("/api/sessions/{other_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, missing) = stranger.delete("/api/sessions/nope").await;
    assert_eq!(refused, missing);
    assert_eq!(
        third.delete(&format!("/api/sessions/{other_id}")).await.0,
        200
    );
    assert_eq!(other.get("/api/me").await.0, StatusCode::UNAUTHORIZED);

    // Everywhere: this browser too.
    let (status, ended) = third.delete("/api/sessions").await;
    assert_eq!(status, 200);
    assert_eq!(ended["ended"], 1);
    assert_eq!(third.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        stranger.get("/api/me").await.0,
        200,
        "other experts are untouched"
    );
}

#[tokio::test]
async fn two_session_cookies_sign_nobody_in() {
    let app = common::spawn().await;
    let alice = Browser::sign_in(&app).await;
    let bob = app.tenant("Bob").await;
    let planted = Browser::sign_in_as(&app, &bob.expert_id).await;
    for cookie in [
        format!("{}; {}", alice.cookie, planted.cookie),
        format!("{}; {}", planted.cookie, alice.cookie),
    ] {
        let response = app
            .http
            .get(app.url("/api/me"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn logout_without_a_session_changes_nothing() {
    let app = common::spawn().await;
    let browser = Browser::sign_in(&app).await;
    // A cross-site form arrives without the Lax cookie: no session, no cookie cleared.
    let response = app
        .http
        .post(app.url("/auth/logout"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(browser.get("/api/me").await.0, 200);
}

#[tokio::test]
async fn signing_out_ends_the_sessions_event_stream() {
    let app = common::spawn().await;
    let browser = Browser::sign_in(&app).await;
    let mut stream = browser.open_stream().await;
    let (status, _) = browser.post("/auth/logout", json!({})).await;
    assert_eq!(status, 200);
    // Checked again within 15 s: the stream ends (keep-alives may come first).
    let ended = tokio::time::timeout(std::time::Duration::from_secs(25), async {
        while let Some(_chunk) = stream.chunk().await.unwrap_or(None) {}
    })
    .await;
    assert!(ended.is_ok(), "the stream of an ended session is closed");
}

#[tokio::test]
async fn identities_link_only_to_known_providers() {
    let app = common::spawn().await;
    let refused = heysummon_server::provision::link_identity(
        &app.store,
        &app.clock,
        &app.expert_id,
        "GitHub",
        "12345",
    )
    .await;
    assert!(refused.is_err());
    heysummon_server::provision::link_identity(
        &app.store,
        &app.clock,
        &app.expert_id,
        "github",
        "12345",
    )
    .await
    .unwrap();
}
