//! The command line: `serve` (the default), `enroll`, `device`, `mcp`.

use std::io::Write as _;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Overrides};
use crate::device;
use crate::error::Error;
use crate::proxy::Guard;

/// heysummon-guard: the local signing proxy in front of a HeySummon server.
///
/// Agents in any language talk plain HTTP to the guard on localhost; the guard injects the API
/// key, checks content, and signs every request with its device key (PROTOCOL B4).
#[derive(Debug, Parser)]
#[command(name = "heysummon-guard", version, about, long_about = None)]
pub struct Cli {
    /// Settings (each also from the TOML file and the environment).
    #[command(flatten)]
    pub overrides: Overrides,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Clone, Copy, Debug, Subcommand)]
pub enum Command {
    /// Run the proxy (the default).
    Serve,
    /// Enroll the device key with the server (POST /api/v1/devices) and print the device id.
    Enroll,
    /// Print the device id and public key (creating the key on first use).
    Device,
    /// Serve the Model Context Protocol over standard input and output: the tools
    /// `ask_human`, `await_human`, `request_approval`, `notify_human` and `approval_prompt`
    /// for a coding agent that starts this command.
    Mcp,
}

/// Runs a parsed command line to completion, on its own tokio runtime.
pub fn run(cli: Cli) -> Result<(), Error> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Device = command {
        let path = cli
            .overrides
            .device_key_file
            .clone()
            .unwrap_or_else(crate::config::default_device_key_file);
        let key = device::load_or_create(&path)?;
        return print_device(key.key.public(), &path);
    }
    let config = Config::load(&cli.overrides, |name| std::env::var(name).ok())?;
    let key = device::load_or_create(&config.device_key_file)?;
    if key.created {
        tracing::info!(path = %config.device_key_file.display(), "generated a new device key");
    }
    let workers = match config.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
        n => n,
    };
    // The calling thread's runtime: enrollment and signals, and with one worker the serving
    // too. More workers serve thread-per-core: one current-thread runtime per thread (no
    // cross-thread hand-offs on the hot path).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("start", "the tokio runtime", e))?;
    let path = config.device_key_file.clone();
    let guard = Guard::new(config, key.key)?;
    match command {
        Command::Enroll => runtime.block_on(async {
            let enrollment = guard.enroll().await?;
            let status = match enrollment {
                crate::enroll::Enrollment::Enrolled { .. } => "enrolled",
                crate::enroll::Enrollment::AlreadyEnrolled { .. } => "already enrolled",
            };
            out(&format!("device {status}"))?;
            print_device(guard.signer().public_key(), &path)
        }),
        Command::Mcp => runtime.block_on(async {
            // The host is waiting for the MCP handshake: a slow server delays it a little, not
            // past the host's patience.
            let enrolling = enroll_at_startup(&guard);
            if tokio::time::timeout(std::time::Duration::from_secs(5), enrolling)
                .await
                .is_err()
            {
                tracing::warn!(
                    "enrolling the device key took over 5 s; serving MCP without waiting"
                );
            }
            crate::mcp::serve_stdio(guard.e2e().asker().clone(), guard.config().mcp_hold)
                .await
                .map_err(|e| Error::io("serve MCP on", "standard input and output", e))
        }),
        _ if workers <= 1 => runtime.block_on(serve(guard)),
        _ => serve_threads(&runtime, &guard, workers),
    }
}

/// Binds the listen address and, when configured, enrolls the device key (once, whatever the
/// number of workers).
async fn start(guard: &Guard, workers: usize) -> Result<tokio::net::TcpListener, Error> {
    let config = guard.config();
    // Several workers: every thread gets a socket of its own in one SO_REUSEPORT group, so the
    // kernel spreads connections evenly instead of waking every accept loop for each.
    let listener = if workers > 1 {
        crate::serve::bind_shared(config.listen)
    } else {
        tokio::net::TcpListener::bind(config.listen).await
    }
    .map_err(|e| Error::io("listen on", config.listen.to_string(), e))?;
    enroll_at_startup(guard).await;
    tracing::info!(
        listen = %config.listen,
        upstream = %config.upstream,
        device = guard.signer().device_id(),
        safety = ?config.safety,
        workers,
        "heysummon-guard listening"
    );
    Ok(listener)
}

/// Enrolls the device key when configured to; a failure is logged, not fatal.
async fn enroll_at_startup(guard: &Guard) {
    if !guard.config().auto_enroll {
        return;
    }
    match guard.enroll().await {
        Ok(enrollment) => tracing::info!(
            device = enrollment.device_id(),
            ?enrollment,
            "device key enrolled"
        ),
        Err(error) => {
            tracing::warn!(%error, "could not enroll the device key at startup; run `heysummon-guard enroll`")
        }
    }
}

/// One worker: serves on the calling runtime.
async fn serve(guard: Guard) -> Result<(), Error> {
    let listener = start(&guard, 1).await?;
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signal.cancel();
    });
    serve_until(listener, guard, shutdown).await
}

/// Several workers: `workers` serving threads ([`crate::serve::spawn_threads`]), each with a
/// sibling of `guard` (its own connection pools, the shared ask state and key store); the
/// calling thread waits for a signal, then joins them.
fn serve_threads(
    runtime: &tokio::runtime::Runtime,
    guard: &Guard,
    workers: usize,
) -> Result<(), Error> {
    let listen = guard.config().listen.to_string();
    let listener = runtime.block_on(async {
        let listener = start(guard, workers).await?;
        listener
            .into_std()
            .map_err(|e| Error::io("listen on", listen.clone(), e))
    })?;
    // `guard` enrolled on this runtime, so its pool belongs here: the threads get siblings.
    let guards = (0..workers)
        .map(|_| guard.new_sharing())
        .collect::<Result<Vec<_>, _>>()?;
    let shutdown = CancellationToken::new();
    let threads = crate::serve::spawn_threads(listener, guards, shutdown.clone())
        .map_err(|e| Error::io("start", "the serving threads", e))?;
    runtime.block_on(async {
        tokio::select! {
            () = shutdown_signal() => shutdown.cancel(),
            // A serving thread ended on its own (it failed): stop.
            () = shutdown.cancelled() => {}
        }
    });
    threads
        .join()
        .map_err(|e| Error::io("serve on", "the listener", e))
}

async fn serve_until(
    listener: tokio::net::TcpListener,
    guard: Guard,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    crate::serve::serve(listener, guard, shutdown)
        .await
        .map_err(|e| Error::io("serve on", "the listener", e))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn print_device(
    public: heysummon_sdk::keys::SignPublicKey,
    path: &std::path::Path,
) -> Result<(), Error> {
    out(&format!("device id:  {}", public.device_id()))?;
    out(&format!("public key: {}", public.to_hex()))?;
    out(&format!("key file:   {}", path.display()))?;
    out(&format!(
        "an administrator can enroll it with: heysummon-server client add --expert EXPERT_ID --device-key {}",
        public.to_hex()
    ))
}

fn out(line: &str) -> Result<(), Error> {
    writeln!(std::io::stdout(), "{line}").map_err(|e| Error::io("write", "standard output", e))
}
