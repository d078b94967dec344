//! The agent tools' own cost (issue 14 item 6), beside a baseline measured in the same run:
//!
//! - MCP `ask_human` round trip over the guard's streamable HTTP endpoint (`/mcp`, JSON-RPC,
//!   `rmcp`), and over stdio (`heysummon-guard mcp` as a child process, as a coding agent starts
//!   it), against the same question asked directly with the SDK's `Client` (submit and wait for
//!   the answer) over the same guard credentials; an expert that answers every request as it
//!   arrives (its event stream) on a real server. Target: ≤ 2 ms added at p50.
//! - `heysummon`'s start-to-request time: from spawning the command to the first request's
//!   bytes reaching a loopback listener, beside spawning `true` (process creation alone).
//!   Target: ≤ 20 ms with a warm page cache.
//!
//! Run: `cargo bench -p heysummon-guard --bench tools` (options: `-- --asks 200 --starts 100`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs,
    unreachable_pub,
    dead_code
)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use heysummon_sdk::WaitOptions;
use heysummon_sdk::client::AskOptions;
use heysummon_server::testing::TestApp;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

#[path = "../tests/mcp/support.rs"]
mod support;

use support::{expert, guard_env, running_guard};

const QUESTION: &str = "May I run the database migration 2026_12_01_add_index on production now?";

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .map_or(default, |i| args[i + 1].parse().unwrap())
}

