//! The shared test harness (feature `testing`): [`TestApp`] is a real server started through
//! [`Application`] — router, sweeper and checkpoints as in production — on 127.0.0.1:0 over a
//! temporary SQLite file, provisioned with one expert and one linked client key.
//!
//! The server's own tests and the workspace's cross-crate tests (the SDK and the guard against
//! the real server) all use it:
//!
//! ```no_run
//! # async fn run() {
//! use heysummon_server::clock::Clock;
//! use heysummon_server::testing::TestApp;
//!
//! let app = TestApp::spawn().await;
//! let id = app.ask_ok(&app.client_key, "May I deploy?").await;
//! app.answer(&app.expert_key, &id, "Yes").await;
//!
//! // A manual clock and an adjusted configuration:
//! let app = TestApp::builder()
//!     .clock(Clock::manual(1_777_147_005_123))
//!     .config(|c| c.request_ttl_secs = 60)
//!     .spawn()
//!     .await;
//! # }
//! ```
//!
//! Helpers panic on failure: they are for tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

pub mod fake_channels;
pub mod fake_oauth;
mod forge;
mod http;
pub mod postgres;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::app::{Application, StartError};
use crate::clock::Clock;
use crate::config::Config;
use crate::provision::{self, ClientOptions};
use crate::state::AppState;
use crate::store::Store;

/// A tenant provisioned for a test: one expert and one client key linked to it.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// The expert's id.
    pub expert_id: String,
    /// The expert's key.
    pub expert_key: String,
    /// The client key's id.
    pub client_key_id: String,
    /// The client (agent) key.
    pub client_key: String,
}

/// How to start a [`TestApp`].
#[must_use]
pub struct TestAppBuilder {
    clock: Clock,
    config: Config,
    tenant: String,
    sqlite_only: bool,
}

impl std::fmt::Debug for TestAppBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestAppBuilder")
            .field("clock", &self.clock)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl TestAppBuilder {
    /// The server's clock (default: the system clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Adjusts the configuration (the database URL and listen address are the harness's).
    pub fn config(mut self, adjust: impl FnOnce(&mut Config)) -> Self {
        adjust(&mut self.config);
        self
    }

    /// On SQLite whatever the suite's backend (a test of SQLite's own behaviour, its files).
    pub fn sqlite_only(mut self) -> Self {
        self.sqlite_only = true;
        self
    }

    /// The name of the first tenant's expert (default "Alice"; its key is "Alice's agent").
    pub fn tenant(mut self, name: &str) -> Self {
        name.clone_into(&mut self.tenant);
        self
    }

    /// Creates the database, provisions the first tenant and starts the server. The database
    /// is a temporary SQLite file, or a PostgreSQL database of its own when the suite runs on
    /// PostgreSQL (`HEYSUMMON_TEST_BACKEND=postgres`, see [`postgres`]).
    pub async fn spawn(self) -> TestApp {
        let dir = Arc::new(tempfile::tempdir().expect("a temporary directory"));
        let db_path = dir.path().join("heysummon.db");
        let pg = if postgres::suite_on_postgres() && !self.sqlite_only {
            let database = postgres::TestDatabase::create()
                .await
                .expect("HEYSUMMON_TEST_BACKEND=postgres needs HEYSUMMON_TEST_POSTGRES_URL");
            Some(Arc::new(database))
        } else {
            None
        };
        let database_url = match &pg {
            Some(database) => database.url().to_owned(),
            None => format!("sqlite://{}", db_path.display()),
        };
        // PostgreSQL has no database file to keep the audit key beside.
        let audit_key_file = match (&pg, self.config.audit_key_file) {
            (Some(_), None) => Some(dir.path().join("audit.key")),
            (_, configured) => configured,
        };
        let config = Config {
            database_url,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            audit_key_file,
            ..self.config
        };
        let app = Application::build_with_clock(config, self.clock)
            .await
            .expect("the test server starts");
        let tenant = provision_tenant(&app.state().store, &app.state().clock, &self.tenant).await;
        TestApp::run(app, Files { dir, db_path, pg }, tenant)
    }
}

