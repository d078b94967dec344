//! Signing in to the dashboard in a real browser (PROTOCOL E2): one-time links (once, for
//! 15 minutes) and OpenID Connect against the fake provider on loopback, redirects and cookies
//! handled by Chromium itself.

use anyhow::Result;
use heysummon_server::clock::Clock;
use heysummon_server::testing::TestApp;
use heysummon_server::testing::fake_oauth::{FakeIdentity, FakeProvider};

use crate::driver::Browser;
use crate::ui::{DESKTOP, finish, new_page, screenshot, sign_in, wait_for_inbox};

const START_MS: i64 = 1_777_147_005_123;
const USED_OR_EXPIRED: &str = "This sign-in link has been used already or has expired";

#[tokio::test]
async fn a_sign_in_link_works_once() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let link = app.login_link(&app.expert_id).await;

    let page = new_page(&browser, "first", DESKTOP).await?;
    page.goto(&link).await?;
    wait_for_inbox(&page).await?;
    assert_eq!(page.url().await?, app.url("/"));
    assert_eq!(page.text("#who").await?, "Alice");
    page.wait_for_text("h1", "Inbox").await?;
    finish(&page).await?;

    // The same link in another browser: refused on the sign-in page, no session.
    let again = new_page(&browser, "second", DESKTOP).await?;
    again.goto(&link).await?;
    again
        .wait_for_text(".signin [role=alert]", USED_OR_EXPIRED)
        .await?;
    assert_eq!(
        again.url().await?,
        app.url("/signin"),
        "the token leaves the URL"
    );
    assert_eq!(again.count("header.bar:not([hidden])").await?, 0);
    assert_eq!(again.count("#inbox-list").await?, 0);
    finish(&again).await
}

#[tokio::test]
async fn an_expired_sign_in_link_is_refused() -> Result<()> {
    let app = TestApp::builder()
        .clock(Clock::manual(START_MS))
        .spawn()
        .await;
    let browser = Browser::launch().await?;
    let link = app.login_link(&app.expert_id).await;
    app.clock.advance(15 * 60 * 1000);

    let page = new_page(&browser, "default", DESKTOP).await?;
    page.goto(&link).await?;
    page.wait_for_text(".signin [role=alert]", USED_OR_EXPIRED)
        .await?;
    assert_eq!(page.count("#inbox-list").await?, 0);
    // Still signed out: the dashboard's root shows the sign-in page.
    page.goto(&app.url("/")).await?;
    page.wait_for_text("h1", "Sign in to HeySummon").await?;
    assert_eq!(page.url().await?, app.url("/signin"));
    finish(&page).await
}

/// A server whose `[auth.oidc]` is the fake provider, and the provider.
async fn oidc_app() -> (TestApp, FakeProvider) {
    let fake = FakeProvider::start().await;
    let oidc = fake.oidc_config();
    let app = TestApp::builder()
        .config(|c| c.auth.oidc = Some(oidc))
        .spawn()
        .await;
    (app, fake)
}

#[tokio::test]
async fn a_linked_identity_signs_in_through_the_provider() -> Result<()> {
    let (app, fake) = oidc_app().await;
    app.store
        .link_identity("oidc", "sub-alice", &app.expert_id, app.clock.now())
        .await?;
    fake.set_identity(FakeIdentity::new("sub-alice"));
    let browser = Browser::launch().await?;

    let page = new_page(&browser, "default", DESKTOP).await?;
    page.goto(&app.url("/")).await?;
    page.wait_for_text("#providers a", "Sign in with Fake OIDC")
        .await?;
    page.click("#providers a").await?;
    wait_for_inbox(&page).await?;
    assert_eq!(page.url().await?, app.url("/"));
    assert_eq!(page.text("#who").await?, "Alice");
    let seen = fake.authorizations();
    assert_eq!(seen.len(), 1, "one trip through the provider");
    assert_eq!(seen[0].code_challenge_method.as_deref(), Some("S256"));
    finish(&page).await
}

#[tokio::test]
async fn an_unlinked_identity_lands_on_the_sign_in_page() -> Result<()> {
    let (app, fake) = oidc_app().await;
    fake.set_identity(FakeIdentity::new("sub-stranger").email("mallory@example.com", true));
    let browser = Browser::launch().await?;

    let page = new_page(&browser, "default", DESKTOP).await?;
    page.goto(&app.url("/signin")).await?;
    page.click("#providers a").await?;
    page.wait_for_text(
        ".signin [role=alert]",
        "That account is not linked to an expert here",
    )
    .await?;
    assert_eq!(page.count("#inbox-list").await?, 0);
    let me = page
        .evaluate(
            "return (await fetch('/api/me')).status;",
            serde_json::Value::Null,
        )
        .await?;
    assert_eq!(me, 401, "no session");
    screenshot(&page, "signin-refused-desktop").await?;
    finish(&page).await?;

    // The sign-in link still works in that browser afterwards.
    drop(page);
    let page = sign_in(&browser, &app).await?;
    finish(&page).await
}

#[tokio::test]
async fn a_link_never_switches_a_signed_in_browser_without_asking() -> Result<()> {
    let app = TestApp::spawn().await;
    let bob = app.tenant("Bob").await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    assert_eq!(page.text("#who").await?, "Alice");

    // Someone's link opened in Alice's browser: asked first; cancelled, nothing changes and the
    // link stays unused.
    let bobs = app.login_link(&bob.expert_id).await;
    page.goto(&bobs).await?;
    page.wait_for_text("#confirm-text", "signed in as Alice")
        .await?;
    page.press("Escape").await?;
    wait_for_inbox(&page).await?;
    assert_eq!(page.text("#who").await?, "Alice");

    // Accepted: Alice's session ends, Bob's begins.
    page.goto(&bobs).await?;
    page.wait_for_text("#confirm-text", "signed in as Alice")
        .await?;
    page.click("#confirm-ok").await?;
    page.wait_for_text("#who", "Bob").await?;
    wait_for_inbox(&page).await?;
    let sessions = app.session(&app.expert_id).await; // a fresh one, to ask the server
    let (status, listed) = app
        .http
        .get(app.url("/api/sessions"))
        .header("cookie", &sessions.0)
        .send()
        .await
        .map(|r| (r.status(), r))?;
    assert_eq!(status, 200);
    let listed: serde_json::Value = listed.json().await?;
    assert_eq!(
        listed["sessions"].as_array().map(Vec::len),
        Some(1),
        "Alice's browser session ended: {listed}"
    );
    finish(&page).await
}
