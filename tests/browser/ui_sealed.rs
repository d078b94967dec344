//! End-to-end encryption through the dashboard (PROTOCOL E4): the expert makes an identity on
//! the Keys page, a Rust agent seals a question to it, the question arrives live and opens in the
//! browser, the reply is sealed in the browser; and the identity file moves between the browser
//! and the expert's terminal (`ExpertClient`) in both directions.

use anyhow::Result;
use heysummon_sdk::AskOptions;
use heysummon_server::testing::TestApp;
use serde_json::Value;

use crate::driver::Browser;
use crate::ui::{
    DESKTOP, LIMIT, PASSPHRASE, compact, expert_terminal, finish, first_arrival, go, make_identity,
    open_request, row, sealing_agent, sign_in, sign_in_as, wait_for_inbox, wait_published,
};

/// A fingerprint as the Keys page shows it: 16 groups of four hex digits.
fn assert_grouped(fingerprint: &str) {
    let groups: Vec<&str> = fingerprint.split(' ').collect();
    assert_eq!(groups.len(), 16, "{fingerprint}");
    assert!(
        groups
            .iter()
            .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_hexdigit())),
        "{fingerprint}"
    );
}

#[tokio::test]
async fn a_sealed_question_is_read_and_answered_in_the_dashboard() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;

    let fingerprint = make_identity(&page).await?;
    assert_grouped(&fingerprint);
    let me = page
        .evaluate("return (await fetch('/api/me')).json();", Value::Null)
        .await?;
    assert_eq!(me["publishedKeys"]["fingerprint"], compact(&fingerprint));

    go(&page, "inbox").await?;
    wait_for_inbox(&page).await?;
    page.evaluate("window.__sameDocument = true; return null;", Value::Null)
        .await?;

    let agent = sealing_agent(&app, &fingerprint)?;
    let question = "Q-7f3a: may I rotate the signing key of the payments service tonight?";
    let answer = "A-91c2: yes, after the 22:00 batch has settled";
    let options = AskOptions::new().with_timeout(LIMIT);
    let asking = tokio::spawn(async move { agent.ask_with(question, options).await });

    // It arrives live: a row appears without a reload, sealed, its text unreadable.
    let id = first_arrival(&page).await?;
    assert_eq!(
        page.evaluate("return window.__sameDocument ?? false;", Value::Null)
            .await?,
        true,
        "the inbox updated in place"
    );
    let shown_at = page.attribute(&row(&id), "data-shown-at").await?;
    assert!(
        shown_at.is_some_and(|at| at.parse::<f64>().is_ok()),
        "a new row"
    );
    let summary = page.text(&format!("{} .summary", row(&id))).await?;
    assert!(summary.contains("Sealed"), "{summary}");
    assert!(!summary.contains("Q-7f3a"), "{summary}");

    // Opened: decrypted in the browser.
    page.click(&format!("{} a", row(&id))).await?;
    page.wait_for_text("#question", question).await?;
    assert_eq!(page.text("#question").await?, question);
    assert!(
        page.text("#encryption")
            .await?
            .contains("Sealed end to end")
    );
    page.fill("#reply", answer).await?;
    page.click("#send").await?;
    page.wait_for_text("#conversation .message.expert", answer)
        .await?;

    let got = tokio::time::timeout(LIMIT, asking).await???;
    assert_eq!(got.text, answer);
    assert!(got.end_to_end);
    for needle in [
        "Q-7f3a",
        "A-91c2",
        "signing key of the payments",
        "22:00 batch",
    ] {
        assert!(
            !app.database_contains(needle.as_bytes()).await,
            "{needle} in the database"
        );
    }
    finish(&page).await
}

#[tokio::test]
async fn an_identity_exported_from_the_browser_opens_questions_in_the_terminal() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    let fingerprint = make_identity(&page).await?;

    let dir = tempfile::tempdir()?;
    let saved = dir.path().join("identity.json");
    let name = page.download("#export", &saved).await?;
    assert!(name.starts_with("heysummon-identity-"), "{name}");
    assert!(
        std::path::Path::new(&name)
            .extension()
            .is_some_and(|ext| ext == "json"),
        "{name}"
    );
    let file = std::fs::read_to_string(&saved)?;
    let terminal = expert_terminal(&app)?;
    let imported = terminal.import_identity(&file, PASSPHRASE)?;
    assert_eq!(imported.to_string(), compact(&fingerprint));

    // A question sealed after the export opens in the terminal.
    let agent = sealing_agent(&app, &fingerprint)?;
    let question = "Q-2b8e: may I drop the staging replica?";
    let asked = agent.submit(question, &AskOptions::new()).await?;
    assert!(asked.is_sealed());
    let opened = terminal.open(asked.request_id()).await?;
    assert!(opened.sealed);
    assert_eq!(opened.question, question);
    assert!(!app.database_contains(b"Q-2b8e").await);
    finish(&page).await
}

