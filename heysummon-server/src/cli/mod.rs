//! The command line: `serve`, the provisioning subcommands of PROTOCOL part D, and moving and
//! backing up a store's data (`store copy`, `backup`, `restore`).

mod audit;
mod channel;
mod expert;
mod store;

use std::path::PathBuf;

use crate::app::Application;
use crate::audit::Actor;
use crate::bus::EventBus;
use crate::clock::Clock;
use crate::config::{Config, Overrides};
use crate::provision::{self, ClientOptions};
use crate::store::Store;
use clap::{Parser, Subcommand};

pub use audit::{AuditCommand, VerifyArgs, VerifyError, verify_log};
pub use channel::ChannelCommand;
pub use expert::ExpertCommand;
use serde::Serialize;
pub use store::{BackupArgs, RestoreArgs, StoreCommand};

/// The self-hostable HeySummon server.
///
/// Settings come from defaults, then an optional TOML file (`--config`), then `HEYSUMMON_*`
/// environment variables, then flags.
#[derive(Debug, Parser)]
#[command(name = "heysummon-server", version, about, long_about = None)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, env = "HEYSUMMON_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Database URL [default: sqlite://heysummon.db].
    #[arg(long, env = "HEYSUMMON_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Print results as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log format on stderr: `text` (default) or `json` (one object per line, with the
    /// request id of every HTTP request carried into what it causes).
    #[arg(
        long,
        env = "HEYSUMMON_LOG_FORMAT",
        global = true,
        value_enum,
        default_value_t
    )]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Installs the global subscriber: `RUST_LOG` filters (default `info`), stderr.
    pub fn install(self) {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        match self {
            // Colour codes only for a person at a terminal, never into a file or a journal.
            Self::Text => builder
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .init(),
            Self::Json => builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .init(),
        }
    }
}

/// The settings the environment gives, for commands without setting flags.
#[derive(Debug, Parser)]
struct FromEnvironment {
    #[command(flatten)]
    overrides: Overrides,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum Command {
    /// Run the server. On an empty store, first creates an expert and a linked client key and
    /// prints both keys once.
    Serve(Overrides),
    /// Manage experts.
    #[command(subcommand)]
    Expert(ExpertCommand),
    /// Manage client (agent) keys.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Inspect and administer requests.
    #[command(subcommand)]
    Request(RequestCommand),
    /// Manage an expert's notification channels (Slack, Telegram, Discord, e-mail,
    /// webhooks).
    Channel {
        /// What to do.
        #[command(subcommand)]
        command: ChannelCommand,
        /// Settings (the `[channels]` ones and `public_url` matter here).
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Move a store's data to another database (SQLite to PostgreSQL, or back).
    #[command(subcommand)]
    Store(StoreCommand),
    /// Back up the SQLite database (`--database-url`) into a new file, online: the server may
    /// keep running and writing; the backup holds everything committed before it began, in
    /// one file. Prints {"backup","database","bytes","experts","requests","events"}. For
    /// PostgreSQL, use pg_dump.
    Backup(BackupArgs),
    /// Replace the SQLite database (`--database-url`) with a backup, after checking the
    /// backup's integrity. Stop the server first: a running server would carry on from what it
    /// held in memory. Refuses a database holding data unless --force. Prints
    /// {"restored","database","experts","requests","events"}.
    Restore(RestoreArgs),
    /// Check or export the tamper-evident audit log (`audit verify`, `audit export --json`).
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// `client …`.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create a client key linked to an expert. Prints {"keyId","clientKey"}.
    Add {
        /// The expert the key's requests go to.
        #[arg(long)]
        expert: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Store exactly this key instead of generating one.
        #[arg(long)]
        key: Option<String>,
        /// Create the key inactive.
        #[arg(long)]
        inactive: bool,
        /// Require header `x-device-token: TOKEN` on every request.
        #[arg(long)]
        device_token: Option<String>,
        /// Enroll an Ed25519 device key (hex DER SPKI); requests must then be signed.
        #[arg(long)]
        device_key: Option<String>,
    },
    /// Deactivate a client key. Prints {"keyId","status"}.
    Revoke {
        /// The key id.
        key_id: String,
    },
    /// Replace a client key; the old one works for 24 h more. Prints
    /// {"keyId","clientKey","previousKeyExpiresAt"}.
    Rotate {
        /// The key id.
        key_id: String,
    },
}

/// `request …`.
#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Force a request to `expired`. Prints {"requestId","status":"expired"}.
    Expire {
        /// The request id.
        request_id: String,
    },
    /// List requests, newest first. Prints {"requests":[…]}.
    List {
        /// Only requests with this status.
        #[arg(long)]
        status: Option<String>,
    },
}

#[allow(clippy::print_stdout)] // the command line's output is its purpose
pub(crate) fn print<T: Serialize + std::fmt::Debug>(
    json: bool,
    value: &T,
    human: impl FnOnce(&T) -> String,
) {
    if json {
        match serde_json::to_string(value) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("cannot encode output: {error}"),
        }
    } else {
        println!("{}", human(value));
    }
}

