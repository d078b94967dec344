//! Thread-per-core serving, as `heysummon-guard serve` runs it with more than one worker
//! ([`serve::spawn_threads`] over sibling guards from [`Guard::new_sharing`]): many requests over
//! many connections, the local ask API's deadlines honoured whichever thread answers, and a
//! graceful stop of every thread through one token.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use crate::common::{Stub, TestApp, call};
use heysummon_guard::serve::{self, Threads};
use heysummon_guard::{ApiKey, Config, Guard, device};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const KEY: &str = "hs_cli_guardtest0001";

fn make_guard(upstream: &str, api_key: &str, key_file: &Path) -> Guard {
    let mut config =
        Config::new(upstream, ApiKey::new(api_key).unwrap(), key_file.to_owned()).unwrap();
    config.key_store_dir = Some(heysummon_guard::config::default_key_store_dir(key_file));
    config.workers = 2;
    let key = device::load_or_create(key_file).unwrap();
    Guard::new(config, key.key).unwrap()
}

/// `workers` serving threads on 127.0.0.1:0, each with a sibling of `guard`; with `group`, on
/// one SO_REUSEPORT socket per thread (as `serve` does), else on clones of one socket.
fn spawn(guard: &Guard, workers: usize, group: bool) -> (String, CancellationToken, Threads) {
    let listener = if group {
        serve::bind_shared("127.0.0.1:0".parse().unwrap())
            .unwrap()
            .into_std()
            .unwrap()
    } else {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap()
    };
    let base = format!("http://{}", listener.local_addr().unwrap());
    let guards = (0..workers).map(|_| guard.new_sharing().unwrap()).collect();
    let shutdown = CancellationToken::new();
    let threads = serve::spawn_threads(listener, guards, shutdown.clone()).unwrap();
    assert_eq!(threads.len(), workers);
    (base, shutdown, threads)
}

async fn stop(shutdown: CancellationToken, threads: Threads) {
    shutdown.cancel();
    tokio::time::timeout(
        Duration::from_secs(10),
        tokio::task::spawn_blocking(move || threads.join()),
    )
    .await
    .expect("the serving threads stop")
    .unwrap()
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serving_threads_answer_many_requests_over_many_connections() {
    let stub = Stub::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let guard = make_guard(&stub.base, KEY, &dir.path().join("device.key"));
    let (base, shutdown, threads) = spawn(&guard, 2, true);

    // 8 agents, each on its own keep-alive connection, 25 requests each, all at once.
    let agents = (0..8).map(|agent| {
        let base = base.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            for n in 0..25 {
                let url = format!("{base}/api/v1/whoami?agent={agent}&n={n}");
                let (status, body) = call(&http, Method::GET, &url, &[], None).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                assert_eq!(body, json!({"ok": true}));
            }
        })
    });
    for agent in agents.collect::<Vec<_>>() {
        agent.await.unwrap();
    }
    // And a burst of one-request connections, so both accept loops take some.
    for n in 0..20 {
        let http = reqwest::Client::new();
        let (status, _) = call(
            &http,
            Method::GET,
            &format!("{base}/api/v1/whoami?fresh={n}"),
            &[],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(
        stub.count(),
        8 * 25 + 20,
        "every request reached the upstream"
    );
    let forwarded = stub.last();
    assert_eq!(forwarded.headers["x-api-key"], KEY);
    assert!(
        forwarded.headers.contains_key("x-heysummon-signature"),
        "signed: {:?}",
        forwarded.headers
    );

    stop(shutdown, threads).await;
    let address = base.trim_start_matches("http://").to_owned();
    assert!(
        std::net::TcpStream::connect(address).is_err(),
        "the listener is closed once every thread has stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ask_deadline_holds_whichever_thread_answers() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("device.key");
    let guard = make_guard(&server.base, &server.client_key, &key_file);
    guard.enroll().await.unwrap();
    let (base, shutdown, threads) = spawn(&guard, 2, false);
    // Another sibling on a listener of its own: certainly a different runtime and pool.
    let (other, other_shutdown, other_threads) = spawn(&guard, 1, false);

    let http = reqwest::Client::new();
    let (status, answer) = call(
        &http,
        Method::POST,
        &format!("{base}/v1/ask"),
        &[],
        Some(json!({
            "question": "Drop the orders table?", "requiresApproval": true, "timeoutSeconds": 1
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "timeout");
    assert_eq!(answer["approved"], false);
    let id = answer["requestId"].as_str().unwrap().to_owned();

    // Later calls on other connections (whichever thread accepts them), and on the sibling
    // with its own listener: still the caller's timeout, never "pending".
    let resume = |base: String| {
        let id = id.clone();
        async move {
            let fresh = reqwest::Client::new();
            let url = format!("{base}/v1/ask/{id}?wait=1");
            call(&fresh, Method::GET, &url, &[], None).await
        }
    };
    for _ in 0..6 {
        let (status, again) = resume(base.clone()).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["status"], "timeout", "{again}");
        assert_eq!(again["approved"], false);
    }
    let (status, again) = resume(other.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["status"], "timeout", "{again}");
    assert_eq!(again["approved"], false);

    // The control: a guard that does not share (its own `Guard::new`) finds the request in the
    // key store on disk but does not know the caller's deadline. This is what sharing prevents.
    let stranger = make_guard(&server.base, &server.client_key, &key_file);
    let (stranger_base, stranger_shutdown, stranger_threads) = spawn(&stranger, 1, false);
    let (_, unaware) = resume(stranger_base).await;
    assert_eq!(unaware["status"], "pending", "{unaware}");

    stop(stranger_shutdown, stranger_threads).await;
    stop(other_shutdown, other_threads).await;
    stop(shutdown, threads).await;
}
