//! The guard's own cost: the same requests sent directly to an upstream and through
//! `heysummon-guard` (which injects the key, inspects `POST /help` bodies and signs every request
//! with Ed25519), in the same run.
//!
//! The upstream is a minimal hyper HTTP/1.1 server that answers every request with a 30-byte JSON
//! body (`{"ok":true,"id":"bench-0001"}`) and counts accepted TCP connections and requests; it
//! verifies nothing, so what is measured is the guard, not a server. This binary re-executes
//! itself as the upstream (`--upstream-child`, `benches/support/guard_upstream.rs`) and as the
//! guard (`--guard-child`, the guard's library through its own command line, exactly what the
//! `heysummon-guard` binary runs).
//!
//! Every guarded figure is measured twice: with the guard's upstream over plain HTTP and over
//! HTTPS (the same upstream terminating TLS itself with a certificate from a test CA made at
//! startup, `https://localhost:PORT`, the guard started with `--ca-file`). The agent's side is
//! plain HTTP to the guard in both; the baseline ("direct") is the plain upstream.
//!
//! Phases:
//! 0. Per-request steps in process (one thread, not pinned): Ed25519 request signing through the
//!    SDK with and without a precomputed API-key hash, nonce generation one `getrandom` per nonce
//!    versus in batches of 64, building the signature header values, the hop-by-hop strip.
//! 1. Latency: upstream, guard and this load generator, each a current-thread tokio runtime,
//!    all pinned to core 0 with `taskset`; one keep-alive connection, sequential requests, direct
//!    and guarded (HTTP and HTTPS upstream) alternating in blocks of 500. Added latency = guarded
//!    percentile − direct percentile.
//! 2. Throughput: nothing pinned; by default upstream 2 workers, guard 2 workers, generator 2
//!    workers (for the upstream and the generator a worker count of 1 is a current-thread
//!    runtime, more a multi-thread one; the guard's N workers are N threads, each with its own
//!    current-thread runtime, accept loop and upstream pool), 32
//!    keep-alive connections for `--seconds` each, direct, then guarded over an HTTP upstream,
//!    then guarded over an HTTPS upstream, with the same generator; ratios to direct. The guard's
//!    user and system CPU time per guarded request comes from /proc (less noisy than the rate on
//!    a shared VM).
//! 3. Memory: the guard's VmRSS (and peak VmHWM) from /proc after phase 2.
//! 4. Upstream connection reuse: connections the upstream accepted from the guard during phase 2
//!    versus requests the guard forwarded (for HTTPS, each connection is one TLS handshake).
//!
//! Run: `cargo bench --bench guard`. Options (after `--`): `--seconds N`, `--requests N`,
//! `--guard-workers N`, `--upstream-workers N`, `--client-workers N` (throughput phase),
//! `--micro-only`, `--latency-only`, `--throughput-only`.
//! Figures go to BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary: failures abort, output is the point

#[path = "support/guard_upstream.rs"]
mod guard_upstream;
#[path = "../tests/guard/tls_front.rs"]
mod tls_front;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser as _;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

const API_KEY: &str = "hs_cli_benchmark0000000000000001";

struct Options {
    seconds: u64,
    requests: usize,
    /// Tokio workers of the guard in the throughput phase.
    guard_workers: usize,
    /// Guard processes in the throughput phase, the connections spread over them (an
    /// experiment standing in for a thread-per-core guard; 1 is the guard as shipped).
    guard_processes: usize,
    /// Tokio workers of the upstream in the throughput phase.
    upstream_workers: usize,
    /// Tokio workers of the load generator in the throughput phase.
    client_workers: usize,
    latency: bool,
    throughput: bool,
}

fn options(args: &[String]) -> Options {
    let mut options = Options {
        seconds: 5,
        requests: 20_000,
        guard_workers: 2,
        guard_processes: 1,
        upstream_workers: 2,
        client_workers: 2,
        latency: true,
        throughput: true,
    };
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--seconds" => options.seconds = args[i + 1].parse().unwrap(),
            "--requests" => options.requests = args[i + 1].parse().unwrap(),
            "--guard-workers" => options.guard_workers = args[i + 1].parse().unwrap(),
            "--guard-processes" => options.guard_processes = args[i + 1].parse().unwrap(),
            "--upstream-workers" => options.upstream_workers = args[i + 1].parse().unwrap(),
            "--client-workers" => options.client_workers = args[i + 1].parse().unwrap(),
            "--latency-only" => options.throughput = false,
            "--micro-only" => {
                options.latency = false;
                options.throughput = false;
            }
            "--throughput-only" => options.latency = false,
            _ => {}
        }
        i += 1;
    }
    options
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

