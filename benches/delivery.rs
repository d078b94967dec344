//! Reply-delivery benchmark for the real-time path (PROTOCOL B1): with N subscribers each
//! waiting on `GET /api/v1/events/stream?requestId=…` for its own request, an expert answers
//! a sample of the requests one at a time; the latency is from the expert's
//! `POST /api/v1/message` returning to the waiting subscriber receiving the `new_message`
//! event (raw SSE subscribers), and to the SDK's `Client::wait` returning (SDK waiters: the
//! wake-up includes the SDK's confirming `GET /help/:id`). Also reports the server's resident
//! memory per idle subscriber (one SSE connection each).
//!
//! The server runs in a child process (this binary re-executed with `--serve`) so its memory
//! is measured alone; both processes share the machine's cores.
//!
//! Run: `cargo bench --bench delivery` (options: `-- --subscribers 1000,10000 --samples 300`).
//! 10,000 subscribers need about 10,100 file descriptors in each process (`ulimit -n`).

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

fn rss_kib(pid: u32) -> u64 {
    heysummon_workspace::rss_kib(pid).unwrap()
}

async fn connect(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

async fn connect_empty(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

async fn post_json(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    path: &str,
    key: &str,
    body: String,
) -> serde_json::Value {
    sender.ready().await.unwrap();
    let request = Request::post(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .header("x-api-key", key)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert!(status.is_success(), "{status} {bytes:?}");
    serde_json::from_slice(&bytes).unwrap()
}

/// One waiting subscriber: opens its stream, reports when it is connected, then reports the
/// instant the first `new_message` event arrives.
async fn subscriber(
    addr: SocketAddr,
    key: String,
    request_id: String,
    index: usize,
    connected: mpsc::UnboundedSender<()>,
    woken: mpsc::UnboundedSender<(usize, Instant)>,
) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let request = Request::get(format!("/api/v1/events/stream?requestId={request_id}"))
        .header("host", "127.0.0.1")
        .header("x-api-key", key)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert!(response.status().is_success());
    let mut body = response.into_body();
    let mut seen = Vec::new();
    let mut announced = false;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return };
        let Some(data) = frame.data_ref() else {
            continue;
        };
        seen.extend_from_slice(data);
        if !announced && seen.windows(9).any(|w| w == b"connected") {
            announced = true;
            let _ = connected.send(());
        }
        if seen.windows(18).any(|w| w == b"event: new_message") {
            let _ = woken.send((index, Instant::now()));
            return;
        }
        if seen.len() > 4096 {
            seen.drain(..seen.len() - 64);
        }
    }
}

