//! The Keys and Settings pages: client keys (made, shown once, rotated, revoked), the identity
//! removed from the browser, the expert's name, and signing out here or everywhere.

use anyhow::Result;
use heysummon_server::testing::TestApp;
use serde_json::Value;

use crate::driver::Browser;
use crate::ui::{DESKTOP, finish, go, make_identity, sign_in, sign_in_as, wait_for_inbox};

#[tokio::test]
async fn a_client_key_is_shown_once_and_never_listed() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    go(&page, "keys").await?;
    page.wait_for_text("table", "Alice's agent").await?;

    page.fill("#key-name", "deploy agent").await?;
    page.click("#create-key").await?;
    page.wait_for("#new-key-value").await?;
    let key = page.text("#new-key-value").await?;
    assert!(key.starts_with("hs_cli_"), "{key}");
    page.wait_for_text("table", "deploy agent").await?;
    assert!(!page.text("table").await?.contains(&key));
    let name = page
        .evaluate(
            "return document.getElementById('key-name').value;",
            Value::Null,
        )
        .await?;
    assert_eq!(name, "", "the form is ready for the next key");

    // The key works for an agent, once; the dashboard never shows it again.
    let (status, whoami) = app.get("/api/v1/whoami", &key).await;
    assert_eq!(status, 200, "{whoami}");
    assert_eq!(whoami["keyName"], "deploy agent");
    go(&page, "inbox").await?;
    wait_for_inbox(&page).await?;
    go(&page, "keys").await?;
    page.wait_for_text("table", "deploy agent").await?;
    assert_eq!(page.count("#new-key-value").await?, 0);
    let html = page
        .evaluate("return document.documentElement.outerHTML;", Value::Null)
        .await?;
    assert!(!html.as_str().unwrap().contains(&key));
    finish(&page).await
}

#[tokio::test]
async fn a_client_key_is_rotated_and_revoked() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    go(&page, "keys").await?;
    let rotate = "button[aria-label=\"Rotate Alice's agent\"]";
    page.click(rotate).await?;
    page.wait_for("dialog#confirm[open]").await?;
    page.click("#confirm-ok").await?;
    page.wait_for_text("#new-key", "The rotated key").await?;
    let rotated = page.text("#new-key-value").await?;
    assert!(
        rotated.starts_with("hs_cli_") && rotated != app.client_key,
        "{rotated}"
    );
    // Both work during the grace period.
    assert_eq!(app.get("/api/v1/whoami", &rotated).await.0, 200);
    assert_eq!(app.get("/api/v1/whoami", &app.client_key).await.0, 200);

    page.click("button[aria-label=\"Revoke Alice's agent\"]")
        .await?;
    page.wait_for("dialog#confirm[open]").await?;
    page.click("#confirm-ok").await?;
    page.wait_for_text("#toast", "Key revoked").await?;
    page.wait_for_text("tbody tr", "revoked").await?;
    assert_eq!(page.count(rotate).await?, 0, "nothing left to rotate");
    assert_eq!(app.get("/api/v1/whoami", &rotated).await.0, 401);
    finish(&page).await
}

#[tokio::test]
async fn the_identity_is_removed_from_the_browser_only() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    let fingerprint = make_identity(&page).await?;

    // Cancelled: nothing happens.
    page.click("#forget").await?;
    page.wait_for("dialog#confirm[open]").await?;
    page.press("Escape").await?;
    page.wait_for_state("dialog#confirm", "hidden", None)
        .await?;
    assert_eq!(page.text("#fingerprint").await?, fingerprint);

    page.click("#forget").await?;
    page.click("#confirm-ok").await?;
    page.wait_for("#generate").await?;
    assert_eq!(page.count("#fingerprint, #export").await?, 0);
    // The server still has the published keys; another browser may hold the identity.
    let me = page
        .evaluate("return (await fetch('/api/me')).json();", Value::Null)
        .await?;
    assert_eq!(
        me["publishedKeys"]["fingerprint"],
        fingerprint.replace(' ', "")
    );
    page.reload().await?;
    page.wait_for("#generate").await?;
    finish(&page).await
}

#[tokio::test]
async fn the_expert_renames_and_signs_out() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    go(&page, "settings").await?;
    page.wait_for_text("tbody", "(this browser)").await?;
    page.fill("#name", "Alice Liddell").await?;
    page.press_on("#name", "Enter").await?;
    page.wait_for_text("#who", "Alice Liddell").await?;
    page.reload().await?;
    page.wait_for_text("#who", "Alice Liddell").await?;

    page.click("#logout").await?;
    page.wait_for_text("h1", "Sign in to HeySummon").await?;
    assert_eq!(page.url().await?, app.url("/signin"));
    let me = page
        .evaluate("return (await fetch('/api/me')).status;", Value::Null)
        .await?;
    assert_eq!(me, 401);
    page.goto(&app.url("/settings")).await?;
    page.wait_for_text("h1", "Sign in to HeySummon").await?;
    finish(&page).await
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_browser() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let laptop = sign_in_as(&browser, &app, &app.expert_id, "laptop", DESKTOP).await?;
    let desk = sign_in_as(&browser, &app, &app.expert_id, "desk", DESKTOP).await?;
    go(&desk, "settings").await?;
    desk.wait_for_text("tbody", "(this browser)").await?;
    assert_eq!(desk.count("tbody tr").await?, 2);

    desk.click("#logout-everywhere").await?;
    desk.wait_for("dialog#confirm[open]").await?;
    desk.click("#confirm-ok").await?;
    desk.wait_for_text("h1", "Sign in to HeySummon").await?;

    // The other browser is signed out at its next step.
    go(&laptop, "keys").await?;
    laptop.wait_for_text("h1", "Sign in to HeySummon").await?;
    assert_eq!(laptop.url().await?, app.url("/signin"));
    assert_eq!(laptop.count("header.bar:not([hidden])").await?, 0);
    finish(&laptop).await?;
    finish(&desk).await
}
