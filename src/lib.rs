//! Support code shared by the workspace's examples (`examples/`) and benchmarks (`benches/`).
//! Nothing here is published.

use std::net::SocketAddr;

pub use heysummon_sdk;
use heysummon_server::clock::Clock;
use heysummon_server::config::Config;
use heysummon_server::provision::{self, ClientOptions};
use heysummon_server::state::AppState;
use heysummon_server::store::Store;

/// A server provisioned for a benchmark: where it listens and the keys of its one expert and
/// one client.
#[derive(Clone)]
pub struct BenchServer {
    /// The listening address (127.0.0.1, a free port).
    pub addr: SocketAddr,
    /// The client (agent) key.
    pub client_key: String,
    /// The expert key.
    pub expert_key: String,
}

impl std::fmt::Debug for BenchServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BenchServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Runs a real server for a benchmark on its own 2-worker tokio runtime, blocking the calling
/// thread until the server stops: a fresh store at `database_url`, one expert with one client
/// key, and the per-key rate limits lifted (a benchmark drives one key far beyond them).
/// `ready` is called once the server listens.
pub fn run_bench_server(database_url: &str, ready: impl FnOnce(BenchServer)) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut config = Config {
            database_url: database_url.to_owned(),
            ..Config::default()
        };
        config.rate_limits.per_key = u32::MAX;
        config.rate_limits.events_per_key = u32::MAX;
        let store = Store::open(database_url).await?;
        let clock = Clock::system();
        let expert = provision::add_expert(&store, &clock, "Bench", None).await?;
        let client = provision::add_client(
            &store,
            &clock,
            expert.expert_id.as_str(),
            ClientOptions::default(),
        )
        .await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        ready(BenchServer {
            addr: listener.local_addr()?,
            client_key: client.client_key,
            expert_key: expert.expert_key,
        });
        heysummon_server::app::serve(listener, AppState::new(store, clock, config)).await?;
        Ok(())
    })
}
