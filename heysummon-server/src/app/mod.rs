//! The running server as one value: [`Application`] binds the listener, opens the store on a
//! new event bus, and owns every background task (the sweeper, the store's checkpoints, the
//! channels' deliveries). `serve`, the tests, the
//! examples and the benchmarks all start the server through it, so none of them runs a server
//! that production does not.

mod edge;
pub(crate) mod openapi;
mod router;
mod serve;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use router::router;

use crate::bus::EventBus;
use crate::clock::Clock;
use crate::config::Config;
use crate::state::AppState;
use crate::store::{Store, StoreError};

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    /// The audit log's key could not be read or created (or none is configured for
    /// PostgreSQL).
    #[error("cannot use the audit key: {0}")]
    AuditKey(#[source] StoreError),
    /// The audit log was signed with another key than the configured one: new entries would
    /// break its chain of signatures.
    #[error(
        "the audit log is signed with key {log}, not with this server's audit key {ours}: \
         set audit_key_file to the log's key file"
    )]
    ForeignAuditKey {
        /// The key id of the log's newest entry.
        log: String,
        /// The key id of the configured key.
        ours: String,
    },
    /// The listen address could not be bound (in use, not permitted, …).
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The configured address.
        address: SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

/// Opens the store of `config` on `bus`, signing audit entries with the configured key file
/// (read or created on first use), else the default one beside an SQLite database.
pub(crate) async fn open_store(config: &Config, bus: EventBus) -> Result<Store, StoreError> {
    let store = Store::open_with_bus(&config.database_url, bus).await?;
    Ok(match &config.audit_key_file {
        Some(path) => store.with_audit_key_file(path.clone()),
        None => store,
    })
}

/// Reads (or creates) the audit key now rather than at the first audited write, and refuses a
/// key that did not sign the log (a database moved without its key file).
async fn check_audit_key(store: &Store) -> Result<(), StartError> {
    let key = store.audit_key().await.map_err(StartError::AuditKey)?;
    match store.audit_last_entry().await? {
        Some(last) if last.key_id != key.key_id() => Err(StartError::ForeignAuditKey {
            log: last.key_id,
            ours: key.key_id().to_owned(),
        }),
        _ => Ok(()),
    }
}

/// A server that is bound and ready to run.
///
/// ```no_run
/// # async fn run() -> anyhow::Result<()> {
/// use heysummon_server::{Application, config::Config};
///
/// let app = Application::build(Config::default()).await?;
/// println!("listening on port {}", app.port());
/// app.run_until_stopped().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: AppState,
}

impl Application {
    /// Opens the store named by `config.database_url` (creating and migrating it on first
    /// start) and binds `config.listen` (port 0 picks a free port), on the system clock.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        Self::build_with_clock(config, Clock::system()).await
    }

    /// Like [`Application::build`], on a given clock (tests move a manual one).
    pub async fn build_with_clock(mut config: Config, clock: Clock) -> Result<Self, StartError> {
        crate::telemetry::install();
        // The bus is the application's; the store publishes what it appends to it (and, with
        // several instances on one database, learns of the others' appends through it).
        let store = open_store(&config, EventBus::new()).await?;
        check_audit_key(&store).await?;
        let address = config.listen;
        let bind_error = |source| StartError::Bind { address, source };
        let listener = TcpListener::bind(address).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        // Port 0 picked a port: links and sign-in callbacks without a public URL name it.
        if config.listen.port() == 0 {
            config.listen = local_addr;
        }
        Ok(Self {
            listener,
            local_addr,
            state: AppState::new(store, clock, config),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The port the server listens on (the chosen one when the configuration said 0).
    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// The state every route sees: the store (for provisioning before the first request),
    /// the clock and the configuration.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The token that stops the server: cancelling it ends the accept loop, the event
    /// streams, the long-polls and every background task.
    pub fn stop_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }

    /// Runs the server and its background tasks until the stop token is cancelled; then
    /// stops accepting, lets in-flight requests finish (for at most `http.shutdown_drain_secs`,
    /// then closes their connections), stops the background tasks (the last checkpoint
    /// included) and returns.
    ///
    /// Cancel-safe in the sense that dropping the future stops serving at once, without the
    /// final checkpoint; cancel the stop token for a graceful stop.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            listener, state, ..
        } = self;
        let shutdown = state.shutdown.clone();
        let mut background = JoinSet::new();
        background.spawn(crate::sweeper::run(state.clone()));
        background.spawn(crate::sweeper::run_checkpoints(state.clone()));
        background.spawn(crate::sweeper::run_metrics_upkeep(state.shutdown.clone()));
        background.spawn(crate::notify::run(state.clone()));
        let limits = state.config.http.clone();
        serve::serve_connections(listener, router(state.clone()), &limits, shutdown.clone()).await;
        shutdown.cancel();
        while let Some(ended) = background.join_next().await {
            if let Err(error) = ended {
                tracing::error!(%error, "a background task failed");
            }
        }
        // A last checkpoint, after the last write of every background task, so the database
        // file is complete on its own after shutdown.
        if let Err(error) = state.store.final_checkpoint().await {
            tracing::warn!(%error, "final checkpoint failed");
        }
        Ok(())
    }
}