/// A running server and what a test needs to reach it. Dropping it stops the server.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Where the server listens.
    pub addr: SocketAddr,
    /// The server's state: store, clock, configuration, shutdown token.
    pub state: AppState,
    /// The server's store (provision more, inspect rows).
    pub store: Store,
    /// The server's clock (advance it when it is manual).
    pub clock: Clock,
    /// The SQLite file (when the suite runs on SQLite).
    pub db_path: PathBuf,
    /// The database URL: [`TestApp::db_path`]'s, or the PostgreSQL test database's.
    pub db_url: String,
    /// A plain HTTP client.
    pub http: reqwest::Client,
    /// The first tenant's expert id.
    pub expert_id: String,
    /// The first tenant's expert key.
    pub expert_key: String,
    /// The first tenant's client key id.
    pub client_key_id: String,
    /// The first tenant's client key.
    pub client_key: String,
    /// Keeps the database directory alive for the test's duration.
    pub dir: Arc<tempfile::TempDir>,
    /// The PostgreSQL test database, dropped with the last copy.
    pg: Option<Arc<postgres::TestDatabase>>,
    serving: Option<JoinHandle<std::io::Result<()>>>,
}

/// Where a test's data lives, kept across restarts.
struct Files {
    dir: Arc<tempfile::TempDir>,
    db_path: PathBuf,
    pg: Option<Arc<postgres::TestDatabase>>,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("base", &self.base)
            .field("db_path", &self.db_path)
            .finish_non_exhaustive()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.state.shutdown.cancel();
    }
}

impl TestApp {
    /// A server on the system clock with the default configuration.
    pub async fn spawn() -> Self {
        Self::builder().spawn().await
    }

