//! Connecting a chat user from the Channels section: a Telegram channel's one-time code, used
//! from the chat, lists the user; unlinking takes the right back. Screenshots at desktop and
//! phone widths.

use anyhow::{Context as _, Result, ensure};
use heysummon_server::testing::TestApp;
use heysummon_server::testing::fake_channels::{FakeTelegram, message_update};

use crate::driver::Browser;
use crate::ui::{assert_fits, finish, go, new_page, screenshot_whole, select, sign_in};
use crate::ui_channels::{NARROW, item};

#[tokio::test]
async fn a_telegram_channel_gives_a_one_time_code_to_connect() -> Result<()> {
    let telegram = FakeTelegram::start().await;
    let api_base = telegram.api_base();
    let app = TestApp::builder()
        .config(|c| c.channels.telegram.api_base = api_base)
        .spawn()
        .await;
    let browser = Browser::launch().await?;
    let page = sign_in(&browser, &app).await?;
    go(&page, "settings").await?;
    page.wait_for_text("#channels-list", "No channel yet")
        .await?;

    let token = "123456:AAE-bot-token";
    select(&page, "#channel-kind", "telegram").await?;
    page.fill("#channel-name", "On-call phone").await?;
    page.fill("#channel-bot-token", token).await?;
    page.fill("#channel-chat-id", "4242").await?;
    page.click("#add-channel").await?;
    let phone = item("On-call phone");
    page.wait_for(&format!("{phone}[data-status=active]"))
        .await?;
    assert_eq!(
        page.count("#channel-secret-value").await?,
        0,
        "nothing to show once"
    );
    assert_eq!(telegram.webhook_token().as_deref(), Some(token));
    let shown = page.text(&phone).await?;
    assert!(shown.contains("4242") && !shown.contains(token), "{shown}");
    page.wait_for_text(&format!("{phone} .linked-users"), "Nobody yet")
        .await?;

    // The code, its expiry and what to do with it.
    page.click(&format!("{phone} button[data-action=connect]"))
        .await?;
    page.wait_for(&format!("{phone} .connect-code")).await?;
    let code = page.text(&format!("{phone} .connect-code")).await?;
    assert!(!code.trim().is_empty());
    page.wait_for_text(&format!("{phone} .channel-output"), "Valid once")
        .await?;
    let instructions = page.text(&format!("{phone} .instructions")).await?;
    assert!(!instructions.trim().is_empty());
    screenshot_whole(&page, "channels-connect-desktop").await?;

    // The chat user sends the code to the bot: the channel lists them.
    let channel_id = page
        .attribute(&phone, "data-channel-id")
        .await?
        .context("the channel's id")?;
    let secret = telegram.webhook_secret().context("setWebhook's secret")?;
    let update = message_update(1, 4242, 4242, &format!("/connect {}", code.trim()), None);
    let answer = app
        .http
        .post(app.url(&format!("/api/channels/telegram/{channel_id}")))
        .header("x-telegram-bot-api-secret-token", secret)
        .json(&update)
        .send()
        .await?;
    ensure!(answer.status().is_success(), "{}", answer.status());
    page.reload().await?;
    page.wait_for(&format!("{phone} .linked-users span[title]"))
        .await?;
    screenshot_whole(&page, "channels-linked-desktop").await?;

    let narrow = new_page(&browser, "default", NARROW).await?;
    narrow.goto(&app.url("/settings")).await?;
    narrow
        .click(&format!("{phone} button[data-action=connect]"))
        .await?;
    narrow.wait_for(&format!("{phone} .connect-code")).await?;
    assert_fits(&narrow, "the one-time code").await?;
    screenshot_whole(&narrow, "channels-connect-phone").await?;
    finish(&narrow).await?;

    // Unlinked after a confirmation: the user can no longer answer from the chat.
    page.click(&format!("{phone} button[data-action=unlink]"))
        .await?;
    page.wait_for("dialog#confirm[open]").await?;
    page.click("#confirm-ok").await?;
    page.wait_for_text("#toast", "User unlinked").await?;
    page.wait_for_text(&format!("{phone} .linked-users"), "Nobody yet")
        .await?;
    let links = app.store.channel_links(&channel_id).await?;
    ensure!(links.is_empty(), "still linked: {links:?}");
    finish(&page).await
}
