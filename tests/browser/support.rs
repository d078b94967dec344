//! What the browser tests share: opening the dashboard's origin, running code with the crypto
//! modules imported, the vectors.

use std::time::Duration;

use anyhow::{Result, ensure};
use serde_json::{Value, json};

use crate::driver::{Browser, PageOptions};
use crate::page::Page;
use crate::web::Dashboard;

/// Key derivations run 600,000 PBKDF2 rounds: give evaluations room.
const EVALUATE_TIMEOUT: Duration = Duration::from_secs(60);

/// The vectors of PROTOCOL part C (`heysummon-sdk/tests/data/e2e-messages.json`, a copy of
/// `shared/vectors/e2e-messages.json`, made with Node's crypto).
pub fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/heysummon-sdk/tests/data/e2e-messages.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A page on the dashboard's origin (a secure context: http on 127.0.0.1).
pub async fn open<'b>(browser: &'b Browser, web: &Dashboard) -> Result<Page<'b>> {
    open_in(browser, web, "default").await
}

/// A page on the dashboard's origin in a named context (another context is another profile).
pub async fn open_in<'b>(browser: &'b Browser, web: &Dashboard, context: &str) -> Result<Page<'b>> {
    let options = PageOptions {
        context: context.to_owned(),
        ..PageOptions::default()
    };
    let page = browser.new_page_with(options).await?;
    let status = page.goto(&web.page_url).await?;
    ensure!(status == Some(200), "{} answered {status:?}", web.page_url);
    Ok(page)
}

/// Runs `body` in the page with `hs` (js/crypto.js) and `ks` (js/keystore.js) imported and
/// `arg` set to the given JSON.
pub async fn run(page: &Page<'_>, web: &Dashboard, body: &str, arg: Value) -> Result<Value> {
    let body = format!(
        "const hs = await import(arg.crypto);\nconst ks = await import(arg.keystore);\n\
         arg = arg.arg;\n{body}"
    );
    let arg = json!({ "crypto": web.crypto_module, "keystore": web.keystore_module, "arg": arg });
    page.evaluate_within(&body, arg, EVALUATE_TIMEOUT).await
}

/// Fails when the page threw an uncaught exception or a script logged an error. Chromium's own
/// "Failed to load resource" lines are HTTP statuses, not script errors: the dashboard probes
/// `/api/me` (401 before sign-in), so they are left to the tests that care about requests.
pub async fn assert_clean(page: &Page<'_>) -> Result<()> {
    let errors = page.errors().await?;
    ensure!(errors.is_empty(), "page errors: {errors:?}");
    let logged: Vec<Value> = page
        .console()
        .await?
        .into_iter()
        .filter(|m| {
            m["type"] == "error"
                && !m["text"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("Failed to load resource:")
        })
        .collect();
    ensure!(logged.is_empty(), "console errors: {logged:?}");
    Ok(())
}