    /// A server to configure before it starts.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            clock: Clock::system(),
            config: Config::default(),
            tenant: "Alice".to_owned(),
            sqlite_only: false,
        }
    }

    fn run(app: Application, files: Files, t: Tenant) -> Self {
        let Files { dir, db_path, pg } = files;
        let state = app.state().clone();
        let addr = app.local_addr();
        Self {
            base: format!("http://{addr}"),
            addr,
            store: state.store.clone(),
            clock: state.clock.clone(),
            db_url: state.config.database_url.clone(),
            state,
            db_path,
            http: reqwest::Client::new(),
            expert_id: t.expert_id,
            expert_key: t.expert_key,
            client_key_id: t.client_key_id,
            client_key: t.client_key,
            dir,
            pg,
            serving: Some(tokio::spawn(app.run_until_stopped())),
        }
    }

    /// The first tenant.
    pub fn first_tenant(&self) -> Tenant {
        Tenant {
            expert_id: self.expert_id.clone(),
            expert_key: self.expert_key.clone(),
            client_key_id: self.client_key_id.clone(),
            client_key: self.client_key.clone(),
        }
    }

    /// Graceful shutdown, as on SIGTERM: cancels the stop token and waits (at most 5 s) until
    /// serving and the background tasks have ended.
    pub async fn stop(&mut self) {
        self.state.shutdown.cancel();
        if let Some(serving) = self.serving.take() {
            tokio::time::timeout(Duration::from_secs(5), serving)
                .await
                .expect("graceful shutdown within 5 s")
                .expect("the server task")
                .expect("serving ends cleanly");
        }
    }

    /// Starts a new server on the same database file, address, clock and configuration (a
    /// stopped server comes back). Retries the bind for up to 2 s while the port is released.
    pub async fn start_again(&mut self) {
        self.start_again_with(|_| {}).await;
    }

    /// Like [`TestApp::start_again`], with an adjusted configuration.
    pub async fn start_again_with(&mut self, adjust: impl FnOnce(&mut Config)) {
        assert!(self.serving.is_none(), "stop the server first");
        let mut config = Config {
            listen: self.addr,
            ..(*self.state.config).clone()
        };
        adjust(&mut config);
        let started = Instant::now();
        let app = loop {
            match Application::build_with_clock(config.clone(), self.clock.clone()).await {
                Ok(app) => break app,
                Err(StartError::Bind { .. }) if started.elapsed() < Duration::from_secs(2) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("cannot start the server again: {error}"),
            }
        };
        let tenant = self.first_tenant();
        // Dropping the stopped value cancels only its own, spent, stop token.
        let files = Files {
            dir: self.dir.clone(),
            db_path: self.db_path.clone(),
            pg: self.pg.clone(),
        };
        *self = Self::run(app, files, tenant);
    }

    /// Stops gracefully and starts again on the same database file and address (a restart);
    /// a manual clock carries on from where it was.
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        self.start_again().await;
        self
    }

    /// A restart with an adjusted configuration (settings that name what the first run
    /// provisioned, such as an expert's id).
    pub async fn restart_with(mut self, adjust: impl FnOnce(&mut Config)) -> Self {
        self.stop().await;
        self.start_again_with(adjust).await;
        self
    }

    /// Another tenant (expert + client key) on this server.
    pub async fn tenant(&self, name: &str) -> Tenant {
        provision_tenant(&self.store, &self.clock, name).await
    }

    /// Another client key of an existing expert (a sibling key): `(key id, key)`.
    pub async fn client_key_for(
        &self,
        expert_id: &str,
        options: ClientOptions,
    ) -> (String, String) {
        let added = provision::add_client(&self.store, &self.clock, expert_id, options)
            .await
            .unwrap();
        (added.key_id.into_string(), added.client_key)
    }

    /// How many requests the server holds.
    pub async fn request_count(&self) -> usize {
        provision::list_requests(&self.store, None)
            .await
            .unwrap()
            .requests
            .len()
    }

    /// Forces a request to `expired`, as `heysummon-server request expire` does.
    pub async fn expire(&self, request_id: &str) {
        provision::expire_request(&self.store, &self.clock, request_id)
            .await
            .unwrap();
    }

    /// A one-time sign-in link to the dashboard for an expert, as `expert login-link` makes.
    pub async fn login_link(&self, expert_id: &str) -> String {
        crate::web::create_login_link(&self.store, expert_id, &self.base, self.clock.now())
            .await
            .unwrap()
            .unwrap()
            .url
    }

    /// A signed-in session for an expert: the `Cookie` header value and the CSRF token (for
    /// API tests; browser tests sign in through a link).
    pub async fn session(&self, expert_id: &str) -> (String, String) {
        let link = self.login_link(expert_id).await;
        let token = link.rsplit('#').next().unwrap().to_owned();
        let response = self
            .http
            .post(self.url("/auth/link"))
            .json(&serde_json::json!({ "token": token }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "signing in failed");
        let set_cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let me: serde_json::Value = self
            .http
            .get(self.url("/api/me"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (cookie, me["csrfToken"].as_str().unwrap().to_owned())
    }

    /// Whether the database holds `needle` anywhere: in any of SQLite's files (main, WAL,
    /// shared memory), or in the text of any row of any PostgreSQL table.
    pub async fn database_contains(&self, needle: &[u8]) -> bool {
        if self.pg.is_some() {
            return postgres::any_row_contains(&self.db_url, needle).await;
        }
        ["", "-wal", "-shm"].iter().any(|suffix| {
            let mut name = self.db_path.as_os_str().to_owned();
            name.push(suffix);
            std::fs::read(PathBuf::from(name))
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        })
    }
}

async fn provision_tenant(store: &Store, clock: &Clock, name: &str) -> Tenant {
    let (expert, client) =
        provision::add_tenant(store, clock, name, Some(format!("{name}'s agent")))
            .await
            .unwrap();
    Tenant {
        expert_id: expert.expert_id.into_string(),
        expert_key: expert.expert_key,
        client_key_id: client.key_id.into_string(),
        client_key: client.client_key,
    }
}
