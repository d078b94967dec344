//! Moving and keeping a store's data: `store copy` (SQLite to PostgreSQL and back, every row
//! kept, the copy serving afterwards, a non-empty target refused), `backup` of a running
//! server's SQLite file and `restore`, the table list against both schemas, and the commands
//! through the real binary.
//!
//! PostgreSQL tests need `HEYSUMMON_TEST_POSTGRES_URL` (see `testing::postgres`); without it
//! they are skipped outside CI.

#![allow(clippy::unwrap_used)]

mod backup;
mod cli;
mod populate;
mod round_trip;
mod schema;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use rusqlite::types::Value as SqlValue;
use serde_json::Value;

/// The server binary.
const BIN: &str = env!("CARGO_BIN_EXE_heysummon-server");

/// Runs the binary with `--database-url URL --json ARGS` (blocking).
fn run(database_url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["--database-url", database_url, "--json"])
        .args(args)
        .env_remove("HEYSUMMON_CONFIG")
        .env_remove("HEYSUMMON_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// Asserts success and parses the one line of JSON on stdout.
fn succeeded(args: &[&str], out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stdout} {stderr}");
    assert_eq!(stdout.lines().count(), 1, "{args:?}: {stdout}");
    serde_json::from_str(&stdout).unwrap()
}

/// Asserts a non-zero exit with nothing on stdout; returns stderr.
fn failed(args: &[&str], out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", out.stdout);
    stderr
}

/// `sqlite://PATH`.
fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Every row of every table of an SQLite file (`sqlite_sequence`, the counters, included), in
/// a stable order: found from the file's own catalogue, not from the copy's table list.
fn sqlite_dump(path: &Path) -> BTreeMap<String, Vec<Vec<SqlValue>>> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut dump = BTreeMap::new();
    for table in tables {
        let statement = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let width = statement.column_count();
        let order: Vec<String> = (1..=width).map(|i| i.to_string()).collect();
        drop(statement);
        let sql = format!("SELECT * FROM {table} ORDER BY {}", order.join(", "));
        let mut statement = conn.prepare(&sql).unwrap();
        let rows = statement
            .query_map([], |r| (0..width).map(|i| r.get(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        dump.insert(table, rows);
    }
    dump
}

/// A connection to a PostgreSQL database, its driver running in the background.
async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// Rows per table of a PostgreSQL database, for the tables of the copy's list.
async fn pg_counts(url: &str) -> BTreeMap<&'static str, i64> {
    let client = pg_client(url).await;
    let mut counts = BTreeMap::new();
    for table in heysummon_server::store::copy::TABLES {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name);
        counts.insert(
            table.name,
            client.query_one(&sql, &[]).await.unwrap().get(0),
        );
    }
    counts
}