/// An upstream child: plain, or HTTPS when `tls_dir` is given (its CA certificate then in
/// `tls_dir/ca.pem`).
struct Upstream {
    _proc: Proc,
    /// Where it serves.
    addr: SocketAddr,
    /// Where its counters are read over plain HTTP.
    stats: SocketAddr,
    /// The guard's `--upstream`.
    url: String,
}

fn start_upstream(cores: Option<&str>, workers: usize, tls_dir: Option<&Path>) -> Upstream {
    let workers = workers.to_string();
    let mut args = vec!["--upstream-child", &workers];
    if let Some(dir) = tls_dir {
        args.extend(["--tls", dir.to_str().unwrap()]);
    }
    let mut proc = spawn_self(cores, &args);
    let stdout = proc.child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    let ports: Vec<u16> = line
        .trim()
        .strip_prefix("PORT ")
        .unwrap()
        .split(' ')
        .map(|port| port.parse().unwrap())
        .collect();
    let addr = SocketAddr::from(([127, 0, 0, 1], ports[0]));
    let url = match tls_dir {
        Some(_) => format!("https://localhost:{}", ports[0]),
        None => format!("http://{addr}"),
    };
    Upstream {
        _proc: proc,
        addr,
        stats: SocketAddr::from(([127, 0, 0, 1], ports[1])),
        url,
    }
}

impl Upstream {
    /// Connections and requests it has seen. Reading them over its own port opens one
    /// connection, which is not counted.
    async fn stats(&self) -> (u64, u64) {
        let (connections, requests) = upstream_stats(self.stats).await;
        let own = u64::from(self.stats == self.addr);
        (connections - own, requests)
    }
}

fn start_guard(
    cores: Option<&str>,
    upstream: &str,
    ca_file: Option<&Path>,
    workers: usize,
    key: &str,
) -> (Proc, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let workers = workers.to_string();
    let mut args = vec![
        "--guard-child",
        "--upstream",
        upstream,
        "--listen",
        &listen,
        "--device-key-file",
        key,
        "--no-auto-enroll",
        "--workers",
        &workers,
    ];
    if let Some(ca_file) = ca_file {
        args.extend(["--ca-file", ca_file.to_str().unwrap()]);
    }
    args.push("serve");
    let proc = spawn_self(cores, &args);
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
    heysummon_workspace::status_kib(pid, field).unwrap()
}

/// User and system CPU seconds a process has used (from /proc/PID/stat, clock ticks of 10 ms).
fn cpu_ticks(pid: u32) -> CpuTime {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let tick = |i: usize| fields[i].parse::<f64>().unwrap() / 100.0;
    // utime and stime are fields 14 and 15 of the line: indices 11 and 12 after the name.
    CpuTime(tick(11), tick(12))
}

#[derive(Clone, Copy)]
struct CpuTime(f64, f64);

