//! The Channels section of Settings (PROTOCOL F, `docs/channels-wire.md`): a webhook added
//! without a secret (the generated one shown once, and it signs what the receiver gets), listed
//! as active, paused and resumed, tested against a real receiver on loopback ("delivered") and
//! against one that fails (the server's error and details inline), a bad URL refused next to
//! the form with the server's own sentence, a channel removed after a confirmation; the form's
//! fields per kind; a Telegram channel's one-time code to connect a chat user, used from the
//! chat; screenshots at desktop and 375 px widths under `target/screenshots/`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use heysummon_server::testing::TestApp;
use heysummon_server::testing::fake_channels::webhook_signature;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::driver::Browser;
use crate::page::Page;
use crate::ui::{assert_fits, finish, go, new_page, screenshot_whole, select, sign_in};

/// The narrowest phone the dashboard is made for (CSS pixels).
pub(crate) const NARROW: (u32, u32) = (375, 812);
/// A failed test may be retried by the server before it answers 502.
const SLOW: Duration = Duration::from_secs(60);

/// One POST the receiver got.
#[derive(Clone, Debug)]
struct Hit {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A webhook receiver on loopback: `/ok` answers 204, `/fail` 500; every POST is kept.
struct Receiver {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Hits = Arc<Mutex<Vec<Hit>>>;

async fn keep(hits: &Hits, path: &str, headers: HeaderMap, body: Bytes) {
    let hit = Hit {
        path: path.to_owned(),
        headers,
        body,
    };
    hits.lock().unwrap().push(hit);
}

impl Receiver {
    async fn start() -> Self {
        let hits: Hits = Arc::default();
        let router = Router::new()
            .route(
                "/ok",
                post(|State(hits): State<Hits>, headers, body| async move {
                    keep(&hits, "/ok", headers, body).await;
                    StatusCode::NO_CONTENT
                }),
            )
            .route(
                "/fail",
                post(|State(hits): State<Hits>, headers, body| async move {
                    keep(&hits, "/fail", headers, body).await;
                    (StatusCode::INTERNAL_SERVER_ERROR, "receiver is down")
                }),
            )
            .with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { base, hits, task }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self, path: &str) -> Vec<Hit> {
        let hits = self.hits.lock().unwrap();
        hits.iter().filter(|h| h.path == path).cloned().collect()
    }
}

fn header<'h>(hit: &'h Hit, name: &str) -> Result<&'h str> {
    hit.headers
        .get(name)
        .with_context(|| format!("no {name} header"))?
        .to_str()
        .map_err(Into::into)
}

/// Checks a delivery's Standard Webhooks signature with the `whsec_…` secret.
fn verify(secret: &str, hit: &Hit) -> Result<()> {
    let id = header(hit, "webhook-id")?;
    let timestamp = header(hit, "webhook-timestamp")?;
    let body = std::str::from_utf8(&hit.body)?;
    let expected = webhook_signature(secret, id, timestamp, body);
    let signatures = header(hit, "webhook-signature")?;
    ensure!(
        signatures.split(' ').any(|s| s == expected),
        "{signatures} is not {expected}"
    );
    Ok(())
}

/// Waits longer than the driver's default.
async fn wait_slow(page: &Page<'_>, selector: &str, text: &str) -> Result<()> {
    let timeout = u64::try_from(SLOW.as_millis())?;
    let args =
        json!({ "selector": selector, "state": "visible", "text": text, "timeout": timeout });
    page.command("waitFor", args).await.map(drop)
}

/// The list item of the channel called `name`.
pub(crate) fn item(name: &str) -> String {
    format!("#channels-list li[data-name=\"{name}\"]")
}

/// Fills and submits the add form for a webhook.
async fn add_webhook(page: &Page<'_>, name: &str, url: &str) -> Result<()> {
    select(page, "#channel-kind", "webhook").await?;
    page.fill("#channel-name", name).await?;
    page.fill("#channel-url", url).await?;
    page.click("#add-channel").await
}

/// What the server answers to a POST of `body` to `/api/channels` from the signed-in page.
pub(crate) async fn post_channel(page: &Page<'_>, body: &Value) -> Result<Value> {
    let js = "const me = await (await fetch('/api/me')).json();\n\
              const r = await fetch('/api/channels', { method: 'POST', body: JSON.stringify(arg),\n\
                headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken } });\n\
              return { status: r.status, body: await r.json() };";
    page.evaluate(js, body.clone()).await
}

