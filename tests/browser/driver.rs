//! [`Browser`]: a real headless Chromium, driven through `driver/driver.mjs` (Playwright) over
//! one JSON command per line. The Rust test is in charge; the Node process only executes.
//!
//! ```ignore
//! let browser = Browser::launch().await?;
//! let page = browser.new_page().await?;
//! page.goto(&url).await?;
//! page.fill("#passphrase", "…").await?;
//! page.click("button[type=submit]").await?;
//! page.wait_for_text(".status", "Saved").await?;
//! let value = page.evaluate("return 1 + arg", json!(41)).await?;
//! ```
//!
//! Every command has a deadline (the driver's, plus a margin here). Dropping the [`Browser`]
//! closes the driver's stdin, which closes Chromium; a driver that does not exit soon is killed.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::{Map, Value, json};
use tokio::sync::{Mutex, mpsc};

use crate::page::Page;
use crate::setup;

/// The deadline of a command that names none (the driver's default too).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Added to a command's deadline before the Rust side gives up on the driver.
const MARGIN: Duration = Duration::from_secs(5);
/// How long Chromium may take to start.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(60);

struct Conn {
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    next_id: u64,
}

/// A headless Chromium with its driver process.
pub struct Browser {
    conn: Mutex<Conn>,
    child: Child,
    stderr: Arc<StdMutex<String>>,
    version: String,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// How to open a page.
#[derive(Clone, Debug)]
pub struct PageOptions {
    /// Pages of one context share storage (IndexedDB, cookies); another context is another
    /// browser profile.
    pub context: String,
    /// Width and height in CSS pixels.
    pub viewport: (u32, u32),
}

impl Default for PageOptions {
    fn default() -> Self {
        Self {
            context: "default".to_owned(),
            viewport: (1280, 800),
        }
    }
}

impl Browser {
    /// Checks the machine (see `setup`), starts the driver and waits until Chromium runs.
    pub async fn launch() -> Result<Self> {
        let prepared = tokio::task::spawn_blocking(setup::prepare)
            .await?
            .map_err(|message| anyhow!(message))?;
        let mut child = Command::new("node")
            .arg("driver.mjs")
            .current_dir(&prepared.driver_dir)
            .env("HEYSUMMON_CHROMIUM", &prepared.chromium)
            .env(
                "HEYSUMMON_BROWSER_TIMEOUT_MS",
                DEFAULT_TIMEOUT.as_millis().to_string(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start `node driver.mjs`")?;
        let stdin = child.stdin.take().context("driver stdin")?;
        let stdout = child.stdout.take().context("driver stdout")?;
        let stderr_pipe = child.stderr.take().context("driver stderr")?;

        let (sender, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(StdMutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr_pipe);
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = reader.read(&mut chunk) {
                if let Ok(mut text) = sink.lock() {
                    text.push_str(&String::from_utf8_lossy(&chunk[..n]));
                }
            }
        });

        let mut browser = Self {
            conn: Mutex::new(Conn {
                stdin: Some(stdin),
                lines,
                next_id: 1,
            }),
            child,
            stderr,
            version: String::new(),
        };
        let ready = {
            let mut conn = browser.conn.lock().await;
            browser.receive(&mut conn, 0, LAUNCH_TIMEOUT).await
        };
        let ready = ready.context("the browser driver did not start")?;
        browser.version = ready["version"].as_str().unwrap_or_default().to_owned();
        Ok(browser)
    }

    /// Chromium's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Sends one command (`args` is a JSON object; `timeout` in ms may be among them) and
    /// returns its value, or the driver's error.
    pub async fn command(&self, cmd: &str, args: Value) -> Result<Value> {
        let mut body = match args {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => bail!("command arguments must be an object, not {other}"),
        };
        let timeout = body
            .get("timeout")
            .and_then(Value::as_u64)
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        let mut conn = self.conn.lock().await;
        let id = conn.next_id;
        conn.next_id += 1;
        body.insert("id".into(), json!(id));
        body.insert("cmd".into(), json!(cmd));
        let mut line = serde_json::to_string(&body)?;
        line.push('\n');
        let stdin = conn.stdin.as_mut().context("the driver is closed")?;
        stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.flush())
            .with_context(|| format!("cannot send `{cmd}` to the driver{}", self.stderr_tail()))?;
        self.receive(&mut conn, id, timeout + MARGIN)
            .await
            .with_context(|| format!("browser command `{cmd}`"))
    }

    /// Waits for the reply with `id`, skipping late replies to commands that timed out here.
    async fn receive(&self, conn: &mut Conn, id: u64, within: Duration) -> Result<Value> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match tokio::time::timeout(left, conn.lines.recv()).await {
                Ok(Some(line)) => line,
                Ok(None) => bail!("the driver exited{}", self.stderr_tail()),
                Err(_) => bail!("no answer within {within:?}{}", self.stderr_tail()),
            };
            let reply: Value = serde_json::from_str(&line)
                .with_context(|| format!("the driver wrote a line that is not JSON: {line}"))?;
            if reply["id"].as_u64() != Some(id) {
                continue;
            }
            if reply["ok"] == json!(true) {
                return Ok(reply["value"].clone());
            }
            bail!(
                "{}",
                reply["error"].as_str().unwrap_or("unknown driver error")
            );
        }
    }

    fn stderr_tail(&self) -> String {
        let text = self.stderr.lock().map(|t| t.clone()).unwrap_or_default();
        let tail: String = text
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if tail.trim().is_empty() {
            String::new()
        } else {
            format!("; driver stderr:\n{tail}")
        }
    }

    /// A new page in the default context, 1280×800.
    pub async fn new_page(&self) -> Result<Page<'_>> {
        self.new_page_with(PageOptions::default()).await
    }

    /// A new page.
    pub async fn new_page_with(&self, options: PageOptions) -> Result<Page<'_>> {
        let (width, height) = options.viewport;
        let id = self
            .command(
                "newPage",
                json!({"context": options.context, "viewport": {"width": width, "height": height}}),
            )
            .await?;
        let id = id.as_str().context("newPage returned no id")?.to_owned();
        Ok(Page::new(self, id))
    }

    /// Closes a context and its pages (forgets that profile's storage).
    pub async fn close_context(&self, context: &str) -> Result<()> {
        self.command("closeContext", json!({ "context": context }))
            .await
            .map(drop)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing stdin makes the driver close Chromium and exit; wait a little for that, then
        // kill whatever is left.
        drop(self.conn.get_mut().stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
