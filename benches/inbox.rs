//! Dashboard benchmark (issue 11): how long after an agent's `POST /api/v1/help` returns the
//! request is visible in an expert's open inbox, in a real headless Chromium; and what the
//! dashboard's first load transfers.
//!
//! The inbox stamps each row it renders for the first time with `data-shown-at`, the wall-clock
//! time in milliseconds (`performance.timeOrigin + performance.now()`); this harness takes the
//! same wall clock before `POST /help` is sent and when it has been answered. The baseline,
//! measured in the same run, is a raw Server-Sent Events client on the expert's stream receiving
//! `new_request`, timed from the send: the inbox's figure over the baseline is the dashboard's
//! own cost (the browser's stream, its fetch of the list, and rendering).
//!
//! Run: `cargo bench --bench inbox` (options: `-- --samples 100`). Needs Chromium and Node.js
//! as the browser tests do.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    dead_code,
    missing_docs,
    unreachable_pub
)]

#[path = "../tests/browser/driver.rs"]
mod driver;
#[path = "../tests/support/node.rs"]
mod node;
#[path = "../tests/browser/page.rs"]
mod page;
#[path = "../tests/browser/setup.rs"]
mod setup;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use heysummon_server::testing::TestApp;
use serde_json::{Value, json};

use driver::{Browser, PageOptions};

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(name: &str, mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let (p50, p90, p99) = (
        percentile(&samples, 50.0),
        percentile(&samples, 90.0),
        percentile(&samples, 99.0),
    );
    let max = samples.last().copied().unwrap_or_default();
    println!(
        "{name:<34} n={:<4} p50 {p50:>7.2} ms  p90 {p90:>7.2} ms  p99 {p99:>7.2} ms  max {max:>7.2} ms",
        samples.len()
    );
    (p50, p99)
}

/// The baseline: a raw SSE client on the expert's session receiving the request's
/// `new_request`, timed from before `POST /help` is sent (the event may arrive before the
/// answer to the POST does).
async fn raw_stream_latency(app: &TestApp, cookie: &str, samples: usize) -> Vec<f64> {
    let mut stream = app
        .http
        .get(app.url("/api/v1/events/stream"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let mut buffer = String::new();
    let mut out = Vec::with_capacity(samples);
    for n in 0..samples {
        let sent = now_ms();
        let id = app.ask_ok(&app.client_key, &format!("baseline {n}")).await;
        while !buffer.contains(&id) {
            let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
        out.push(now_ms() - sent);
        buffer.clear();
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let samples = args
        .windows(2)
        .find(|w| w[0] == "--samples")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(100usize);

    // One agent asks a few hundred times a minute here: lift the per-key limit.
    let app = TestApp::builder()
        .config(|c| c.rate_limits.per_key = 1_000_000)
        .spawn()
        .await;
    let browser = Browser::launch().await.unwrap();
    println!("browser: {}", browser.version());
    let page = browser.new_page_with(PageOptions::default()).await.unwrap();
    page.goto(&app.login_link(&app.expert_id).await)
        .await
        .unwrap();
    page.wait_for("#inbox-list").await.unwrap();

    // What the first load transferred: the page and every script and style sheet.
    let loaded: Value = page
        .evaluate(
            "return performance.getEntriesByType('resource')
               .filter((e) => e.name.includes('/assets/'))
               .map((e) => ({ name: e.name, size: e.decodedBodySize }));",
            json!(null),
        )
        .await
        .unwrap();
    let assets: f64 = loaded
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["size"].as_f64().unwrap_or(0.0))
        .sum();
    let page_bytes = app
        .http
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len() as f64;
    println!(
        "first load: {} files, JS+CSS+icon {:.1} KiB + page {:.1} KiB = {:.1} KiB uncompressed \
         (every dashboard file: {:.1} KiB)",
        loaded.as_array().unwrap().len(),
        assets / 1024.0,
        page_bytes / 1024.0,
        (assets + page_bytes) / 1024.0,
        heysummon_server::web::dashboard_bytes() as f64 / 1024.0
    );

    // Warm up both paths.
    for n in 0..10 {
        let id = app.ask_ok(&app.client_key, &format!("warm-up {n}")).await;
        page.wait_for(&format!("li[data-id=\"{id}\"]"))
            .await
            .unwrap();
    }

    let (mut after_answer, mut from_send, mut round_trip) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..samples {
        let before = now_ms();
        let id = app.ask_ok(&app.client_key, &format!("Question {n}")).await;
        let answered = now_ms();
        let row = format!("li[data-id=\"{id}\"]");
        page.wait_for(&row).await.unwrap();
        let shown: f64 = page
            .attribute(&row, "data-shown-at")
            .await
            .unwrap()
            .expect("a new row is stamped")
            .parse()
            .unwrap();
        after_answer.push(shown - answered);
        from_send.push(shown - before);
        round_trip.push(answered - before);
    }
    let (cookie, _) = app.session(&app.expert_id).await;
    let baseline = raw_stream_latency(&app, &cookie, samples).await;

    println!();
    report("POST /help answered → row in inbox", after_answer);
    let (inbox_p50, inbox_p99) = report("POST /help sent → row in inbox", from_send);
    let (base_p50, base_p99) = report("POST /help sent → raw SSE event", baseline);
    report("POST /help round trip", round_trip);
    println!(
        "inbox / raw stream (both from the send): p50 {:.1}×, p99 {:.1}× \
         (target: answered → row p99 ≤ 100 ms)",
        inbox_p50 / base_p50,
        inbox_p99 / base_p99
    );
}
