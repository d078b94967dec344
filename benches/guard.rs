//! The guard's own cost: the same requests sent directly to an upstream and through
//! `heysummon-guard` (which injects the key, inspects `POST /help` bodies and signs every request
//! with Ed25519), in the same run.
//!
//! The upstream is a minimal hyper HTTP/1.1 server that answers every request with a 30-byte JSON
//! body (`{"ok":true,"id":"bench-0001"}`) and counts accepted TCP connections and requests; it
//! verifies nothing, so what is measured is the guard, not a server. This binary re-executes
//! itself as the upstream (`--upstream-child`) and as the guard (`--guard-child`, the guard's
//! library through its own command line, exactly what the `heysummon-guard` binary runs).
//!
//! Phases:
//! 1. Latency: upstream, guard (1 tokio worker) and this load generator (1 thread) all pinned to
//!    core 0 with `taskset`; one keep-alive connection, sequential requests, direct and guarded
//!    alternating in blocks of 500. Added latency = guarded percentile − direct percentile.
//! 2. Throughput: nothing pinned; upstream 2 workers, guard 2 workers, generator 2 workers, 32
//!    keep-alive connections for `--seconds` each, direct then guarded.
//! 3. Memory: the guard's VmRSS (and peak VmHWM) from /proc after phase 2.
//! 4. Upstream connection reuse: connections the upstream accepted from the guard during phase 2
//!    versus requests the guard forwarded.
//!
//! Run: `cargo bench --bench guard` (options: `-- --seconds N --requests N`).
//! Figures go to BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary: failures abort, output is the point

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser as _;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

const API_KEY: &str = "hs_cli_benchmark0000000000000001";

struct Options {
    seconds: u64,
    requests: usize,
}

fn options(args: &[String]) -> Options {
    let mut options = Options {
        seconds: 5,
        requests: 20_000,
    };
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--seconds" => options.seconds = args[i + 1].parse().unwrap(),
            "--requests" => options.requests = args[i + 1].parse().unwrap(),
            _ => {}
        }
        i += 1;
    }
    options
}

// ---------------------------------------------------------------- the upstream child

fn upstream_child(workers: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("PORT {}", listener.local_addr().unwrap().port());
        let connections = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            connections.fetch_add(1, Ordering::Relaxed);
            let (connections, requests) = (connections.clone(), requests.clone());
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let (connections, requests) = (connections.clone(), requests.clone());
                    async move {
                        let stats = request.uri().path() == "/__stats";
                        let _ = request.into_body().collect().await;
                        let body = if stats {
                            Bytes::from(format!(
                                "{{\"connections\":{},\"requests\":{}}}",
                                connections.load(Ordering::Relaxed),
                                requests.load(Ordering::Relaxed)
                            ))
                        } else {
                            requests.fetch_add(1, Ordering::Relaxed);
                            Bytes::from_static(b"{\"ok\":true,\"id\":\"bench-0001\"}")
                        };
                        let response = Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(body))
                            .unwrap();
                        Ok::<_, Infallible>(response)
                    }
                });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
}

// ---------------------------------------------------------------- children

struct Proc {
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Re-executes this binary, under `taskset -c CORES` when given.
fn spawn_self(cores: Option<&str>, args: &[&str]) -> Proc {
    let exe = std::env::current_exe().unwrap();
    let mut command = match cores {
        Some(cores) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cores]).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let child = command
        .args(args)
        .env("HEYSUMMON_API_KEY", API_KEY)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    Proc { child }
}

fn start_upstream(cores: Option<&str>, workers: usize) -> (Proc, SocketAddr) {
    let mut proc = spawn_self(cores, &["--upstream-child", &workers.to_string()]);
    let stdout = proc.child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    let port: u16 = line.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
    (proc, SocketAddr::from(([127, 0, 0, 1], port)))
}

fn start_guard(
    cores: Option<&str>,
    upstream: SocketAddr,
    workers: usize,
    key: &str,
) -> (Proc, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let proc = spawn_self(
        cores,
        &[
            "--guard-child",
            "--upstream",
            &format!("http://{upstream}"),
            "--listen",
            &listen,
            "--device-key-file",
            key,
            "--no-auto-enroll",
            "--workers",
            &workers.to_string(),
            "serve",
        ],
    );
    let addr: SocketAddr = listen.parse().unwrap();
    for _ in 0..200 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return (proc, addr);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the guard did not start");
}

