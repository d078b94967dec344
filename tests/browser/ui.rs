//! What the dashboard's end-to-end tests (`ui_*`) share: signing a browser in, waiting for the
//! inbox and its rows, making the expert's identity on the Keys page, the Rust agent and the
//! expert's terminal on the same server, and screenshots.
//!
//! Every test starts its own [`TestApp`] and [`Browser`] (a second or so: cheaper than the
//! coupling a shared browser would bring) and ends with [`finish`], which fails on any page
//! error.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use heysummon_sdk::keystore::MemoryKeyStore;
use heysummon_sdk::{Client, EncryptionPolicy, ExpertClient};
use heysummon_server::testing::TestApp;
use serde_json::Value;

use crate::driver::{Browser, PageOptions};
use crate::page::Page;
use crate::support::assert_clean;

/// The passphrase of identities made in the browser.
pub const PASSPHRASE: &str = "orbit-quartz 42 meadow";
/// How long an agent waits for the expert.
pub const LIMIT: Duration = Duration::from_secs(30);
/// Making or importing an identity runs PBKDF2 (600,000 rounds): give it room.
const KEY_DERIVATION: Duration = Duration::from_secs(60);

/// A desktop window.
pub const DESKTOP: (u32, u32) = (1280, 800);
/// A phone (an iPhone 12–15 in CSS pixels).
pub const PHONE: (u32, u32) = (390, 844);

/// A page in its own browser context (profile), at the given viewport.
pub async fn new_page<'b>(
    browser: &'b Browser,
    context: &str,
    viewport: (u32, u32),
) -> Result<Page<'b>> {
    let options = PageOptions {
        context: context.to_owned(),
        viewport,
    };
    browser.new_page_with(options).await
}

/// Signs the app's first expert in, in the default context at desktop size; the inbox shows.
pub async fn sign_in<'b>(browser: &'b Browser, app: &TestApp) -> Result<Page<'b>> {
    sign_in_as(browser, app, &app.expert_id, "default", DESKTOP).await
}

/// Signs an expert in through a one-time link in a context of its own; waits for the inbox.
pub async fn sign_in_as<'b>(
    browser: &'b Browser,
    app: &TestApp,
    expert_id: &str,
    context: &str,
    viewport: (u32, u32),
) -> Result<Page<'b>> {
    let page = new_page(browser, context, viewport).await?;
    let link = app.login_link(expert_id).await;
    let status = page.goto(&link).await?;
    ensure!(status == Some(200), "the sign-in link answered {status:?}");
    wait_for_inbox(&page).await?;
    Ok(page)
}

/// Waits until the inbox has loaded (its list, with rows or the empty note).
pub async fn wait_for_inbox(page: &Page<'_>) -> Result<()> {
    page.wait_for_state("#inbox-list > li", "attached", None)
        .await
        .context("the inbox did not show")
}

/// Waits until the (empty) inbox shows a request; its id.
pub async fn first_arrival(page: &Page<'_>) -> Result<String> {
    page.wait_for("#inbox-list li[data-id]").await?;
    page.attribute("#inbox-list li[data-id]", "data-id")
        .await?
        .context("a row without its request id")
}

/// The inbox row of a request, as a selector.
pub fn row(request_id: &str) -> String {
    format!("#inbox-list li[data-id=\"{request_id}\"]")
}

/// Waits until the inbox shows the request's row.
pub async fn wait_for_row(page: &Page<'_>, request_id: &str) -> Result<()> {
    page.wait_for(&row(request_id))
        .await
        .with_context(|| format!("request {request_id} did not appear in the inbox"))
}

/// Opens a request page by its URL and waits until its question shows.
pub async fn open_request(page: &Page<'_>, app: &TestApp, request_id: &str) -> Result<()> {
    page.goto(&app.url(&format!("/requests/{request_id}")))
        .await?;
    page.wait_for("#question").await
}

/// Chooses an option of a `<select>` by its value.
pub async fn select(page: &Page<'_>, selector: &str, value: &str) -> Result<()> {
    let args = serde_json::json!({ "selector": selector, "values": [value] });
    page.command("selectOption", args).await.map(drop)
}

