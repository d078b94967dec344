//! Screenshots of the dashboard at desktop (1280×800) and phone (390×844) sizes, under
//! `target/screenshots/`: the inbox with requests of every kind, a sealed question opened and
//! answered, the Keys, Settings and sign-in pages and the help dialog. They are for people to
//! look at; the test checks that the pages render without errors and that nothing overflows the
//! phone's width. With `HEYSUMMON_UPDATE_DOCS=1` the desktop inbox is also written to
//! `docs/dashboard-inbox.png` (the README shows it).

use std::path::Path;

use anyhow::Result;
use heysummon_sdk::AskOptions;
use heysummon_server::provision::ClientOptions;
use heysummon_server::testing::TestApp;

use crate::driver::Browser;
use crate::page::Page;
use crate::ui::{
    DESKTOP, PHONE, assert_fits, finish, go, make_identity, new_page, open_request, plain_agent,
    screenshot, screenshot_dir, sealing_agent, sign_in, wait_for_inbox, wait_for_row,
};

/// Both sizes of one view: the desktop page as it is, the phone page after the same steps.
async fn shoot(desktop: &Page<'_>, phone: &Page<'_>, name: &str) -> Result<()> {
    screenshot(desktop, &format!("{name}-desktop")).await?;
    assert_fits(phone, name).await?;
    screenshot(phone, &format!("{name}-phone")).await?;
    Ok(())
}

#[tokio::test]
async fn screenshots_of_the_dashboard() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let desktop = sign_in(&browser, &app).await?;
    let fingerprint = make_identity(&desktop).await?;

    // Requests of every kind, from two agents.
    let (_, ci_key) = app
        .client_key_for(
            &app.expert_id,
            ClientOptions {
                name: Some("CI pipeline".to_owned()),
                ..ClientOptions::default()
            },
        )
        .await;
    let sealing = sealing_agent(&app, &fingerprint)?;
    let plain = plain_agent(&app)?;
    let no_options = AskOptions::new();
    let answered = plain
        .submit("Can I bump the Postgres minor version?", &no_options)
        .await?;
    app.answer(
        &app.expert_key,
        answered.request_id().as_str(),
        "Yes, 16.4 is fine.",
    )
    .await;
    plain
        .notify("Nightly backup finished: 42 GB in 6 min", AskOptions::new())
        .await?;
    app.ask_ok(
        &ci_key,
        "Flaky test `checkout_total_rounding` failed 3 of the last 10 runs. Quarantine it?",
    )
    .await;
    let deploy = serde_json::json!({
        "tool": "deploy",
        "args": {"service": "payments-api", "build": 4821, "env": "production"},
    });
    let approval = plain
        .submit_approval(
            "Deploy build 4821 (payments-api) to production",
            &AskOptions::new().with_action(deploy),
        )
        .await?;
    let sealed = sealing
        .submit(
            "May I rotate the signing key of the payments service tonight? \
             The old key stays valid for 24 hours.",
            &no_options,
        )
        .await?;

    // A fresh load: no toast left over from publishing the identity.
    desktop.goto(&app.url("/")).await?;
    wait_for_inbox(&desktop).await?;
    let phone = new_page(&browser, "default", PHONE).await?;
    phone.goto(&app.url("/")).await?;
    for page in [&desktop, &phone] {
        wait_for_row(page, sealed.request_id().as_str()).await?;
        wait_for_row(page, approval.request_id().as_str()).await?;
    }
    shoot(&desktop, &phone, "inbox").await?;
    if std::env::var_os("HEYSUMMON_UPDATE_DOCS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/dashboard-inbox.png");
        desktop.screenshot(&docs, false).await?;
    }

    // A sealed question, opened and answered.
    let id = sealed.request_id().as_str();
    open_request(&desktop, &app, id).await?;
    desktop.wait_for_text("#question", "signing key").await?;
    desktop
        .fill(
            "#reply",
            "Yes, after the 22:00 batch has settled. Ping me when it is done.",
        )
        .await?;
    desktop.click("#send").await?;
    desktop.wait_for("#conversation .message.expert").await?;
    for page in [&desktop, &phone] {
        open_request(page, &app, id).await?;
        page.wait_for("#conversation .message.expert").await?;
    }
    shoot(&desktop, &phone, "request").await?;
    let whole = screenshot_dir()?.join("request-phone-full.png");
    phone.screenshot(&whole, true).await?;

    // An approval waiting for a decision.
    for page in [&desktop, &phone] {
        open_request(page, &app, approval.request_id().as_str()).await?;
        page.wait_for("#approve").await?;
    }
    shoot(&desktop, &phone, "approval").await?;

    // Keys, Settings, the help dialog.
    for page in [&desktop, &phone] {
        go(page, "keys").await?;
        page.wait_for_text("table", "CI pipeline").await?;
    }
    shoot(&desktop, &phone, "keys").await?;
    for page in [&desktop, &phone] {
        go(page, "settings").await?;
        page.wait_for_text("#sessions-title", "Sessions").await?;
        page.wait_for("tbody tr").await?;
    }
    shoot(&desktop, &phone, "settings").await?;
    for page in [&desktop, &phone] {
        page.press("?").await?;
        page.wait_for("dialog#help[open]").await?;
    }
    shoot(&desktop, &phone, "help").await?;

    // The dark theme.
    desktop.press("Escape").await?;
    desktop
        .wait_for_state("dialog#help", "hidden", None)
        .await?;
    desktop.click("#theme-toggle").await?;
    desktop.wait_for("html[data-theme=dark]").await?;
    go(&desktop, "inbox").await?;
    wait_for_row(&desktop, approval.request_id().as_str()).await?;
    screenshot(&desktop, "inbox-dark-desktop").await?;
    open_request(&desktop, &app, id).await?;
    desktop.wait_for("#conversation .message.expert").await?;
    screenshot(&desktop, "request-dark-desktop").await?;
    finish(&desktop).await?;
    finish(&phone).await?;

    // Signed out: the sign-in page.
    let desktop = new_page(&browser, "signed-out", DESKTOP).await?;
    let phone = new_page(&browser, "signed-out", PHONE).await?;
    for page in [&desktop, &phone] {
        page.goto(&app.url("/")).await?;
        page.wait_for_text("h1", "Sign in").await?;
    }
    shoot(&desktop, &phone, "signin").await?;
    finish(&desktop).await?;
    finish(&phone).await
}
