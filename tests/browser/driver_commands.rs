//! The browser driver itself, on the fixture page `fixtures/driver.html`: every command a UI
//! scenario uses, and how long a command takes.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{Value, json};

use crate::driver::{Browser, PageOptions};
use crate::web;

#[tokio::test]
async fn every_command_works_on_a_real_page() -> Result<()> {
    let web = web::stand_in().await;
    let url = format!("{}fixtures/driver.html", web.page_url);
    let browser = Browser::launch().await?;
    assert!(browser.version().starts_with(|c: char| c.is_ascii_digit()));
    let options = PageOptions {
        viewport: (420, 640),
        ..PageOptions::default()
    };
    let page = browser.new_page_with(options).await?;
    assert_eq!(page.goto(&url).await?, Some(200));
    assert_eq!(page.url().await?, url);

    // Forms, keyboard, text and attributes.
    page.fill("#name", "Ada").await?;
    page.press_on("#name", "Enter").await?;
    page.wait_for_text("#greeting", "Hello, Ada!").await?;
    assert_eq!(page.text("#greeting").await?, "Hello, Ada!");
    let state = page.attribute("#greeting", "data-state").await?;
    assert_eq!(state.as_deref(), Some("greeted"));
    assert_eq!(page.attribute("#greeting", "data-missing").await?, None);
    page.press("Escape").await?;
    page.wait_for_state("#greeting[data-state=empty]", "attached", None)
        .await?;
    page.fill("#name", "Grace").await?;
    page.click("#greet").await?;
    page.wait_for_text("#greeting", "Grace").await?;

    // Lists and counts; an element that appears later.
    for _ in 0..3 {
        page.click("#add").await?;
    }
    assert_eq!(page.count("#items li").await?, 3);
    assert_eq!(
        page.texts("#items li").await?,
        ["item 1", "item 2", "item 3"]
    );
    page.wait_for("#later").await?;

    // A waitFor that cannot succeed fails within its deadline, with the driver's message.
    let started = Instant::now();
    let args = json!({ "selector": "#never", "timeout": 300 });
    let err = page.command("waitFor", args).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(format!("{err:#}").contains("#never"), "{err:#}");

    // Files in and out.
    page.set_input_text_file("#file", "in.json", "{\"uploaded\":1}")
        .await?;
    page.wait_for_text("#file-text", "in.json: {\"uploaded\":1}")
        .await?;
    let dir = tempfile::tempdir()?;
    let saved = dir.path().join("out.json");
    assert_eq!(page.download("#download", &saved).await?, "fixture.json");
    let downloaded: Value = serde_json::from_str(&std::fs::read_to_string(&saved)?)?;
    assert_eq!(downloaded, json!({ "downloaded": true }));

    // Dialogs: accepted by default, dismissed on request, all recorded.
    page.click("#confirm").await?;
    page.wait_for_text("#confirmed", "yes").await?;
    page.set_dialog_policy(false, None).await?;
    page.click("#confirm").await?;
    page.wait_for_text("#confirmed", "no").await?;
    let dialogs = page.dialogs().await?;
    assert_eq!(dialogs.len(), 2);
    assert_eq!(dialogs[0]["type"], "confirm");
    assert_eq!(dialogs[0]["message"], "Really?");

    // Evaluate, console, page errors, screenshots.
    let sum = page
        .evaluate("return arg.a + arg.b;", json!({"a": 2, "b": 40}))
        .await?;
    assert_eq!(sum, 42);
    let console = page.console().await?;
    assert!(
        console.iter().any(|m| m["text"] == "fixture ready"),
        "{console:?}"
    );
    assert!(page.errors().await?.is_empty());
    page.evaluate(
        "setTimeout(() => { throw new Error('boom'); }); return null;",
        Value::Null,
    )
    .await?;
    page.wait_for("body").await?;
    let errors = wait_for_errors(&page).await?;
    assert!(errors[0].contains("boom"), "{errors:?}");
    let shot = dir.path().join("page.png");
    page.screenshot(&shot, true).await?;
    assert!(std::fs::read(&shot)?.starts_with(b"\x89PNG"));

    // An evaluation that throws is an error, not a value.
    let err = page
        .evaluate("throw new Error('nope');", Value::Null)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("nope"), "{err:#}");

    // Contexts are separate profiles; pages close.
    let other = browser
        .new_page_with(PageOptions {
            context: "other".into(),
            ..PageOptions::default()
        })
        .await?;
    other.goto(&url).await?;
    page.evaluate("localStorage.setItem('k', 'v'); return null;", Value::Null)
        .await?;
    let seen = other
        .evaluate("return localStorage.getItem('k');", Value::Null)
        .await?;
    assert_eq!(seen, Value::Null);
    browser.close_context("other").await?;
    page.close().await?;

    // Per-command latency stays low.
    let started = Instant::now();
    for _ in 0..50 {
        assert_eq!(browser.command("ping", Value::Null).await?, "pong");
    }
    let each = started.elapsed() / 50;
    assert!(each < Duration::from_millis(50), "{each:?} per command");
    Ok(())
}

async fn wait_for_errors(page: &crate::page::Page<'_>) -> Result<Vec<String>> {
    let started = Instant::now();
    loop {
        let errors = page.errors().await?;
        if !errors.is_empty() || started.elapsed() > Duration::from_secs(5) {
            return Ok(errors);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