#[tokio::test]
async fn an_identity_from_the_terminal_opens_questions_in_a_fresh_browser() -> Result<()> {
    let app = TestApp::spawn().await;
    let terminal = expert_terminal(&app)?;
    let published = terminal.publish_keys().await?;
    let file = terminal.export_identity(PASSPHRASE)?;
    let browser = Browser::launch().await?;
    let page = sign_in_as(&browser, &app, &app.expert_id, "fresh", DESKTOP).await?;
    let agent = sealing_agent(&app, &published.to_string())?;
    let question = "Q-c41d: may I restart the queue workers?";
    let asked = agent.submit(question, &AskOptions::new()).await?;

    // Without the identity this browser cannot read it, nor answer.
    open_request(&page, &app, asked.request_id().as_str()).await?;
    page.wait_for_text("#question", "Set up your keys").await?;
    assert_eq!(
        page.attribute("#send", "disabled").await?.as_deref(),
        Some("")
    );
    page.click("#reply-form a[href='/keys']").await?;
    page.wait_for_text("#identity", "Make an identity").await?;
    page.fill("#passphrase", PASSPHRASE).await?;
    page.set_input_text_file("#identity-file", "identity.json", &file)
        .await?;
    page.click("#import").await?;
    let shown = wait_published(&page).await?;
    assert_eq!(compact(&shown), published.to_string());

    // With it, the question opens in this browser.
    open_request(&page, &app, asked.request_id().as_str()).await?;
    page.wait_for_text("#question", question).await?;
    assert_eq!(page.attribute("#send", "disabled").await?, None);
    finish(&page).await?;

    // A wrong passphrase is refused with a message, and the identity stays.
    go(&page, "keys").await?;
    page.fill("#passphrase", "not the passphrase").await?;
    page.set_input_text_file("#identity-file", "identity.json", &file)
        .await?;
    page.click("#import").await?;
    page.wait_for_text("#toast.show", "wrong passphrase")
        .await?;
    assert_eq!(page.text("#fingerprint").await?, shown);
    finish(&page).await
}

#[tokio::test]
async fn a_sealed_conversation_goes_on_live_and_is_closed() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    let fingerprint = make_identity(&page).await?;
    let agent = sealing_agent(&app, &fingerprint)?;
    let asked = agent
        .submit("May I run the data migration now?", &AskOptions::new())
        .await?;
    open_request(&page, &app, asked.request_id().as_str()).await?;
    page.wait_for_text("#question", "data migration").await?;

    // The agent follows up while the expert is typing: the message appears, decrypted, and
    // the draft survives the redraw.
    page.fill("#reply", "Wait until").await?;
    asked
        .send("Follow-up: the nightly batch runs late today.")
        .await?;
    page.wait_for_text("#conversation .message.consumer", "runs late today")
        .await?;
    let draft = page
        .evaluate(
            "const box = document.getElementById('reply'); \
             return [box.value, document.activeElement === box];",
            Value::Null,
        )
        .await?;
    assert_eq!(draft, serde_json::json!(["Wait until", true]));
    page.fill("#reply", "Wait until the batch is done, then go ahead.")
        .await?;
    page.click("#send").await?;
    let answer = asked
        .answer(heysummon_sdk::WaitOptions::new().with_timeout(LIMIT))
        .await?;
    assert_eq!(answer.text, "Wait until the batch is done, then go ahead.");
    assert!(answer.end_to_end);

    page.click("#close").await?;
    page.wait_for("dialog#confirm[open]").await?;
    page.click("#confirm-ok").await?;
    page.wait_for_text("main", "This request is closed.")
        .await?;
    assert_eq!(page.count("#reply, #send").await?, 0);
    assert_eq!(asked.status().await?.status.as_str(), "closed");
    assert!(!app.database_contains(b"nightly batch runs late").await);
    finish(&page).await
}

#[tokio::test]
async fn hidden_controls_in_a_sealed_question_are_made_visible() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    let fingerprint = make_identity(&page).await?;
    go(&page, "inbox").await?;
    wait_for_inbox(&page).await?;

    // Only the browser can read a sealed question, so only the browser can neutralise what
    // would reorder it: a right-to-left override making "exe.txt" read as "txt.exe".
    let agent = sealing_agent(&app, &fingerprint)?;
    let question = "Open invoice_\u{202E}txt.exe and pay it?";
    let options = AskOptions::new().with_timeout(LIMIT);
    let asking = tokio::spawn(async move { agent.ask_with(question, options).await });
    let id = first_arrival(&page).await?;
    page.click(&format!("{} a", row(&id))).await?;
    page.wait_for_text("#question", "invoice_").await?;
    assert_eq!(
        page.text("#question").await?,
        "Open invoice_<U+202E>txt.exe and pay it?"
    );
    asking.abort();
    finish(&page).await
}
