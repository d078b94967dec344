//! A real MCP client from another implementation: the official TypeScript SDK
//! (`tests/mcp/client` of the workspace, run by Node.js), as a child process speaking one JSON
//! command per line. It connects to `heysummon-guard mcp` over stdio (it starts the guard
//! itself, as a coding agent's host does) or to a running guard's `/mcp` over HTTP.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};

/// How long one command may take (the client's own request timeout is 60 s).
const PATIENCE: Duration = Duration::from_secs(70);

/// The client's directory: `tests/mcp/client` of the workspace.
fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/mcp/client")
}

type Waiters = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// The client process.
pub struct McpClient {
    child: Child,
    stdin: Mutex<Option<ChildStdin>>,
    next: AtomicU64,
    waiters: Waiters,
    /// The first line: `{"event":"ready","server","instructions"}`.
    pub ready: Value,
    exited: Arc<Notify>,
}

impl McpClient {
    /// Starts `heysummon-guard mcp` through the client, the guard configured by `env`.
    pub async fn stdio(env: &[(&str, String)]) -> Self {
        let guard = env!("CARGO_BIN_EXE_heysummon-guard");
        Self::start(&["stdio", guard, "mcp"], env).await
    }

    /// Connects to a running guard's streamable HTTP endpoint.
    pub async fn http(url: &str) -> Self {
        Self::start(&["http", url], &[]).await
    }

    async fn start(args: &[&str], env: &[(&str, String)]) -> Self {
        let dir = client_dir();
        tokio::task::spawn_blocking({
            let dir = dir.clone();
            move || {
                node::check_node("the MCP tests")?;
                node::install_packages(&dir, "@modelcontextprotocol/sdk")
            }
        })
        .await
        .unwrap()
        .unwrap_or_else(|why| panic!("{why}"));
        let mut command = Command::new("node");
        command
            .arg(dir.join("client.mjs"))
            .args(args)
            .env("HEYSUMMON_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start node");
        let stdout = child.stdout.take().unwrap();
        let waiters: Waiters = Arc::default();
        let (ready_tx, ready_rx) = oneshot::channel();
        let exited = Arc::new(Notify::new());
        {
            let waiters = waiters.clone();
            let exited = exited.clone();
            std::thread::spawn(move || {
                let mut ready = Some(ready_tx);
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let message: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|_| panic!("the client wrote {line:?}"));
                    if message.get("event").is_some() {
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(message);
                        }
                        continue;
                    }
                    let id = message["id"].as_u64().unwrap_or(u64::MAX);
                    if let Some(waiter) = waiters.lock().unwrap().remove(&id) {
                        let _ = waiter.send(message);
                    }
                }
                exited.notify_waiters();
            });
        }
        let ready = tokio::time::timeout(PATIENCE, ready_rx)
            .await
            .expect("the MCP client connects")
            .expect("the MCP client starts");
        assert_eq!(ready["event"], "ready", "{ready}");
        Self {
            stdin: Mutex::new(child.stdin.take()),
            child,
            next: AtomicU64::new(1),
            waiters,
            ready,
            exited,
        }
    }

    /// Sends a command; the answer arrives through the receiver.
    fn send(&self, mut command: Value) -> oneshot::Receiver<Value> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        command["id"] = json!(id);
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().unwrap().insert(id, tx);
        let mut stdin = self.stdin.lock().unwrap();
        let stdin = stdin.as_mut().expect("the client is open");
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
        rx
    }

    /// `tools/list`: the tools.
    pub async fn tools(&self) -> Vec<Value> {
        let answer = wait(self.send(json!({ "op": "list" }))).await;
        answer["tools"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("{answer}"))
    }

    /// Starts `tools/call`; [`Call::result`] waits for it.
    pub fn start_call(&self, name: &str, arguments: Value) -> Call {
        Call(self.send(json!({ "op": "call", "name": name, "arguments": arguments })))
    }

    /// `tools/call` to the end: the result, or `{"error"}` when the call itself failed.
    pub async fn call(&self, name: &str, arguments: Value) -> Value {
        self.start_call(name, arguments).result().await
    }

    /// Closes the client's stdin (it disconnects, and a stdio server exits) and waits for it.
    pub async fn close(mut self) {
        let exited = self.exited.notified();
        self.stdin.lock().unwrap().take();
        let _ = tokio::time::timeout(PATIENCE, exited).await;
        let status = tokio::task::spawn_blocking(move || self.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "the MCP client exited with {status}");
    }
}

impl Drop for McpClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// A tool call in flight.
pub struct Call(oneshot::Receiver<Value>);

impl Call {
    /// The call's result (`{"content","structuredContent","isError"?}`), or `{"error"}`.
    pub async fn result(self) -> Value {
        let answer = wait(self.0).await;
        match answer.get("result") {
            Some(result) => result.clone(),
            None => json!({ "error": answer["error"] }),
        }
    }
}

async fn wait(rx: oneshot::Receiver<Value>) -> Value {
    tokio::time::timeout(PATIENCE, rx)
        .await
        .expect("the MCP client answers in time")
        .expect("the MCP client is running")
}

/// The text of a tool result's first content block.
pub fn text(result: &Value) -> &str {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {result}"))
}

use crate::node;
