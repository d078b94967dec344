//! Support code shared by the workspace's examples (`examples/`) and benchmarks (`benches/`).
//! Nothing here is published.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

pub use heysummon_sdk;
use heysummon_server::Application;
use heysummon_server::config::Config;
use heysummon_server::provision;

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
        // The audit key in a directory of the benchmark's own (PostgreSQL has no database file
        // to keep it beside).
        let audit = tempfile::tempdir()?;
        let mut config = Config {
            database_url: database_url.to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            audit_key_file: Some(audit.path().join("audit.key")),
            ..Config::default()
        };
        config.rate_limits.per_key = u32::MAX;
        config.rate_limits.events_per_key = u32::MAX;
        let app = Application::build(config).await?;
        let (store, clock) = (&app.state().store, &app.state().clock);
        let (expert, client) = provision::add_tenant(store, clock, "Bench", None).await?;
        ready(BenchServer {
            addr: app.local_addr(),
            client_key: client.client_key,
            expert_key: expert.expert_key,
        });
        app.run_until_stopped().await?;
        Ok(())
    })
}

/// The resident set size of a process, in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmRSS:")
}

/// A KiB figure of `/proc/PID/status`, by its field name with the colon (`VmHWM:`).
pub fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no {field} for process {pid}"))
}

/// A benchmark server in a child process (the benchmark binary re-executed with
/// `--serve DATABASE_URL OUT_FILE`; see [`serve_if_child`]), so that its memory and CPU are
/// measured apart from the load generator's. Killed on drop.
#[derive(Debug)]
pub struct ChildServer {
    /// The server's address, keys and database.
    pub server: BenchServer,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl ChildServer {
    /// Starts the current executable as a server on a fresh SQLite file and waits until it
    /// listens.
    pub fn spawn() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let out = dir.path().join("server.addr");
        let db = format!("sqlite://{}", dir.path().join("bench.db").display());
        let out_arg = out
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("temporary path is not UTF-8"))?;
        let child = std::process::Command::new(std::env::current_exe()?)
            .args(["--serve", &db, out_arg])
            .spawn()?;
        let mut server = Self {
            server: BenchServer {
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                client_key: String::new(),
                expert_key: String::new(),
            },
            child,
            _dir: dir,
        };
        let started = Instant::now();
        while !out.exists() {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let line = std::fs::read_to_string(&out)?;
        let mut parts = line.split_whitespace();
        let mut next = || {
            parts
                .next()
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("malformed server file"))
        };
        server.server.addr = next()?.parse()?;
        server.server.client_key = next()?;
        server.server.expert_key = next()?;
        Ok(server)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In a benchmark's `main`: when the arguments are `--serve DATABASE_URL OUT_FILE`, runs the
/// server (writing `ADDR CLIENT_KEY EXPERT_KEY` to `OUT_FILE` once it listens) and returns
/// `true` when it stops; otherwise returns `false` at once.
pub fn serve_if_child() -> anyhow::Result<bool> {
    let args: Vec<String> = std::env::args().collect();
    let Some(i) = args.iter().position(|a| a == "--serve") else {
        return Ok(false);
    };
    let (Some(db), Some(out)) = (args.get(i + 1), args.get(i + 2)) else {
        anyhow::bail!("usage: --serve DATABASE_URL OUT_FILE");
    };
    let out = Path::new(out).to_owned();
    let mut written = Ok(());
    run_bench_server(db, |server| {
        let line = format!(
            "{} {} {}",
            server.addr, server.client_key, server.expert_key
        );
        let tmp = out.with_extension("tmp");
        written = std::fs::write(&tmp, line).and_then(|()| std::fs::rename(&tmp, &out));
    })?;
    written?;
    Ok(true)
}