fn main() {
    let asks = arg("--asks", 200);
    let starts = arg("--starts", 100);
    // The server and its expert on a runtime of their own; the agent side on this thread.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // Rate limits out of the way: hundreds of asks on one key in a minute are the point here.
    let server = server_runtime.block_on(
        TestApp::builder()
            .sqlite_only()
            .config(|c| {
                c.rate_limits.per_key = 1_000_000;
                c.rate_limits.events_per_key = 1_000_000;
                c.rate_limits.api_per_ip = 1_000_000;
                c.rate_limits.help_poll_per_ip = 1_000_000;
            })
            .spawn(),
    );
    server_runtime.spawn(answer_everything(expert(&server)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(mcp_overhead(&server, asks));
    start_to_request(starts);
    drop(server);
}

/// The expert: answers every request as soon as its event stream shows it.
async fn answer_everything(expert: heysummon_sdk::ExpertClient) {
    let mut requests = Box::pin(expert.requests(WaitOptions::default()));
    while let Some(request) = requests.next().await {
        let request = request.unwrap();
        expert
            .reply(&request.request_id, "Yes, go ahead")
            .await
            .unwrap();
    }
}

/// Direct SDK asks, then MCP `ask_human` calls, alternating in rounds so that drift in the
/// machine's speed hits both alike.
async fn mcp_overhead(server: &TestApp, asks: usize) {
    let dir = tempfile::tempdir().unwrap();
    let stop = CancellationToken::new();
    let (guard, base) = running_guard(server, dir.path(), &stop).await;
    let client = guard.e2e().client().clone();
    let http = reqwest::Client::new();
    let mcp = format!("{base}/mcp");
    let rpc = |body: Value| {
        http.post(&mcp)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(&body)
            .send()
    };
    let initialize = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": { "name": "bench", "version": "0" } } });
    let answer: Value = rpc(initialize).await.unwrap().json().await.unwrap();
    assert!(answer["result"]["serverInfo"].is_object(), "{answer}");

    let direct_ask = || async {
        let started = Instant::now();
        let conversation = client.submit(QUESTION, &AskOptions::new()).await.unwrap();
        let answer = conversation.answer(WaitOptions::default()).await.unwrap();
        assert_eq!(answer.text, "Yes, go ahead");
        started.elapsed()
    };
    let mcp_ask = |id: usize| {
        let call = rpc(json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": "ask_human", "arguments": { "question": QUESTION } } }));
        async move {
            let started = Instant::now();
            let answer: Value = call.await.unwrap().json().await.unwrap();
            let elapsed = started.elapsed();
            assert_eq!(
                answer["result"]["structuredContent"]["status"], "answered",
                "{answer}"
            );
            elapsed
        }
    };
    // The stdio server: its own process and key store, the same enrolled device key (the
    // client key is bound to its first device). Its calls block this thread, which has nothing
    // else to do meanwhile (the server runs on its own).
    let mut stdio = StdioMcp::start(server, dir.path());
    for id in 0..20 {
        direct_ask().await;
        mcp_ask(id + 1).await;
        stdio.ask(id + 1);
    }
    let (mut direct, mut tool, mut piped) = (Vec::new(), Vec::new(), Vec::new());
    for id in 0..asks {
        direct.push(direct_ask().await);
        tool.push(mcp_ask(id + 100).await);
        piped.push(stdio.ask(id + 100));
    }
    let (d50, d99) = percentiles(&mut direct);
    let (m50, m99) = percentiles(&mut tool);
    let (s50, s99) = percentiles(&mut piped);
    println!(
        "ask round trip, expert answering at once ({asks} each, alternating):\n  \
         direct SDK ask (submit + answer): p50 {:.2} ms, p99 {:.2} ms\n  \
         MCP ask_human over /mcp:          p50 {:.2} ms, p99 {:.2} ms\n  \
         MCP ask_human over stdio:         p50 {:.2} ms, p99 {:.2} ms\n  \
         MCP overhead, /mcp:  p50 +{:.2} ms, p99 +{:.2} ms (ratio {:.2}x at p50; target ≤ 2 ms)\n  \
         MCP overhead, stdio: p50 +{:.2} ms, p99 +{:.2} ms (ratio {:.2}x at p50; target ≤ 2 ms)",
        ms(d50),
        ms(d99),
        ms(m50),
        ms(m99),
        ms(s50),
        ms(s99),
        ms(m50.saturating_sub(d50)),
        ms(m99.saturating_sub(d99)),
        m50.as_secs_f64() / d50.as_secs_f64(),
        ms(s50.saturating_sub(d50)),
        ms(s99.saturating_sub(d99)),
        s50.as_secs_f64() / d50.as_secs_f64()
    );
    stop.cancel();
}

/// `heysummon-guard mcp` as a coding agent starts it: a child process speaking JSON-RPC, one
/// message per line, on its stdin and stdout.
struct StdioMcp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl StdioMcp {
    fn start(server: &TestApp, dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_heysummon-guard"))
            .arg("mcp")
            .envs(guard_env(server, dir, Duration::from_secs(45)))
            .env("HEYSUMMON_KEY_STORE_DIR", dir.join("stdio-keys"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut mcp = Self {
            child,
            stdin,
            stdout,
        };
        let answer = mcp.call(json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": { "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": { "name": "bench", "version": "0" } } }));
        assert!(answer["result"]["serverInfo"].is_object(), "{answer}");
        mcp.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
        mcp
    }

    fn send(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Sends a request and reads lines until its response.
    fn call(&mut self, message: Value) -> Value {
        self.send(&message);
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "the guard ended"
            );
            let answer: Value = serde_json::from_str(&line).unwrap();
            if answer["id"] == message["id"] {
                return answer;
            }
        }
    }

    /// One `ask_human` call, timed from the request's write to its response's read.
    fn ask(&mut self, id: usize) -> Duration {
        let started = Instant::now();
        let answer = self.call(json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": "ask_human", "arguments": { "question": QUESTION } } }));
        let elapsed = started.elapsed();
        assert_eq!(
            answer["result"]["structuredContent"]["status"], "answered",
            "{answer}"
        );
        elapsed
    }
}

impl Drop for StdioMcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `heysummon` from spawn to its first request arriving, beside spawning `true`.
fn start_to_request(starts: usize) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let command = env!("CARGO_BIN_EXE_heysummon");
    let first_request = || {
        let started = Instant::now();
        let mut child = std::process::Command::new(command)
            .args(["-q", "Deploy?"])
            .env_clear()
            .env("HEYSUMMON_BASE_URL", &base)
            .env("HEYSUMMON_API_KEY", "hs_cli_bench")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let (mut connection, _) = listener.accept().unwrap();
        let mut byte = [0u8; 1];
        std::io::Read::read_exact(&mut connection, &mut byte).unwrap();
        let elapsed = started.elapsed();
        // Stopped before the connection closes, so that no retry of it waits in the backlog
        // to be timed as the next start.
        let _ = child.kill();
        let _ = child.wait();
        drop(connection);
        elapsed
    };
    let spawn_true = || {
        let started = Instant::now();
        std::process::Command::new("true").status().unwrap();
        started.elapsed()
    };
    for _ in 0..10 {
        first_request();
        spawn_true();
    }
    let (mut command_times, mut true_times) = (Vec::new(), Vec::new());
    for _ in 0..starts {
        command_times.push(first_request());
        true_times.push(spawn_true());
    }
    let (c50, c99) = percentiles(&mut command_times);
    let (t50, t99) = percentiles(&mut true_times);
    println!(
        "heysummon start to first request ({starts} starts, warm page cache): p50 {:.2} ms, p99 {:.2} ms \
         (target ≤ 20 ms)\n  baseline, spawning `true` to its exit: p50 {:.2} ms, p99 {:.2} ms (ratio {:.1}x at p50)",
        ms(c50),
        ms(c99),
        ms(t50),
        ms(t99),
        c50.as_secs_f64() / t50.as_secs_f64()
    );
}

fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
