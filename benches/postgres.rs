//! PostgreSQL beside SQLite (issue 13), all in one run on this machine:
//! - PostgreSQL's own ceiling: `pgbench`, 32 clients, one 1.3 KB insert per transaction;
//! - `POST /api/v1/help` (1 KiB question) at 32 connections and sequentially, on SQLite and on
//!   PostgreSQL, and with two server instances on one PostgreSQL database (16 connections each);
//! - delivery across instances: an expert's event stream on instance B receiving the
//!   `new_request` of a request created on instance A, from the `POST` being sent (p50/p99),
//!   beside the same on one instance.
//!
//! Run: `cargo bench --bench postgres` (options: `-- --seconds N --samples N`). PostgreSQL is
//! the server at `HEYSUMMON_TEST_POSTGRES_URL` (default the local one, user postgres). Each part
//! runs on a fresh database of its own, dropped at the end.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    missing_docs,
    unreachable_pub
)]

#[path = "support/submit.rs"]
mod submit;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use heysummon_server::testing::postgres::TestDatabase;
use submit::{body, connection, report};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A server on its own thread and runtime, as `run_bench_server` makes it.
fn start(url: &str) -> heysummon_workspace::BenchServer {
    let (tx, rx) = std::sync::mpsc::channel();
    let url = url.to_owned();
    std::thread::spawn(move || {
        heysummon_workspace::run_bench_server(&url, |server| tx.send(server).unwrap()).unwrap();
    });
    rx.recv().unwrap()
}

/// Requests/s of `connections` keep-alive connections, spread over `targets`, for `seconds`.
async fn submit(
    label: &str,
    targets: &[(SocketAddr, String)],
    connections: usize,
    seconds: u64,
) -> f64 {
    // Warm-up.
    for (addr, key) in targets {
        let _ = connection(
            *addr,
            body(key),
            Instant::now() + Duration::from_millis(500),
        )
        .await;
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|n| {
            let (addr, key) = &targets[n % targets.len()];
            tokio::spawn(connection(*addr, body(key), deadline))
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    report(label, all, started.elapsed())
}

/// pgbench's transactions/s: 32 clients, each transaction one insert of a 1.3 KB row.
fn pgbench(url: &str, seconds: u64) -> f64 {
    let created = Command::new("psql")
        .args([
            url,
            "-q",
            "-c",
            "CREATE TABLE bench_insert (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)",
        ])
        .status()
        .unwrap();
    assert!(created.success());
    let script = std::env::temp_dir().join("heysummon-pgbench.sql");
    std::fs::write(
        &script,
        "INSERT INTO bench_insert (body) VALUES (repeat('x', 1300));\n",
    )
    .unwrap();
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-c",
            "32",
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l[6..].split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench's output: {text}"));
    println!("pgbench, 32 clients, one 1.3 KB insert per transaction: {tps:.0} transactions/s");
    tps
}

/// Times from `POST /help` being sent to `create_on` to the expert's stream on `listen_on`
/// carrying the request, in ms (the event may come before the answer to the POST: a write
/// returns once its events are published on its own instance).
async fn delivery(
    create_on: SocketAddr,
    listen_on: SocketAddr,
    server: &heysummon_workspace::BenchServer,
    samples: u64,
) -> Vec<f64> {
    let http = reqwest::Client::new();
    let mut stream = http
        .get(format!("http://{listen_on}/api/v1/events/stream"))
        .header("x-api-key", &server.expert_key)
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let mut seen = String::new();
    let mut times = Vec::new();
    for _ in 0..samples {
        let sent = Instant::now();
        let created: serde_json::Value = http
            .post(format!("http://{create_on}/api/v1/help"))
            .header("content-type", "application/json")
            .body(body(&server.client_key))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["requestId"].as_str().unwrap().to_owned();
        while !seen.contains(&id) {
            let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("the event within 10 s")
                .unwrap()
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        times.push(sent.elapsed().as_secs_f64() * 1000.0);
        seen.clear();
    }
    times
}

fn percentiles(label: &str, mut times: Vec<f64>) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    let at = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{label}: n={} p50 {:.3} ms, p99 {:.3} ms",
        times.len(),
        at(0.5),
        at(0.99)
    );
    (at(0.5), at(0.99))
}

fn main() {
    let seconds = arg("--seconds", 10);
    let samples = arg("--samples", 300);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let baseline_db = TestDatabase::create().await.expect("HEYSUMMON_TEST_POSTGRES_URL");
        let tps = pgbench(baseline_db.url(), seconds);
        drop(baseline_db);

        let dir = tempfile::tempdir().unwrap();
        let sqlite = start(&format!("sqlite://{}", dir.path().join("bench.db").display()));
        let sqlite_target = [(sqlite.addr, sqlite.client_key.clone())];
        let on_sqlite = submit("SQLite, 32 connections", &sqlite_target, 32, seconds).await;
        submit("SQLite, sequential", &sqlite_target, 1, seconds).await;

        let one_db = TestDatabase::create().await.unwrap();
        let one = start(one_db.url());
        let one_target = [(one.addr, one.client_key.clone())];
        let on_pg = submit("PostgreSQL, 32 connections", &one_target, 32, seconds).await;
        submit("PostgreSQL, sequential", &one_target, 1, seconds).await;

        let two_db = TestDatabase::create().await.unwrap();
        let a = start(two_db.url());
        let b = start(two_db.url());
        let both = [(a.addr, a.client_key.clone()), (b.addr, b.client_key.clone())];
        let on_two = submit("PostgreSQL, two instances, 16 connections each", &both, 32, seconds).await;
        let same = percentiles("delivery, one instance (POST on A, stream on A)", delivery(a.addr, a.addr, &a, samples).await);
        let across = percentiles("delivery across instances (POST on A, stream on B)", delivery(a.addr, b.addr, &a, samples).await);

        println!("ratios: PostgreSQL 32 connections / pgbench = {:.2}; / SQLite = {:.2}; two instances / one = {:.2}", on_pg / tps, on_pg / on_sqlite, on_two / on_pg);
        println!("cross-instance delivery over same-instance: p50 {:.1}x, p99 {:.1}x", across.0 / same.0, across.1 / same.1);
        drop((one_db, two_db));
    });
}
