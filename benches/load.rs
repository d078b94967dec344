//! Load harness for `POST /api/v1/help`: persisted requests with a 1 KiB question against a
//! real server (its own tokio runtime and SQLite file) on 127.0.0.1, from a load generator in
//! the same process on the same cores. Reports requests/s and latency percentiles at 32
//! concurrent keep-alive connections and sequentially on one connection, and the size of the
//! SQLite write-ahead log: its largest during the concurrent run, at its end, and after 2 s idle.
//!
//! Run: `cargo bench --bench load` (options: `-- --seconds N --connections N`).
//! Figures go to BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::print_stdout, unreachable_pub)] // a benchmark binary: failures abort, output is the point

use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[path = "support/submit.rs"]
mod submit;

use submit::{body, connection, report};

struct Options {
    seconds: u64,
    connections: usize,
}

fn options() -> Options {
    let mut options = Options {
        seconds: 10,
        connections: 32,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--seconds" => options.seconds = args[i + 1].parse().unwrap(),
            "--connections" => options.connections = args[i + 1].parse().unwrap(),
            _ => {}
        }
        i += 1;
    }
    options
}

fn start_server(dir: &std::path::Path) -> (SocketAddr, String) {
    let (tx, rx) = std::sync::mpsc::channel();
    let url = format!("sqlite://{}", dir.join("load.db").display());
    std::thread::spawn(move || {
        heysummon_workspace::run_bench_server(&url, |server| {
            tx.send((server.addr, server.client_key)).unwrap();
        })
        .unwrap();
    });
    rx.recv().unwrap()
}

/// The size of the database's write-ahead log file, in MiB.
fn wal_mib(db: &std::path::Path) -> f64 {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    std::fs::metadata(name).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0))
}

/// Samples the log's size every 50 ms until `deadline`; returns the largest seen.
async fn largest_wal(db: std::path::PathBuf, deadline: Instant) -> f64 {
    let mut largest: f64 = 0.0;
    while Instant::now() < deadline {
        largest = largest.max(wal_mib(&db));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    largest
}

fn main() {
    let options = options();
    let dir = tempfile::tempdir().unwrap();
    let (addr, client_key) = start_server(dir.path());
    let body = body(&client_key);
    println!(
        "POST /api/v1/help, {} byte body (1 KiB question), server {addr}, SQLite WAL file",
        body.len()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Warm-up: fills caches and the WAL.
        let _ = connection(addr, body.clone(), Instant::now() + Duration::from_secs(1)).await;

        let started = Instant::now();
        let deadline = started + Duration::from_secs(options.seconds);
        let db = dir.path().join("load.db");
        let sampler = tokio::spawn(largest_wal(db.clone(), deadline));
        let tasks: Vec<_> = (0..options.connections)
            .map(|_| tokio::spawn(connection(addr, body.clone(), deadline)))
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        report(
            &format!("{} connections", options.connections),
            all,
            started.elapsed(),
        );
        let largest = sampler.await.unwrap();
        let at_end = wal_mib(&db);
        tokio::time::sleep(Duration::from_secs(2)).await;
        println!(
            "write-ahead log: largest {largest:.1} MiB during the run, {at_end:.1} MiB at its end, \
             {:.1} MiB after 2 s idle (database {:.1} MiB)",
            wal_mib(&db),
            std::fs::metadata(&db).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0)),
        );

        let started = Instant::now();
        let latencies = connection(
            addr,
            body.clone(),
            started + Duration::from_secs(options.seconds),
        )
        .await;
        report("sequential (1 connection)", latencies, started.elapsed());
    });
}
