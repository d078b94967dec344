//! Answering from the dashboard: approvals decided with the mouse and with the keyboard (each
//! behind the confirmation dialog), a HeySummon v1 request answered in plaintext, and agent text
//! full of markup shown as text everywhere.

use anyhow::Result;
use heysummon_sdk::AskOptions;
use heysummon_sdk::WaitOptions;
use heysummon_sdk::wire::ApprovalDecision;
use heysummon_server::testing::TestApp;
use serde_json::Value;

use crate::driver::Browser;
use crate::ui::{LIMIT, finish, open_request, plain_agent, row, sign_in, wait_for_row};

#[tokio::test]
async fn approvals_are_approved_and_denied_behind_a_confirmation() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    let agent = plain_agent(&app)?;
    let wait = WaitOptions::new().with_timeout(LIMIT);

    // With the mouse: Approve, then Confirm in the dialog.
    let deploy = agent
        .submit_approval("Deploy build 4821 to production", &AskOptions::new())
        .await?;
    wait_for_row(&page, deploy.request_id().as_str()).await?;
    let decided = tokio::spawn({
        let (deploy, wait) = (deploy.clone(), wait.clone());
        async move { deploy.decision(wait).await }
    });
    page.click(&format!("{} a", row(deploy.request_id().as_str())))
        .await?;
    page.wait_for_text("#question", "Deploy build 4821").await?;
    assert_eq!(page.text("#kind").await?, "approval");
    page.click("#approve").await?;
    page.wait_for("dialog#confirm[open]").await?;
    assert!(page.text("#confirm-text").await?.starts_with("Approve"));
    page.click("#confirm-ok").await?;
    page.wait_for("h1 .badge.approved").await?;
    assert_eq!(page.count("#approve, #deny").await?, 0, "decided once");
    // The audit trail lists the decision, as text.
    page.wait_for_text("#audit", "Decision by you: approved (not signed)")
        .await?;
    let approval = tokio::time::timeout(LIMIT, decided).await???;
    assert_eq!(approval.decision, ApprovalDecision::Approved);
    assert!(approval.is_approved());

    // With the keyboard: `d`, then Enter on the dialog's focused Confirm.
    let purge = agent
        .submit_approval("Purge the audit log older than 90 days", &AskOptions::new())
        .await?;
    let decided = tokio::spawn({
        let purge = purge.clone();
        async move { purge.decision(wait).await }
    });
    open_request(&page, &app, purge.request_id().as_str()).await?;
    page.wait_for("#deny").await?;
    page.press("d").await?;
    page.wait_for("dialog#confirm[open]").await?;
    assert_eq!(page.text("#confirm-ok").await?, "Deny");
    page.press("Enter").await?;
    page.wait_for("h1 .badge.denied").await?;
    let denial = tokio::time::timeout(LIMIT, decided).await???;
    assert_eq!(denial.decision, ApprovalDecision::Denied);
    assert!(!denial.is_approved());

    // Cancelling the dialog decides nothing.
    let third = agent
        .submit_approval("Rotate the database password", &AskOptions::new())
        .await?;
    open_request(&page, &app, third.request_id().as_str()).await?;
    page.click("#approve").await?;
    page.wait_for("dialog#confirm[open]").await?;
    page.press("Escape").await?;
    page.wait_for_state("dialog#confirm", "hidden", None)
        .await?;
    let path = format!("/api/v1/help/{}", third.request_id());
    let (_, status) = app.get(&path, &app.client_key).await;
    assert!(status.get("approvalDecision").is_none(), "{status}");
    assert_eq!(page.count("#approve").await?, 1);
    finish(&page).await
}

#[tokio::test]
async fn a_v1_plaintext_request_is_answered_in_the_browser() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;

    // As a HeySummon v1 client (or curl) asks: placeholder keys, plaintext question.
    let question = "Which region should the failover drill use?";
    let id = app.ask_ok(&app.client_key, question).await;
    wait_for_row(&page, &id).await?;
    assert_eq!(
        page.text(&format!("{} .summary", row(&id))).await?,
        question
    );
    page.click(&format!("{} a", row(&id))).await?;
    page.wait_for_text("#question", question).await?;
    assert!(page.text("#encryption").await?.starts_with("Plaintext"));
    let answer = "eu-west-2, starting 14:00 UTC";
    page.fill("#reply", answer).await?;
    page.click("#send").await?;
    page.wait_for_text("#conversation .message.expert", answer)
        .await?;
    page.wait_for_text("#toast", "Reply sent").await?;

    let (status, body) = app
        .get(&format!("/api/v1/help/{id}"), &app.client_key)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "responded");
    assert_eq!(body["response"], answer);
    finish(&page).await
}

#[tokio::test]
async fn a_notification_is_acknowledged_in_the_browser() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    let agent = plain_agent(&app)?;
    let note = agent
        .notify("Nightly backup finished: 42 GB in 6 min", AskOptions::new())
        .await?;
    let id = note.request_id().as_str();
    wait_for_row(&page, id).await?;
    page.click(&format!("{} a", row(id))).await?;
    page.wait_for_text("#question", "Nightly backup").await?;
    assert_eq!(page.text("#kind").await?, "notification");
    assert_eq!(
        page.count("#reply, #close").await?,
        0,
        "nothing to answer or close"
    );
    page.click("#acknowledge").await?;
    page.wait_for_text("main", "This request is acknowledged")
        .await?;
    let status = note.wait(WaitOptions::new().with_timeout(LIMIT)).await?;
    assert_eq!(status.status.as_str(), "acknowledged");
    finish(&page).await
}

const MARKUP: &str = "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>\
                      <b>bold</b> & \"quotes\"";

#[tokio::test]
async fn markup_in_a_question_is_only_ever_text() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    let id = app.ask_ok(&app.client_key, MARKUP).await;

    // The inbox row.
    wait_for_row(&page, &id).await?;
    let summary = format!("{} .summary", row(&id));
    assert_eq!(page.text(&summary).await?, MARKUP);
    assert_eq!(
        page.count(&format!("{} :is(img, script, b)", row(&id)))
            .await?,
        0
    );

    // The request page.
    page.click(&format!("{} a", row(&id))).await?;
    page.wait_for("#question").await?;
    assert_eq!(page.text("#question").await?, MARKUP);
    assert_eq!(page.count("#question *").await?, 0, "text only");
    assert_eq!(page.count("main img, main script, main b").await?, 0);
    let pwned = page
        .evaluate("return typeof window.__pwned;", Value::Null)
        .await?;
    assert_eq!(pwned, "undefined");
    let title = page.evaluate("return document.title;", Value::Null).await?;
    assert!(title.as_str().unwrap().contains("HS-"), "{title}");
    finish(&page).await
}