impl std::ops::Sub for CpuTime {
    type Output = (f64, f64);
    fn sub(self, other: Self) -> (f64, f64) {
        (self.0 - other.0, self.1 - other.1)
    }
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

/// Sequential latency on one connection to each of `targets` (p50 and p99, µs), the targets
/// alternating in blocks.
async fn latency<const N: usize>(
    targets: [SocketAddr; N],
    job: &Job,
    requests: usize,
) -> [[f64; 2]; N] {
    let mut senders = Vec::with_capacity(N);
    for target in targets {
        senders.push(connect(target).await);
    }
    let mut samples: Vec<Vec<u32>> = (0..N).map(|_| Vec::with_capacity(requests)).collect();
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
    std::array::from_fn(|i| {
        let sorted = &mut samples[i];
        sorted.sort_unstable();
        [pct(sorted, 0.5) / 1000.0, pct(sorted, 0.99) / 1000.0]
    })
}

/// Requests per second at `connections` keep-alive connections for `seconds`, spread evenly
/// over `addrs`.
async fn throughput(
    addrs: &[SocketAddr],
    job: &Job,
    connections: usize,
    seconds: u64,
) -> (f64, u64) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|i| {
            let job = job.clone();
            let addr = addrs[i % addrs.len()];
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

/// Mean time of `f` over `n` calls, in µs.
fn time_us(n: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f();
    }
    let started = Instant::now();
    for _ in 0..n {
        f();
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

/// Per-request steps of the guard measured alone (one thread, not pinned): the SDK's plain
/// signing call, the same with the API key hash computed once, nonces, building the header
/// values and the hop-by-hop strip.
fn micro() {
    use heysummon_sdk::keys::SigningKeyPair;
    use heysummon_sdk::signing::{ApiKeyHash, Nonce, RequestParts, RequestSigner};

    let signer = RequestSigner::new(SigningKeyPair::generate());
    let parts = RequestParts {
        method: "GET",
        path_and_query: "/api/v1/help/cm0benchrequest0001",
        body: b"",
        api_key: API_KEY,
    };
    let n = 20_000;
    let plain = time_us(n, || {
        std::hint::black_box(signer.sign(std::hint::black_box(&parts)));
    });
    let hash = ApiKeyHash::of(API_KEY);
    let nonce = Nonce::from_bytes([7; 16]);
    let hashed = time_us(n, || {
        std::hint::black_box(signer.sign_at_with_key_hash(&parts, &hash, 1, nonce));
    });
    let fresh_nonce = time_us(n, || {
        std::hint::black_box(Nonce::random());
    });
    let batch_nonce = time_us(n / 64, || {
        std::hint::black_box(Nonce::random_batch::<64>());
    }) / 64.0;
    let signed = signer.sign(&parts);
    // The four header values as the guard built them before (Strings) and now (stack buffers).
    let strings = time_us(n, || {
        use base64::Engine as _;
        let s = &signed;
        std::hint::black_box([
            hyper::header::HeaderValue::try_from(s.timestamp_ms.to_string()).unwrap(),
            hyper::header::HeaderValue::try_from(s.nonce.to_string()).unwrap(),
            hyper::header::HeaderValue::try_from(
                base64::engine::general_purpose::STANDARD.encode(s.signature),
            )
            .unwrap(),
        ]);
    });
    let buffers = time_us(n, || {
        use base64::Engine as _;
        let s = &signed;
        let mut nonce = [0u8; 32];
        hex::encode_to_slice(s.nonce.as_bytes(), &mut nonce).unwrap();
        let mut signature = [0u8; 88];
        let len = base64::engine::general_purpose::STANDARD
            .encode_slice(s.signature, &mut signature)
            .unwrap();
        std::hint::black_box([
            hyper::header::HeaderValue::from(s.timestamp_ms),
            hyper::header::HeaderValue::from_bytes(&nonce).unwrap(),
            hyper::header::HeaderValue::from_bytes(&signature[..len]).unwrap(),
        ]);
    });
    let mut headers = hyper::HeaderMap::new();
    for (name, value) in [
        ("host", "127.0.0.1:8787"),
        ("user-agent", "python-urllib/3.12"),
        ("accept", "application/json"),
        ("content-type", "application/json"),
        ("x-api-key", API_KEY),
    ] {
        headers.insert(name, value.parse().unwrap());
    }
    let strip = time_us(n * 10, || {
        let mut headers = headers.clone();
        heysummon_guard::hop::strip(&mut headers);
        std::hint::black_box(headers);
    });
    let clone = time_us(n * 10, || {
        std::hint::black_box(headers.clone());
    });
    println!("Per-request steps, in process (mean of {n} calls):");
    println!("  RequestSigner::sign (hashes the key, one getrandom)  {plain:6.2} µs");
    println!("  sign_at_with_key_hash (key hash precomputed)          {hashed:6.2} µs");
    println!("  Nonce::random (one getrandom)                         {fresh_nonce:6.2} µs");
    println!("  Nonce::random_batch::<64>, per nonce                  {batch_nonce:6.2} µs");
    println!("  signature header values via Strings (before)          {strings:6.2} µs");
    println!("  signature header values via stack buffers (now)       {buffers:6.2} µs");
    println!(
        "  hop::strip, 5 ordinary headers (clone excluded)       {:6.3} µs",
        strip - clone
    );
}

/// The load generator's runtime: one thread is a current-thread runtime (as the guard and the
/// upstream do for one worker), more is a multi-thread one.
fn client_runtime(workers: usize) -> tokio::runtime::Runtime {
    if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(workers);
        builder
    }
    .enable_all()
    .build()
    .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--upstream-child") {
        let tls_dir = args
            .iter()
            .position(|a| a == "--tls")
            .map(|t| std::path::PathBuf::from(&args[t + 1]));
        let runtime = client_runtime(args[i + 1].parse().unwrap());
        return guard_upstream::run(&runtime, tls_dir.as_deref());
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
    // Written by the HTTPS upstream before it reports its port (a new CA per upstream).
    let ca_file = dir.path().join("ca.pem");
    let jobs = jobs();

    // 0. The guard's own per-request steps, in process.
    micro();

    // 1. Latency, everything on core 0.
    if options.latency {
        pin_self("0");
        let plain = start_upstream(Some("0"), 1, None);
        let tls = start_upstream(Some("0"), 1, Some(dir.path()));
        let (guard, guard_addr) = start_guard(Some("0"), &plain.url, None, 1, key);
        let (tls_guard, tls_guard_addr) = start_guard(Some("0"), &tls.url, Some(&ca_file), 1, key);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        println!(
            "Latency: one keep-alive connection, sequential, {} requests each (after 1000 warm-up), \
             upstreams + guards (1 worker) + client pinned to core 0",
            options.requests
        );
        for (label, job) in &jobs {
            let [direct, guarded, tls_guarded] = runtime.block_on(latency(
                [plain.addr, guard_addr, tls_guard_addr],
                job,
                options.requests,
            ));
            println!("  {label}");
            println!(
                "    direct                  p50 {:6.1} µs  p99 {:6.1} µs",
                direct[0], direct[1]
            );
            for (name, figures) in [
                ("guarded, HTTP upstream ", guarded),
                ("guarded, HTTPS upstream", tls_guarded),
            ] {
                println!(
                    "    {name} p50 {:6.1} µs  p99 {:6.1} µs   added p50 {:6.1} µs  p99 {:6.1} µs",
                    figures[0],
                    figures[1],
                    figures[0] - direct[0],
                    figures[1] - direct[1]
                );
            }
        }
        drop(runtime);
        drop((guard, tls_guard, plain, tls));
    }
    if !options.throughput {
        return;
    }

    // 2. Throughput, unpinned.
    pin_self("0-1");
    let plain = start_upstream(None, options.upstream_workers, None);
    let tls = start_upstream(None, options.upstream_workers, Some(dir.path()));
    let (guards, guard_addrs): (Vec<Proc>, Vec<SocketAddr>) = (0..options.guard_processes)
        .map(|_| start_guard(None, &plain.url, None, options.guard_workers, key))
        .unzip();
    let (tls_guards, tls_guard_addrs): (Vec<Proc>, Vec<SocketAddr>) = (0..options.guard_processes)
        .map(|_| start_guard(None, &tls.url, Some(&ca_file), options.guard_workers, key))
        .unzip();
    let runtime = client_runtime(options.client_workers);
    println!(
        "Throughput: 32 keep-alive connections, {} s each, nothing pinned (2 cores shared); \
         upstream {} worker(s), guard {} process(es) of {} worker(s), load generator {} worker(s)",
        options.seconds,
        options.upstream_workers,
        options.guard_processes,
        options.guard_workers,
        options.client_workers
    );
    let mut reuse = [(0u64, 0u64); 2];
    let sides = [
        ("HTTP upstream ", &guards, &guard_addrs, &plain),
        ("HTTPS upstream", &tls_guards, &tls_guard_addrs, &tls),
    ];
    for (label, job) in &jobs {
        runtime.block_on(async {
            let _ = throughput(&[plain.addr], job, 32, 1).await; // warm-up
            let (direct, _) = throughput(&[plain.addr], job, 32, options.seconds).await;
            println!("  {label}\n    direct                  {direct:8.0} req/s");
            let mut rates = [0.0; 2];
            for (side, (name, procs, addrs, upstream)) in sides.iter().enumerate() {
                let pids: Vec<u32> = procs.iter().map(|g| g.child.id()).collect();
                let guard_cpu = || {
                    pids.iter()
                        .map(|&pid| cpu_ticks(pid))
                        .fold(CpuTime(0.0, 0.0), |a, b| CpuTime(a.0 + b.0, a.1 + b.1))
                };
                let before = upstream.stats().await;
                let _ = throughput(addrs, job, 32, 1).await; // warm-up (counted for reuse)
                let cpu_before = guard_cpu();
                let (guarded, done) = throughput(addrs, job, 32, options.seconds).await;
                let cpu = guard_cpu() - cpu_before;
                let after = upstream.stats().await;
                let connections = after.0 - before.0;
                let requests = after.1 - before.1;
                reuse[side].0 += connections;
                reuse[side].1 += requests;
                rates[side] = guarded;
                println!(
                    "    guarded, {name} {guarded:8.0} req/s   ratio to direct {:.2}×   guard CPU per request {:.1} µs user + {:.1} µs system   upstream connections opened by the guard (incl. warm-up): {connections} for {requests} requests",
                    guarded / direct,
                    cpu.0 * 1e6 / done as f64,
                    cpu.1 * 1e6 / done as f64
                );
            }
            println!(
                "    HTTPS upstream / HTTP upstream: {:.2}×",
                rates[1] / rates[0]
            );
        });
    }
    for (name, procs) in [("HTTP upstream", &guards), ("HTTPS upstream", &tls_guards)] {
        for proc in procs.iter() {
            let pid = proc.child.id();
            println!(
                "Guard memory after load ({name}): VmRSS {:.1} MiB (peak VmHWM {:.1} MiB)",
                rss_kib(pid, "VmRSS:") as f64 / 1024.0,
                rss_kib(pid, "VmHWM:") as f64 / 1024.0
            );
        }
    }
    for (name, (connections, requests)) in ["HTTP", "HTTPS"].iter().zip(reuse) {
        println!(
            "Upstream connection reuse, {name} upstream: {:.3} % ({connections} connections for \
             {requests} guarded requests)",
            100.0 * (1.0 - connections as f64 / requests as f64),
        );
    }
}