/// Navigates inside the dashboard (no reload) by clicking one of its links.
pub async fn go(page: &Page<'_>, nav: &str) -> Result<()> {
    page.click(&format!("header.bar [data-nav={nav}]")).await
}

/// On the Keys page: makes a new identity with [`PASSPHRASE`]; it is published. Returns the
/// fingerprint as shown (groups of four).
pub async fn make_identity(page: &Page<'_>) -> Result<String> {
    go(page, "keys").await?;
    page.fill("#passphrase", PASSPHRASE).await?;
    page.click("#generate").await?;
    wait_published(page).await
}

/// Waits until the Keys page says the identity in this browser is the published one; returns
/// the fingerprint as shown.
pub async fn wait_published(page: &Page<'_>) -> Result<String> {
    let millis = u64::try_from(KEY_DERIVATION.as_millis())?;
    let args = serde_json::json!({
        "selector": "#publish-state", "state": "visible", "text": "Published", "timeout": millis,
    });
    page.command("waitFor", args)
        .await
        .context("the identity was not published")?;
    page.text("#fingerprint").await
}

/// Fingerprint text without the spaces of its groups.
pub fn compact(fingerprint: &str) -> String {
    fingerprint.split_whitespace().collect()
}

/// An agent of the first tenant that never sends anything the server could read, pinned to
/// the expert's fingerprint.
pub fn sealing_agent(app: &TestApp, fingerprint: &str) -> Result<Client> {
    Ok(Client::builder()
        .base_url(&app.base)
        .api_key(app.client_key.clone())
        .key_store(MemoryKeyStore::new())
        .encryption(EncryptionPolicy::Required)
        .expert_fingerprint(compact(fingerprint))
        .build()?)
}

/// An agent of the first tenant that asks in plaintext.
pub fn plain_agent(app: &TestApp) -> Result<Client> {
    Ok(Client::builder()
        .base_url(&app.base)
        .api_key(app.client_key.clone())
        .key_store(MemoryKeyStore::new())
        .encryption(EncryptionPolicy::Off)
        .build()?)
}

/// The first expert's terminal (`ExpertClient` with the expert key), its identity in memory.
pub fn expert_terminal(app: &TestApp) -> Result<ExpertClient> {
    Ok(ExpertClient::builder()
        .base_url(&app.base)
        .api_key(app.expert_key.clone())
        .key_store(MemoryKeyStore::new())
        .build()?)
}

/// Where screenshots go: `target/screenshots/` (made when missing; not committed).
pub fn screenshot_dir() -> Result<PathBuf> {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp
        .parent()
        .context("the target directory")?
        .join("screenshots");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Saves a PNG of the viewport as `target/screenshots/{name}.png`; returns its path.
pub async fn screenshot(page: &Page<'_>, name: &str) -> Result<PathBuf> {
    let path = screenshot_dir()?.join(format!("{name}.png"));
    page.screenshot(&path, false).await?;
    Ok(path)
}

/// Saves a PNG of the whole page as `target/screenshots/{name}.png`: from the top (where the
/// sticky bar belongs), once the last toast has gone (it would float mid-page).
pub async fn screenshot_whole(page: &Page<'_>, name: &str) -> Result<()> {
    page.wait_for_state("#toast.show", "detached", None).await?;
    page.evaluate("window.scrollTo(0, 0); return null;", Value::Null)
        .await?;
    let path = screenshot_dir()?.join(format!("{name}.png"));
    page.screenshot(&path, true).await
}

/// Fails when the page is wider than its viewport (a horizontal scroll bar on a phone).
pub async fn assert_fits(page: &Page<'_>, what: &str) -> Result<()> {
    let js = "return [document.documentElement.scrollWidth, window.innerWidth];";
    let sizes = page.evaluate(js, Value::Null).await?;
    ensure!(
        sizes[0].as_u64() <= sizes[1].as_u64(),
        "{what} overflows: {sizes}"
    );
    Ok(())
}

/// The end of every test: no uncaught exception, no script error on the page.
pub async fn finish(page: &Page<'_>) -> Result<()> {
    assert_clean(page).await
}