/// The same measurement through the SDK: N `Client::wait` calls (SSE strategy) sharing one
/// `Client`, as a process running many agents would.
async fn run_sdk(
    addr: SocketAddr,
    client_key: &str,
    expert_key: &str,
    ids: &[String],
    samples: usize,
) {
    use heysummon_sdk::wire::RequestId;
    use heysummon_sdk::{Client, WaitOptions, WaitStrategy};
    let client = Client::builder()
        .base_url(format!("http://{addr}"))
        .api_key(client_key)
        .build()
        .unwrap();
    let n = ids.len();
    let (woken_tx, mut woken_rx) = mpsc::unbounded_channel();
    let step = (n / samples).max(1);
    let answered: Vec<usize> = (0..n).step_by(step).take(samples).collect();
    for (index, id) in ids.iter().enumerate() {
        let client = client.clone();
        let id = RequestId::new(id);
        let woken = woken_tx.clone();
        tokio::spawn(async move {
            let options = WaitOptions::new()
                .with_strategy(WaitStrategy::Sse)
                .with_timeout(Duration::from_secs(600));
            if let Ok(status) = client.wait(&id, options).await {
                let _ = woken.send((index, Instant::now(), status.status));
            }
        });
        if index % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Let every waiter open its stream.
    tokio::time::sleep(Duration::from_secs(3 + n as u64 / 1000)).await;
    let mut expert = connect(addr).await;
    let mut latencies = Vec::new();
    let mut from_sent = Vec::new();
    for index in answered {
        let body = serde_json::json!({"from": "expert", "plaintext": "answer"}).to_string();
        let path = format!("/api/v1/message/{}", ids[index]);
        let sent = Instant::now();
        post_json(&mut expert, &path, expert_key, body).await;
        let returned = Instant::now();
        let (woken_index, at, status) =
            tokio::time::timeout(Duration::from_secs(10), woken_rx.recv())
                .await
                .expect("SDK wake-up timed out")
                .unwrap();
        assert_eq!(woken_index, index);
        assert_eq!(status.as_str(), "responded");
        latencies.push(at.saturating_duration_since(returned));
        from_sent.push(at.saturating_duration_since(sent));
    }
    latencies.sort_unstable();
    from_sent.sort_unstable();
    println!(
        "{n} SDK waiters (Client::wait, SSE): wake-up after the POST returned p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({} answers); after the POST was sent p50 {:.3} ms, p99 {:.3} ms",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        latencies.len(),
        percentile(&from_sent, 0.50),
        percentile(&from_sent, 0.99),
    );
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Requests to wait on, created over 32 connections.
async fn create_requests(addr: SocketAddr, client_key: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    let per = n.div_ceil(32);
    let mut creators = Vec::new();
    for c in 0..32 {
        let key = client_key.to_owned();
        let count = per.min(n.saturating_sub(c * per));
        creators.push(tokio::spawn(async move {
            let mut sender = connect(addr).await;
            let mut out = Vec::new();
            for _ in 0..count {
                let body = serde_json::json!({
                    "apiKey": key, "signPublicKey": "s", "encryptPublicKey": "e",
                    "question": "Deliver me"
                })
                .to_string();
                let created = post_json(&mut sender, "/api/v1/help", &key, body).await;
                out.push(created["requestId"].as_str().unwrap().to_owned());
            }
            out
        }));
    }
    for creator in creators {
        ids.extend(creator.await.unwrap());
    }
    ids
}

async fn run(
    addr: SocketAddr,
    client_key: &str,
    expert_key: &str,
    pid: u32,
    n: usize,
    samples: usize,
) {
    // Requests to wait on, created over 32 connections.
    let ids = create_requests(addr, client_key, n).await;
    let rss_before = rss_kib(pid);
    let (connected_tx, mut connected_rx) = mpsc::unbounded_channel();
    let (woken_tx, mut woken_rx) = mpsc::unbounded_channel();
    for (index, id) in ids.iter().enumerate() {
        tokio::spawn(subscriber(
            addr,
            client_key.to_owned(),
            id.clone(),
            index,
            connected_tx.clone(),
            woken_tx.clone(),
        ));
        if index % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for _ in 0..n {
        tokio::time::timeout(Duration::from_secs(60), connected_rx.recv())
            .await
            .expect("subscribers did not all connect")
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss_kib(pid);

    // Answer a spread-out sample, one at a time, measuring each delivery.
    let mut expert = connect(addr).await;
    let step = (n / samples).max(1);
    let mut latencies = Vec::new();
    let mut from_sent = Vec::new();
    for index in (0..n).step_by(step).take(samples) {
        let body = serde_json::json!({"from": "expert", "plaintext": "answer"}).to_string();
        let path = format!("/api/v1/message/{}", ids[index]);
        let sent = Instant::now();
        post_json(&mut expert, &path, expert_key, body).await;
        let returned = Instant::now();
        let (woken_index, at) = tokio::time::timeout(Duration::from_secs(10), woken_rx.recv())
            .await
            .expect("delivery timed out")
            .unwrap();
        assert_eq!(woken_index, index);
        latencies.push(at.saturating_duration_since(returned));
        from_sent.push(at.saturating_duration_since(sent));
    }
    latencies.sort_unstable();
    from_sent.sort_unstable();
    println!(
        "{n} waiting subscribers: delivery after the POST returned p50 {:.3} ms, p99 {:.3} ms, \
         max {:.3} ms ({} answers), after the POST was sent p50 {:.3} ms, p99 {:.3} ms; \
         server RSS {} KiB -> {} KiB = {:.1} KiB per idle subscriber",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        latencies.len(),
        percentile(&from_sent, 0.50),
        percentile(&from_sent, 0.99),
        rss_before,
        rss_after,
        (rss_after.saturating_sub(rss_before)) as f64 / n as f64,
    );
}

fn main() {
    if heysummon_workspace::serve_if_child().unwrap() {
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let mut counts = vec![1000, 10_000];
    let mut samples = 300;
    for (i, arg) in args.iter().enumerate() {
        match arg.as_str() {
            "--subscribers" => {
                counts = args[i + 1].split(',').map(|c| c.parse().unwrap()).collect();
            }
            "--samples" => samples = args[i + 1].parse().unwrap(),
            _ => {}
        }
    }
    if args.iter().any(|a| a == "--baseline") {
        // For comparison: the server's memory per idle keep-alive connection that made one
        // plain request (GET /api/v1/health) — what any HTTP/1.1 client costs, before streams.
        for n in counts {
            with_server(|addr, _, _, pid| async move {
                let before = rss_kib(pid);
                let mut held = Vec::with_capacity(n);
                for i in 0..n {
                    let mut sender = connect_empty(addr).await;
                    sender.ready().await.unwrap();
                    let request = Request::get("/api/v1/health")
                        .header("host", "127.0.0.1")
                        .body(Empty::<Bytes>::new())
                        .unwrap();
                    let response = sender.send_request(request).await.unwrap();
                    let _ = response.into_body().collect().await.unwrap();
                    held.push(sender);
                    if i % 500 == 499 {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                let after = rss_kib(pid);
                println!(
                    "{n} idle keep-alive connections (baseline): server RSS {before} KiB -> {after} KiB = {:.1} KiB each",
                    after.saturating_sub(before) as f64 / n as f64
                );
            });
        }
        return;
    }
    for n in counts {
        for sdk in [false, true] {
            with_server(|addr, client_key, expert_key, pid| async move {
                if sdk {
                    let ids = create_requests(addr, &client_key, n).await;
                    run_sdk(addr, &client_key, &expert_key, &ids, samples.min(n)).await;
                } else {
                    run(addr, &client_key, &expert_key, pid, n, samples.min(n)).await;
                }
            });
        }
    }
}

/// Starts a server child process on a fresh database, runs `body` against it on a fresh
/// runtime (whose connections all close when it is dropped), then stops the child.
fn with_server<F, Fut>(body: F)
where
    F: FnOnce(SocketAddr, String, String, u32) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let child = heysummon_workspace::ChildServer::spawn().unwrap();
    let server = child.server.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(body(
        server.addr,
        server.client_key,
        server.expert_key,
        child.pid(),
    ));
    drop(runtime);
}
