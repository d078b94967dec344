//! [`Page`]: one tab of a [`Browser`], with a method per driver command.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use crate::driver::Browser;

/// One page (tab) of a [`Browser`].
#[derive(Debug)]
pub struct Page<'b> {
    browser: &'b Browser,
    id: String,
}

impl<'b> Page<'b> {
    pub(crate) fn new(browser: &'b Browser, id: String) -> Self {
        Self { browser, id }
    }
}

impl Page<'_> {
    /// The driver's id of this page.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Sends a page command: `args` (an object) gets this page's id.
    pub async fn command(&self, cmd: &str, args: Value) -> Result<Value> {
        let mut args = match args {
            Value::Null => json!({}),
            other => other,
        };
        args["page"] = json!(self.id);
        self.browser.command(cmd, args).await
    }

    /// Opens a URL and waits for the `load` event; returns the HTTP status.
    pub async fn goto(&self, url: &str) -> Result<Option<u16>> {
        let value = self.command("goto", json!({ "url": url })).await?;
        Ok(value["status"].as_u64().and_then(|s| u16::try_from(s).ok()))
    }

    /// Reloads the page.
    pub async fn reload(&self) -> Result<()> {
        self.command("reload", json!({})).await.map(drop)
    }

    /// The current URL.
    pub async fn url(&self) -> Result<String> {
        string(self.command("url", json!({})).await?)
    }

    /// Clicks the element (waits until it is visible, enabled and stable).
    pub async fn click(&self, selector: &str) -> Result<()> {
        self.command("click", json!({ "selector": selector }))
            .await
            .map(drop)
    }

    /// Replaces an input's value.
    pub async fn fill(&self, selector: &str, value: &str) -> Result<()> {
        self.command("fill", json!({ "selector": selector, "value": value }))
            .await
            .map(drop)
    }

    /// Presses a key (`Enter`, `Escape`, `Control+A`) on the keyboard.
    pub async fn press(&self, key: &str) -> Result<()> {
        self.command("press", json!({ "key": key })).await.map(drop)
    }

    /// Presses a key with the element focused.
    pub async fn press_on(&self, selector: &str, key: &str) -> Result<()> {
        self.command("press", json!({ "selector": selector, "key": key }))
            .await
            .map(drop)
    }

    /// Waits until an element matching `selector` is visible.
    pub async fn wait_for(&self, selector: &str) -> Result<()> {
        self.wait_for_state(selector, "visible", None).await
    }

    /// Waits until an element matching `selector` and containing `text` is visible.
    pub async fn wait_for_text(&self, selector: &str, text: &str) -> Result<()> {
        self.wait_for_state(selector, "visible", Some(text)).await
    }

    /// Waits for `state` (`visible`, `hidden`, `attached`, `detached`) of the first element
    /// matching `selector` (and containing `text`, when given).
    pub async fn wait_for_state(
        &self,
        selector: &str,
        state: &str,
        text: Option<&str>,
    ) -> Result<()> {
        let args = json!({ "selector": selector, "state": state, "text": text });
        self.command("waitFor", args).await.map(drop)
    }

    /// The rendered text of the first match.
    pub async fn text(&self, selector: &str) -> Result<String> {
        string(
            self.command("text", json!({ "selector": selector }))
                .await?,
        )
    }

    /// The rendered texts of every match.
    pub async fn texts(&self, selector: &str) -> Result<Vec<String>> {
        let value = self
            .command("texts", json!({ "selector": selector }))
            .await?;
        Ok(serde_json::from_value(value)?)
    }

    /// An attribute of the first match; `None` when it has none.
    pub async fn attribute(&self, selector: &str, name: &str) -> Result<Option<String>> {
        let value = self
            .command("attribute", json!({ "selector": selector, "name": name }))
            .await?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// How many elements match.
    pub async fn count(&self, selector: &str) -> Result<usize> {
        let value = self
            .command("count", json!({ "selector": selector }))
            .await?;
        Ok(usize::try_from(
            value.as_u64().context("count is not a number")?,
        )?)
    }

    /// Runs `async (arg) => { body }` in the page and returns its JSON result.
    pub async fn evaluate(&self, body: &str, arg: Value) -> Result<Value> {
        self.command("evaluate", json!({ "body": body, "arg": arg }))
            .await
    }

    /// As [`Page::evaluate`], with a longer deadline (slow key derivations).
    pub async fn evaluate_within(
        &self,
        body: &str,
        arg: Value,
        timeout: Duration,
    ) -> Result<Value> {
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let args = json!({ "body": body, "arg": arg, "timeout": millis });
        self.command("evaluate", args).await
    }

    /// Saves a PNG of the viewport (or of the whole page).
    pub async fn screenshot(&self, path: &Path, full_page: bool) -> Result<()> {
        let args = json!({ "path": path, "fullPage": full_page });
        self.command("screenshot", args).await.map(drop)
    }

    /// Puts files on an `<input type=file>`.
    pub async fn set_input_files(&self, selector: &str, paths: &[&Path]) -> Result<()> {
        let args = json!({ "selector": selector, "files": paths });
        self.command("setInputFiles", args).await.map(drop)
    }

    /// Puts one in-memory text file on an `<input type=file>`.
    pub async fn set_input_text_file(&self, selector: &str, name: &str, text: &str) -> Result<()> {
        let file = json!({ "name": name, "mimeType": "application/json", "text": text });
        let args = json!({ "selector": selector, "files": [file] });
        self.command("setInputFiles", args).await.map(drop)
    }

    /// Clicks `selector`, saves the download it starts to `path`, returns the file name the page
    /// suggested.
    pub async fn download(&self, selector: &str, path: &Path) -> Result<String> {
        let value = self
            .command("download", json!({ "selector": selector, "path": path }))
            .await?;
        string(value["suggestedFilename"].clone())
    }

    /// How dialogs (`alert`, `confirm`, `prompt`) are answered from now on: accepted (with
    /// `prompt_text` for a prompt) or dismissed. The default is to accept.
    pub async fn set_dialog_policy(&self, accept: bool, prompt_text: Option<&str>) -> Result<()> {
        let action = if accept { "accept" } else { "dismiss" };
        let args = json!({ "action": action, "promptText": prompt_text });
        self.command("setDialogPolicy", args).await.map(drop)
    }

    /// The dialogs shown so far: `{type, message, defaultValue}`.
    pub async fn dialogs(&self) -> Result<Vec<Value>> {
        list(self.command("dialogs", json!({})).await?)
    }

    /// The console messages so far: `{type, text, url, line}`.
    pub async fn console(&self) -> Result<Vec<Value>> {
        list(self.command("console", json!({})).await?)
    }

    /// Uncaught exceptions and unhandled rejections so far.
    pub async fn errors(&self) -> Result<Vec<String>> {
        let value = self.command("errors", json!({})).await?;
        Ok(serde_json::from_value(value)?)
    }

    /// Closes the page.
    pub async fn close(self) -> Result<()> {
        self.command("closePage", json!({})).await.map(drop)
    }
}

fn string(value: Value) -> Result<String> {
    match value {
        Value::String(text) => Ok(text),
        other => bail!("expected a string, got {other}"),
    }
}

fn list(value: Value) -> Result<Vec<Value>> {
    match value {
        Value::Array(items) => Ok(items),
        other => bail!("expected a list, got {other}"),
    }
}
