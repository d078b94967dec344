//! A PostgreSQL database of its own for one test, dropped when the test ends.
//!
//! The server to use is `HEYSUMMON_TEST_POSTGRES_URL` (`.ci/run` sets it to the local server,
//! `postgres://postgres@127.0.0.1:5432/postgres`). In CI (`CI` set) a missing URL fails the
//! test loudly; elsewhere the PostgreSQL tests are skipped with a notice, so a contributor
//! without PostgreSQL can still run the rest.

use rand_core::{OsRng, RngCore};
use tokio_postgres::NoTls;

/// The variable naming the PostgreSQL server tests use.
pub const URL_VARIABLE: &str = "HEYSUMMON_TEST_POSTGRES_URL";

/// The variable that makes the server's whole test suite run on PostgreSQL instead of SQLite
/// (`HEYSUMMON_TEST_BACKEND=postgres`).
pub const BACKEND_VARIABLE: &str = "HEYSUMMON_TEST_BACKEND";

/// A fresh, empty database on the test server.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    name: String,
    admin: String,
}

/// The test server's URL: `None` (skip) when unset outside CI; a panic when unset in CI.
pub fn server_url() -> Option<String> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{URL_VARIABLE} is not set: CI must run the PostgreSQL tests (see .ci/run)")
        }
        _ => {
            eprintln!("skipping a PostgreSQL test: {URL_VARIABLE} is not set");
            None
        }
    }
}

/// Whether the whole suite runs on PostgreSQL (`HEYSUMMON_TEST_BACKEND=postgres`).
pub fn suite_on_postgres() -> bool {
    std::env::var(BACKEND_VARIABLE).is_ok_and(|backend| backend == "postgres")
}

impl TestDatabase {
    /// Creates a database named `hs_test_…` on the test server; `None` when PostgreSQL tests
    /// are skipped (see [`server_url`]).
    pub async fn create() -> Option<Self> {
        let admin = server_url()?;
        let mut bytes = [0u8; 8];
        OsRng.fill_bytes(&mut bytes);
        let name = format!("hs_test_{}", hex::encode(bytes));
        let (client, connection) = tokio_postgres::connect(&admin, NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {URL_VARIABLE}: {e}"));
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        drop(client);
        let _ = driver.await;
        let mut url = url::Url::parse(&admin).expect("the test server URL parses");
        url.set_path(&name);
        Some(Self {
            url: url.to_string(),
            name,
            admin,
        })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Whether the text of any row of any table of the database at `url` contains `needle` (as
/// UTF-8; byte columns are compared in their hex form, so look for text).
pub async fn any_row_contains(url: &str, needle: &[u8]) -> bool {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("the test database is reachable");
    let driver = tokio::spawn(connection);
    let needle = String::from_utf8_lossy(needle).into_owned();
    let tables = client
        .query(
            "SELECT table_name::TEXT FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            &[],
        )
        .await
        .expect("the tables");
    let mut found = false;
    for table in tables {
        let name: String = table.get(0);
        let sql =
            format!("SELECT EXISTS (SELECT 1 FROM \"{name}\" t WHERE strpos(t::TEXT, $1) > 0)");
        let row = client
            .query_one(&sql, &[&needle])
            .await
            .expect("a table scan");
        if row.get::<_, bool>(0) {
            found = true;
            break;
        }
    }
    drop(client);
    let _ = driver.await;
    found
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs inside the test's runtime: a thread of its own with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let (client, connection) = tokio_postgres::connect(&admin, NoTls).await.ok()?;
                let driver = tokio::spawn(connection);
                let done = client.batch_execute(&sql).await.ok();
                drop(client);
                let _ = driver.await;
                done
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}
