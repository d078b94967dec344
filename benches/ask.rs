//! What one `Client::ask` costs the agent: CPU time on the client per sealed, signed ask (key
//! generation, sealing, signing, JSON and HTTP), with a breakdown of the cryptography, and the
//! client's memory per ask that is waiting for its answer (all on the client's one event stream).
//!
//! The server runs in a child process (this binary re-executed with `--serve`), so neither its
//! CPU nor its memory is counted. The client runs on a current-thread tokio runtime on the main
//! thread, whose CPU time is read from `/proc/thread-self/schedstat` (nanoseconds on CPU).
//!
//! Run: `cargo bench --bench ask` (options: `-- --asks 2000 --waiting 1000 --burst`).

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use heysummon_sdk::client::AskOptions;
use heysummon_sdk::envelope::Channel;
use heysummon_sdk::keys::{PartyKeys, SigningKeyPair};
use heysummon_sdk::keystore::MemoryKeyStore;
use heysummon_sdk::signing::{RequestParts, RequestSigner};
use heysummon_sdk::{Client, EncryptionPolicy, ExpertClient};
use heysummon_workspace::{ChildServer, rss_kib, serve_if_child};

/// Nanoseconds the calling thread has spent on a CPU.
fn thread_cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

const QUESTION: &str = "May I run the database migration 2026_12_01_add_index on production \
    now? It locks the orders table for about 40 seconds; traffic is at its daily low.";

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .map_or(default, |i| args[i + 1].parse().unwrap())
}

fn main() {
    if serve_if_child().unwrap() {
        return;
    }
    let asks = arg("--asks", 2000);
    let waiting = arg("--waiting", 1000);
    let child = ChildServer::spawn().unwrap();
    let server = child.server.clone();
    let base = format!("http://{}", server.addr);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let expert = ExpertClient::builder()
            .base_url(&base)
            .api_key(server.expert_key.clone())
            .key_store(MemoryKeyStore::new())
            .build()
            .unwrap();
        expert.publish_keys().await.unwrap();
        let agent = Client::builder()
            .base_url(&base)
            .api_key(server.client_key.clone())
            .device_key(SigningKeyPair::generate())
            .encryption(EncryptionPolicy::Required)
            .build()
            .unwrap();
        agent.enroll_device().await.unwrap();

        cpu_per_ask(&agent, asks).await;
        crypto_breakdown(asks);
        memory_per_waiting_ask(&agent, waiting).await;
    });
    drop(child);
}

/// Sequential sealed, signed asks (submitted, not waited for): client CPU time per ask.
async fn cpu_per_ask(agent: &Client, asks: usize) {
    for _ in 0..100 {
        agent.submit(QUESTION, &AskOptions::new()).await.unwrap();
    }
    let cpu = thread_cpu_ns();
    let wall = Instant::now();
    for _ in 0..asks {
        let conversation = agent.submit(QUESTION, &AskOptions::new()).await.unwrap();
        assert!(conversation.is_sealed());
    }
    let cpu = thread_cpu_ns() - cpu;
    let wall = wall.elapsed();
    println!(
        "client CPU per sealed, signed ask (GET /experts + POST /help, keys, seal, sign, JSON, HTTP): \
         {:.1} µs ({asks} asks; wall {:.1} µs each, the server's share included)",
        cpu as f64 / asks as f64 / 1e3,
        wall.as_secs_f64() * 1e6 / asks as f64,
    );
}

/// The cryptography of one ask on its own.
fn crypto_breakdown(iterations: usize) {
    let expert = PartyKeys::generate().public();
    let signer = RequestSigner::new(SigningKeyPair::generate());
    let body = vec![b'x'; 900];
    let time = |f: &mut dyn FnMut()| {
        let started = thread_cpu_ns();
        for _ in 0..iterations {
            f();
        }
        (thread_cpu_ns() - started) as f64 / iterations as f64 / 1e3
    };
    let keygen = time(&mut || {
        std::hint::black_box(PartyKeys::generate());
    });
    let keys = PartyKeys::generate();
    let seal = time(&mut || {
        let channel = Channel::new(&keys, &expert).unwrap();
        std::hint::black_box(channel.seal(QUESTION, None).unwrap());
    });
    let sign = time(&mut || {
        let parts = RequestParts {
            method: "POST",
            path_and_query: "/api/v1/help",
            body: &body,
            api_key: "hs_cli_0123456789abcdef0123456789abcdef",
        };
        std::hint::black_box(signer.sign(&parts));
    });
    println!(
        "  of which: key generation {keygen:.1} µs, sealing {seal:.1} µs, signing one request \
         {sign:.1} µs (an ask signs two: GET /experts and POST /help)"
    );
}

/// Asks made at most this many at a time (an agent's pool of workers), unless `--burst`.
const CREATING_AT_ONCE: usize = 32;

/// Many asks waiting at once, sharing the client's event stream: the client's memory per ask.
/// The asks are made [`CREATING_AT_ONCE`] at a time, then all wait together; with `--burst`
/// all are made at once as well, and the HTTP pool then keeps a connection for each concurrent
/// creation (which says more about the burst than about waiting).
async fn memory_per_waiting_ask(agent: &Client, waiting: usize) {
    let burst = std::env::args().any(|a| a == "--burst");
    let pid = std::process::id();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib(pid).unwrap();
    let options = AskOptions::new().with_timeout(Duration::from_secs(600));
    let creating = if burst { waiting } else { CREATING_AT_ONCE };
    let conversations: Vec<_> = futures_util::stream::iter(0..waiting)
        .map(|_| agent.submit(QUESTION, &options))
        .buffer_unordered(creating)
        .collect()
        .await;
    let waits = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = conversations
        .into_iter()
        .map(|conversation| {
            let conversation = conversation.unwrap();
            let wait = options.wait.clone();
            let waits = waits.clone();
            tokio::spawn(async move {
                waits.fetch_add(1, Ordering::SeqCst);
                conversation.answer(wait).await
            })
        })
        .collect();
    while waits.load(Ordering::SeqCst) < waiting {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let every wait join the stream and settle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kib(pid).unwrap();
    println!(
        "client memory per waiting ask: {:.1} KiB ({waiting} asks waiting on the client's event \
         stream, made {creating} at a time; RSS {before} KiB -> {after} KiB)",
        after.saturating_sub(before) as f64 / waiting as f64
    );
    for task in tasks {
        task.abort();
    }
}