/// The channels as the API lists them.
async fn listed(page: &Page<'_>) -> Result<Vec<Value>> {
    let js = "return (await fetch('/api/channels')).json();";
    let answer = page.evaluate(js, Value::Null).await?;
    Ok(answer["channels"].as_array().cloned().unwrap_or_default())
}

#[tokio::test]
async fn a_webhook_channel_is_added_tested_paused_and_removed() -> Result<()> {
    let receiver = Receiver::start().await;
    let app = TestApp::builder()
        .config(|c| c.channels.allow_private_networks = true)
        .spawn()
        .await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    go(&page, "settings").await?;
    page.wait_for_text("#channels-list", "No channel yet")
        .await?;

    // Every kind's fields are labelled; secrets are password fields nobody autofills.
    for (kind, fields, secrets) in [
        (
            "telegram",
            &["bot-token", "chat-id"][..],
            &["bot-token"][..],
        ),
        (
            "slack",
            &["bot-token", "channel", "signing-secret"][..],
            &["bot-token", "signing-secret"][..],
        ),
        (
            "discord",
            &["bot-token", "channel-id", "public-key"][..],
            &["bot-token"][..],
        ),
        ("email", &["to"][..], &[][..]),
        ("webhook", &["url", "secret"][..], &["secret"][..]),
    ] {
        select(&page, "#channel-kind", kind).await?;
        for field in fields {
            let id = format!("channel-{field}");
            page.wait_for(&format!("#{id}")).await?;
            let label = format!("#channel-form label[for=\"{id}\"]");
            assert_eq!(page.count(&label).await?, 1, "{kind}: {id} has no label");
            let secret = secrets.contains(field);
            let kind_of = page.attribute(&format!("#{id}"), "type").await?;
            assert_eq!(
                kind_of.as_deref() == Some("password"),
                secret,
                "{kind} {id}"
            );
            if secret {
                let autocomplete = page.attribute(&format!("#{id}"), "autocomplete").await?;
                assert_eq!(autocomplete.as_deref(), Some("off"), "{kind} {id}");
            }
        }
        let inputs = page.count("#channel-fields input").await?;
        assert_eq!(inputs, fields.len(), "{kind}: only its own fields");
    }

    // A webhook without a secret: the server makes one, and the page shows it once.
    add_webhook(&page, "Ops receiver", &receiver.url("/ok")).await?;
    page.wait_for_text("#channel-shown", "Shown once").await?;
    let secret = page.text("#channel-secret-value").await?;
    assert!(secret.starts_with("whsec_"), "{secret}");
    let ops = item("Ops receiver");
    page.wait_for(&format!("{ops}[data-status=active]")).await?;
    assert_eq!(page.text(&format!("{ops} .badge")).await?, "active");
    let shown = page.text(&ops).await?;
    assert!(shown.contains(&receiver.url("/ok")), "{shown}");
    assert!(!shown.contains(&secret), "the list never shows a secret");
    for field in ["#channel-name", "#channel-url", "#channel-secret"] {
        let js = format!("return document.querySelector('{field}').value;");
        assert_eq!(
            page.evaluate(&js, Value::Null).await?,
            "",
            "{field} emptied"
        );
    }
    screenshot_whole(&page, "channels-added-desktop").await?;

    // Paused, then resumed: the badge and the server agree.
    page.click(&format!("{ops} button[data-action=pause]"))
        .await?;
    page.wait_for(&format!("{ops}[data-status=paused]")).await?;
    assert_eq!(page.text(&format!("{ops} .badge")).await?, "paused");
    assert_eq!(listed(&page).await?[0]["status"], "paused");
    page.click(&format!("{ops} button[data-action=resume]"))
        .await?;
    page.wait_for(&format!("{ops}[data-status=active]")).await?;
    assert_eq!(listed(&page).await?[0]["status"], "active");

    // A test reaches the receiver, signed with the secret the page showed.
    page.click(&format!("{ops} button[data-action=test]"))
        .await?;
    wait_slow(&page, &format!("{ops} .channel-output"), "Delivered").await?;
    let hits = receiver.hits("/ok");
    let hit = hits.last().context("the receiver got nothing")?;
    let body: Value = serde_json::from_slice(&hit.body)?;
    assert_eq!(body["type"], "channel.test", "{body}");
    verify(&secret, hit)?;

    // A receiver that fails: the server's sentence and its details, next to that channel.
    add_webhook(&page, "Flaky receiver", &receiver.url("/fail")).await?;
    let flaky = item("Flaky receiver");
    page.wait_for(&format!("{flaky}[data-status]")).await?;
    page.click(&format!("{flaky} button[data-action=test]"))
        .await?;
    wait_slow(
        &page,
        &format!("{flaky} .channel-output .error"),
        "not delivered",
    )
    .await?;
    page.wait_for(&format!("{flaky} .channel-output .details"))
        .await?;
    assert_eq!(
        page.count(&format!("{ops} .channel-output .error")).await?,
        0
    );

    // A bad URL: refused, with the server's own sentence next to the form; nothing added.
    let bad = json!({ "kind": "webhook", "name": "Broken", "url": "not a url" });
    let refused = post_channel(&page, &bad).await?;
    assert_eq!(refused["status"], 400, "{refused}");
    let sentence = refused["body"]["error"]
        .as_str()
        .context("an error sentence")?
        .to_owned();
    let details = refused["body"]["details"]
        .as_str()
        .context("the error's details")?
        .to_owned();
    add_webhook(&page, "Broken", "not a url").await?;
    page.wait_for_text("#channel-form-problem .error", &sentence)
        .await?;
    page.wait_for_text("#channel-form-problem .details", &details)
        .await?;
    assert_eq!(page.count("#channels-list li[data-channel-id]").await?, 2);
    let kept = page
        .evaluate(
            "return document.getElementById('channel-url').value;",
            Value::Null,
        )
        .await?;
    assert_eq!(kept, "not a url", "the entry stays for correcting");
    screenshot_whole(&page, "channels-desktop").await?;

    // The same at 375 px: nothing overflows.
    let phone = new_page(&browser, "default", NARROW).await?;
    phone.goto(&app.url("/settings")).await?;
    phone
        .wait_for(&format!("{ops}[data-status=active]"))
        .await?;
    phone
        .click(&format!("{ops} button[data-action=test]"))
        .await?;
    wait_slow(&phone, &format!("{ops} .channel-output"), "Delivered").await?;
    add_webhook(&phone, "Broken", "not a url").await?;
    phone
        .wait_for_text("#channel-form-problem .error", &sentence)
        .await?;
    assert_fits(&phone, "channels").await?;
    screenshot_whole(&phone, "channels-phone").await?;
    add_webhook(&phone, "Phone receiver", &receiver.url("/ok")).await?;
    phone.wait_for_text("#channel-shown", "Shown once").await?;
    assert_fits(&phone, "the shown-once secret").await?;
    screenshot_whole(&phone, "channels-added-phone").await?;
    finish(&phone).await?;
    phone.close().await?;

    // Removed after a confirmation; cancelled, it stays.
    page.reload().await?;
    page.wait_for(&flaky).await?;
    assert_eq!(page.count("#channel-secret-value").await?, 0);
    let html = page
        .evaluate("return document.documentElement.outerHTML;", Value::Null)
        .await?;
    assert!(!html.as_str().unwrap().contains(&secret), "shown once only");
    page.click(&format!("{flaky} button[data-action=remove]"))
        .await?;
    page.wait_for("dialog#confirm[open]").await?;
    page.press("Escape").await?;
    page.wait_for_state("dialog#confirm", "hidden", None)
        .await?;
    assert_eq!(page.count(&flaky).await?, 1);
    page.click(&format!("{flaky} button[data-action=remove]"))
        .await?;
    page.wait_for("dialog#confirm[open]").await?;
    page.click("#confirm-ok").await?;
    page.wait_for_state(&flaky, "detached", None).await?;
    page.wait_for_text("#toast", "Channel removed").await?;
    let names: Vec<Value> = listed(&page)
        .await?
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert!(!names.contains(&json!("Flaky receiver")), "{names:?}");
    assert_eq!(page.count(&ops).await?, 1);
    finish(&page).await
}