fn pin_self(cores: &str) {
    let status = Command::new("taskset")
        .args(["-a", "-cp", cores, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "taskset failed");
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap()
}

// ---------------------------------------------------------------- load

#[derive(Clone)]
struct Job {
    method: &'static str,
    path: &'static str,
    body: Bytes,
}

fn jobs() -> Vec<(&'static str, Job)> {
    let question = "Is it safe to run the schema migration on the production replica now? "
        .repeat(16)
        .chars()
        .take(1024)
        .collect::<String>();
    let help = serde_json::json!({
        "signPublicKey": "302a300506032b65700321008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
        "encryptPublicKey": "302a300506032b656e032100ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59",
        "question": question,
    });
    vec![
        (
            "GET /api/v1/help/:id (no body)",
            Job {
                method: "GET",
                path: "/api/v1/help/cm0benchrequest0001",
                body: Bytes::new(),
            },
        ),
        (
            "POST /api/v1/help (1 KiB question: parse, safety scan, key injection)",
            Job {
                method: "POST",
                path: "/api/v1/help",
                body: Bytes::from(serde_json::to_vec(&help).unwrap()),
            },
        ),
    ]
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Sender {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

async fn send(sender: &mut Sender, job: &Job) {
    let mut request = Request::builder()
        .method(job.method)
        .uri(job.path)
        .header("host", "127.0.0.1");
    if !job.body.is_empty() {
        request = request.header("content-type", "application/json");
    }
    let request = request.body(Full::new(job.body.clone())).unwrap();
    sender.ready().await.unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert!(status.is_success(), "{status}: {bytes:?}");
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64
}

/// Sequential latency on one connection each, direct and guarded alternating in blocks.
async fn latency(
    direct: SocketAddr,
    guarded: SocketAddr,
    job: &Job,
    requests: usize,
) -> ([f64; 2], [f64; 2]) {
    let mut senders = [connect(direct).await, connect(guarded).await];
    let mut samples = [Vec::with_capacity(requests), Vec::with_capacity(requests)];
    for _ in 0..1000 {
        for sender in &mut senders {
            send(sender, job).await;
        }
    }
    let block = 500;
    for _ in 0..requests.div_ceil(block) {
        for (sender, samples) in senders.iter_mut().zip(samples.iter_mut()) {
            for _ in 0..block {
                let started = Instant::now();
                send(sender, job).await;
                samples.push(started.elapsed().as_nanos().min(u32::MAX as u128) as u32);
            }
        }
    }
    let [mut d, mut g] = samples;
    d.sort_unstable();
    g.sort_unstable();
    (
        [pct(&d, 0.5) / 1000.0, pct(&d, 0.99) / 1000.0],
        [pct(&g, 0.5) / 1000.0, pct(&g, 0.99) / 1000.0],
    )
}

/// Requests per second at `connections` keep-alive connections for `seconds`.
async fn throughput(addr: SocketAddr, job: &Job, connections: usize, seconds: u64) -> (f64, u64) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let job = job.clone();
            tokio::spawn(async move {
                let mut sender = connect(addr).await;
                let mut done = 0u64;
                while Instant::now() < deadline {
                    send(&mut sender, &job).await;
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    (total as f64 / started.elapsed().as_secs_f64(), total)
}

async fn upstream_stats(addr: SocketAddr) -> (u64, u64) {
    let mut sender = connect(addr).await;
    let request = Request::get("/__stats")
        .header("host", "127.0.0.1")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let body = sender
        .send_request(request)
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    (
        value["connections"].as_u64().unwrap(),
        value["requests"].as_u64().unwrap(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--upstream-child") {
        return upstream_child(args[i + 1].parse().unwrap());
    }
    if let Some(i) = args.iter().position(|a| a == "--guard-child") {
        let mut cli_args = vec!["heysummon-guard".to_owned()];
        cli_args.extend(args[i + 1..].iter().cloned());
        let cli = heysummon_guard::cli::Cli::parse_from(cli_args);
        heysummon_guard::cli::run(cli).unwrap();
        return;
    }
    let options = options(&args);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("device.key");
    let key = key.to_str().unwrap();
    let jobs = jobs();

    // 1. Latency, everything on core 0.
    pin_self("0");
    let (upstream, upstream_addr) = start_upstream(Some("0"), 1);
    let (guard, guard_addr) = start_guard(Some("0"), upstream_addr, 1, key);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "Latency: one keep-alive connection, sequential, {} requests each (after 1000 warm-up), \
         upstream + guard (1 worker) + client pinned to core 0",
        options.requests
    );
    for (label, job) in &jobs {
        let (direct, guarded) =
            runtime.block_on(latency(upstream_addr, guard_addr, job, options.requests));
        println!(
            "  {label}\n    direct  p50 {:6.1} µs  p99 {:6.1} µs\n    guarded p50 {:6.1} µs  p99 {:6.1} µs\n    added   p50 {:6.1} µs  p99 {:6.1} µs",
            direct[0],
            direct[1],
            guarded[0],
            guarded[1],
            guarded[0] - direct[0],
            guarded[1] - direct[1]
        );
    }
    drop(runtime);
    drop(guard);
    drop(upstream);

    // 2. Throughput, unpinned.
    pin_self("0-1");
    let (_upstream, upstream_addr) = start_upstream(None, 2);
    let (guard, guard_addr) = start_guard(None, upstream_addr, 2, key);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "Throughput: 32 keep-alive connections, {} s each, nothing pinned (2 cores shared)",
        options.seconds
    );
    let mut reuse = (0u64, 0u64);
    for (label, job) in &jobs {
        runtime.block_on(async {
            let _ = throughput(upstream_addr, job, 32, 1).await; // warm-up
            let (direct, _) = throughput(upstream_addr, job, 32, options.seconds).await;
            let before = upstream_stats(upstream_addr).await;
            let _ = throughput(guard_addr, job, 32, 1).await; // warm-up (counted for reuse)
            let (guarded, _) = throughput(guard_addr, job, 32, options.seconds).await;
            let after = upstream_stats(upstream_addr).await;
            // The second stats request opened one connection and is not counted as a request.
            let connections = after.0 - before.0 - 1;
            let requests = after.1 - before.1;
            reuse.0 += connections;
            reuse.1 += requests;
            println!(
                "  {label}\n    direct {direct:8.0} req/s   guarded {guarded:8.0} req/s   ratio {:.2}×   upstream connections opened by the guard (incl. warm-up): {connections} for {requests} requests",
                guarded / direct
            );
        });
    }
    let pid = guard.child.id();
    println!(
        "Guard memory after load: VmRSS {:.1} MiB (peak VmHWM {:.1} MiB)",
        rss_kib(pid, "VmRSS:") as f64 / 1024.0,
        rss_kib(pid, "VmHWM:") as f64 / 1024.0
    );
    println!(
        "Upstream connection reuse: {:.3} % ({} connections for {} guarded requests)",
        100.0 * (1.0 - reuse.0 as f64 / reuse.1 as f64),
        reuse.0,
        reuse.1
    );
}