/// Runs the command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let overrides = match &cli.command {
        Command::Serve(overrides) | Command::Channel { overrides, .. } => overrides.clone(),
        // The other commands take no setting flags, but the environment's settings
        // (`HEYSUMMON_PUBLIC_URL` for `expert login-link`, say) still apply.
        _ => FromEnvironment::try_parse_from(["heysummon-server"])
            .map(|parsed| parsed.overrides)
            .unwrap_or_default(),
    };
    let config = Config::load(cli.config.as_deref(), cli.database_url.clone(), &overrides)?;
    let json = cli.json;
    // These open their databases themselves (or not at all).
    let command = match cli.command {
        Command::Serve(_) => return serve(config, json).await,
        Command::Store(command) => return store::run(command, json).await,
        Command::Backup(args) => return store::backup(args, &config, json).await,
        Command::Restore(args) => return store::restore(args, &config, json).await,
        command => command,
    };
    let store = crate::app::open_store(&config, EventBus::new()).await?;
    let clock = Clock::system();
    match command {
        Command::Serve(_) | Command::Store(_) | Command::Backup(_) | Command::Restore(_) => {}
        Command::Channel { command, .. } => {
            let state = crate::state::AppState::new(store, clock, config);
            channel::run(command, &state, json).await?;
        }
        Command::Expert(command) => expert::run(command, &store, &clock, &config, json).await?,
        Command::Audit(command) => audit::run(command, &store, json).await?,
        Command::Client(ClientCommand::Add {
            expert,
            name,
            key,
            inactive,
            device_token,
            device_key,
        }) => {
            let options = ClientOptions {
                name,
                key,
                inactive,
                device_token,
                device_key,
                created_by: Actor::Admin,
            };
            let added = provision::add_client(&store, &clock, &expert, options).await?;
            print(json, &added, |a| {
                format!(
                    "client key id {}\nclient key (shown once): {}",
                    a.key_id, a.client_key
                )
            });
        }
        Command::Client(ClientCommand::Revoke { key_id }) => {
            let revoked = provision::revoke_client(&store, &clock, Actor::Admin, &key_id).await?;
            print(json, &revoked, |r| {
                format!("client key {} {}", r.key_id, r.status)
            });
        }
        Command::Client(ClientCommand::Rotate { key_id }) => {
            let rotated = provision::rotate_client(&store, &clock, Actor::Admin, &key_id).await?;
            print(json, &rotated, |r| {
                format!(
                    "client key id {}\nnew client key (shown once): {}\nprevious key works until {}",
                    r.key_id, r.client_key, r.previous_key_expires_at
                )
            });
        }
        Command::Request(RequestCommand::Expire { request_id }) => {
            let expired = provision::expire_request(&store, &clock, &request_id).await?;
            print(json, &expired, |e| {
                format!("request {} {}", e.request_id, e.status)
            });
        }
        Command::Request(RequestCommand::List { status }) => {
            let list = provision::list_requests(&store, status.as_deref()).await?;
            print(json, &list, |l| {
                l.requests
                    .iter()
                    .map(|r| format!("{}  {}  {}  {}", r.created_at, r.ref_code, r.status, r.id))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

/// The first-run provisioning of `serve`: the keys a newcomer needs, printed once.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FirstRun {
    expert_id: String,
    expert_key: String,
    key_id: String,
    client_key: String,
    sign_in_url: String,
    sign_in_expires_at: heysummon_sdk::wire::Timestamp,
}

async fn serve(config: Config, json: bool) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    let state = app.state();
    // Instances starting together on one empty database: one of them provisions.
    let now = state.clock.now();
    let first = state
        .store
        .take_lease(
            "first-run",
            &state.instance_id,
            now.saturating_add(60_000),
            now,
        )
        .await?;
    if first && state.store.is_empty().await? {
        let base = state.config.base_url();
        let first = first_run(&state.store, &state.clock, &base).await?;
        print(json, &first, |f| {
            format!(
                "Empty store: created a first expert and a client key. They are shown once; \
                 only their hashes are stored.\n  expert key: {}\n  client key: {}\n\
                 Sign in to the dashboard with this one-time link (valid until {}):\n  {}",
                f.expert_key, f.client_key, f.sign_in_expires_at, f.sign_in_url
            )
        });
    }
    tracing::info!(address = %app.local_addr(), "heysummon-server listening");
    let stop = app.stop_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        stop.cancel();
    });
    app.run_until_stopped().await?;
    Ok(())
}

/// Provisions the first expert and a linked client key of an empty store.
async fn first_run(store: &Store, clock: &Clock, base: &str) -> anyhow::Result<FirstRun> {
    let (expert, client) =
        provision::add_tenant(store, clock, "First expert", Some("First agent".into())).await?;
    let link = crate::web::create_login_link(store, expert.expert_id.as_str(), base, clock.now())
        .await?
        .ok_or_else(|| anyhow::anyhow!("the first expert vanished"))?;
    Ok(FirstRun {
        expert_id: expert.expert_id.into_string(),
        expert_key: expert.expert_key,
        key_id: client.key_id.into_string(),
        client_key: client.client_key,
        sign_in_url: link.url,
        sign_in_expires_at: link.expires_at,
    })
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
