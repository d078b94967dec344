//! What a signed-in page cannot do (PROTOCOL E2, E3, part A tenancy): a state-changing call
//! without the session's CSRF token is refused, and another expert's request is not reachable,
//! through the API or the dashboard, and answers exactly like one that does not exist.

use anyhow::Result;
use heysummon_server::testing::TestApp;
use serde_json::{Value, json};

use crate::driver::Browser;
use crate::ui::{finish, row, sign_in, wait_for_row};

/// `fetch` from the page: `{status, body}`.
const FETCH_JS: &str = r"
const response = await fetch(arg.path, arg.init ?? {});
const text = await response.text();
let body = null;
try { body = JSON.parse(text); } catch { body = text; }
return { status: response.status, body };
";

async fn fetch(page: &crate::page::Page<'_>, path: &str, init: Value) -> Result<Value> {
    page.evaluate(FETCH_JS, json!({ "path": path, "init": init }))
        .await
}

#[tokio::test]
async fn a_state_changing_call_without_the_csrf_token_is_refused() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    let body = json!({ "name": "made by a forged request" }).to_string();

    let forged = json!({
        "method": "POST", "headers": { "content-type": "application/json" }, "body": body,
    });
    let refused = fetch(&page, "/api/keys", forged.clone()).await?;
    assert_eq!(refused["status"], 403, "{refused}");
    assert!(refused["body"]["clientKey"].is_null());
    let wrong = json!({
        "method": "POST", "body": body,
        "headers": { "content-type": "application/json", "x-csrf-token": "0".repeat(64) },
    });
    assert_eq!(fetch(&page, "/api/keys", wrong).await?["status"], 403);
    // The v1 API with the session is guarded the same way.
    let id = app.ask_ok(&app.client_key, "Close me?").await;
    let close = fetch(
        &page,
        &format!("/api/v1/close/{id}"),
        json!({"method": "POST"}),
    )
    .await?;
    assert_eq!(close["status"], 403, "{close}");
    let listed = fetch(&page, "/api/keys", Value::Null).await?;
    assert_eq!(listed["body"]["keys"].as_array().map(Vec::len), Some(1));

    // With the token (as the dashboard sends it) the same call works.
    let me = fetch(&page, "/api/me", Value::Null).await?;
    let token = me["body"]["csrfToken"].as_str().unwrap().to_owned();
    let proper = json!({
        "method": "POST", "body": body,
        "headers": { "content-type": "application/json", "x-csrf-token": token },
    });
    let made = fetch(&page, "/api/keys", proper).await?;
    assert_eq!(made["status"], 201, "{made}");
    assert!(made["body"]["clientKey"].as_str().is_some());
    finish(&page).await
}

#[tokio::test]
async fn another_experts_request_is_out_of_reach() -> Result<()> {
    let app = TestApp::spawn().await;
    let bob = app.tenant("Bob").await;
    let theirs = app.ask_ok(&bob.client_key, "Bob's private question").await;
    let ours = app.ask_ok(&app.client_key, "Alice's question").await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;

    // Not in the inbox, under any filter.
    wait_for_row(&page, &ours).await?;
    page.goto(&app.url("/?filter=all")).await?;
    wait_for_row(&page, &ours).await?;
    assert_eq!(page.count(&row(&theirs)).await?, 0);

    // Not through the API: exactly like a request that does not exist.
    let found = fetch(&page, &format!("/api/requests/{theirs}"), Value::Null).await?;
    let missing = fetch(&page, "/api/requests/no-such-request", Value::Null).await?;
    assert_eq!(found["status"], 404, "{found}");
    assert_eq!(found["body"], missing["body"]);
    let messages = fetch(&page, &format!("/api/v1/messages/{theirs}"), Value::Null).await?;
    assert!(
        messages["status"] == 404 || messages["status"] == 403,
        "{messages}"
    );
    assert!(!messages.to_string().contains("Bob's private question"));

    // Not through the dashboard.
    page.goto(&app.url(&format!("/requests/{theirs}"))).await?;
    page.wait_for_text("h1", "Request not found").await?;
    assert_eq!(page.count("#question").await?, 0);
    let text = page.text("main").await?;
    assert!(!text.contains("Bob's private question"), "{text}");
    finish(&page).await
}
