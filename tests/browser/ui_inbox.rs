//! The inbox: live counts, filters, search and paging, and the whole dashboard by keyboard (the
//! shortcuts of the help dialog).

use anyhow::Result;
use heysummon_server::clock::Clock;
use heysummon_server::testing::TestApp;
use serde_json::Value;

use crate::driver::Browser;
use crate::ui::{finish, row, select, sign_in, wait_for_row};

/// The id of the focused element.
async fn focused(page: &crate::page::Page<'_>) -> Result<Value> {
    page.evaluate("return document.activeElement?.id ?? null;", Value::Null)
        .await
}

#[tokio::test]
async fn the_inbox_and_a_request_work_from_the_keyboard() -> Result<()> {
    // A manual clock: a second between the questions orders them for certain.
    let app = TestApp::builder()
        .clock(Clock::manual(1_777_147_005_123))
        .spawn()
        .await;
    let mut ids = Vec::new();
    for question in ["First question", "Second question", "Third question"] {
        ids.push(app.ask_ok(&app.client_key, question).await);
        app.clock.advance(1000);
    }
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    for id in &ids {
        wait_for_row(&page, id).await?;
    }
    // Newest first; the first row is selected.
    let listed: Vec<String> = page.texts("#inbox-list li .summary").await?;
    assert_eq!(
        listed,
        ["Third question", "Second question", "First question"]
    );
    let selected = "#inbox-list li[aria-selected=true]";
    assert_eq!(
        page.attribute(selected, "data-id").await?.as_ref(),
        Some(&ids[2])
    );

    page.press("j").await?;
    page.press("j").await?;
    assert_eq!(
        page.attribute(selected, "data-id").await?.as_ref(),
        Some(&ids[0])
    );
    page.press("j").await?;
    assert_eq!(
        page.attribute(selected, "data-id").await?.as_ref(),
        Some(&ids[0]),
        "stops at the end"
    );
    page.press("k").await?;
    assert_eq!(page.count(selected).await?, 1);
    assert_eq!(
        page.attribute(selected, "data-id").await?.as_ref(),
        Some(&ids[1])
    );
    page.press("Enter").await?;
    page.wait_for_text("#question", "Second question").await?;
    assert_eq!(page.url().await?, app.url(&format!("/requests/{}", ids[1])));

    // `r` goes to the reply box; typing there is typing, not shortcuts.
    page.press("r").await?;
    assert_eq!(focused(&page).await?, "reply");
    page.press("u").await?;
    page.press("j").await?;
    assert_eq!(
        page.evaluate(
            "return document.getElementById('reply').value;",
            Value::Null
        )
        .await?,
        "uj"
    );
    page.press("Escape").await?;
    assert_ne!(focused(&page).await?, "reply");

    // `?` opens the help; Escape closes it.
    page.press("?").await?;
    page.wait_for("dialog#help[open]").await?;
    assert!(
        page.text("#help")
            .await?
            .contains("Next / previous request")
    );
    page.press("Escape").await?;
    page.wait_for_state("dialog#help", "hidden", None).await?;

    // `u` goes back to the inbox; `/` searches by reference code.
    page.press("u").await?;
    wait_for_row(&page, &ids[0]).await?;
    assert_eq!(page.url().await?, app.url("/"));
    page.press("/").await?;
    assert_eq!(focused(&page).await?, "ref-search");
    let reference = page.attribute(&row(&ids[0]), "data-ref").await?.unwrap();
    page.fill("#ref-search", &reference.to_lowercase()).await?;
    page.wait_for_state(&row(&ids[2]), "detached", None).await?;
    assert_eq!(page.count("#inbox-list li[data-id]").await?, 1);
    assert!(
        page.url()
            .await?
            .contains(&format!("ref={}", reference.to_lowercase()))
    );
    finish(&page).await
}

#[tokio::test]
async fn the_inbox_counts_filters_and_pages() -> Result<()> {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for n in 0..52 {
        ids.push(app.ask_ok(&app.client_key, &format!("Question {n}")).await);
    }
    app.answer(&app.expert_key, &ids[0], "Answered.").await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;

    // 51 open: a page of 50, then the rest.
    page.wait_for_text("#open-count", "51").await?;
    let title = page.evaluate("return document.title;", Value::Null).await?;
    assert_eq!(title, "(51) Inbox · HeySummon");
    assert_eq!(page.count("#inbox-list li[data-id]").await?, 50);
    page.click("#load-more").await?;
    wait_for_row(&page, &ids[1]).await?;
    assert_eq!(page.count("#inbox-list li[data-id]").await?, 51);
    assert_eq!(page.count("#load-more:not([hidden])").await?, 0);

    // A filter, kept in the address across a reload.
    select(&page, "#status-filter", "answered").await?;
    page.wait_for_state(&row(&ids[1]), "detached", None).await?;
    assert_eq!(page.count("#inbox-list li[data-id]").await?, 1);
    assert_eq!(page.url().await?, app.url("/?filter=answered"));
    page.reload().await?;
    wait_for_row(&page, &ids[0]).await?;
    let chosen = page
        .evaluate(
            "return document.getElementById('status-filter').value;",
            Value::Null,
        )
        .await?;
    assert_eq!(chosen, "answered");

    // A new request updates the count; the filtered list stays as it is.
    let new = app.ask_ok(&app.client_key, "One more").await;
    page.wait_for_text("#open-count", "52").await?;
    assert_eq!(page.count(&row(&new)).await?, 0);

    // `g` then a letter goes to a section.
    for (key, heading) in [("k", "Keys"), ("s", "Settings"), ("i", "Inbox")] {
        page.press("g").await?;
        page.press(key).await?;
        page.wait_for_text("main h1", heading).await?;
    }
    wait_for_row(&page, &new).await?;
    finish(&page).await
}
