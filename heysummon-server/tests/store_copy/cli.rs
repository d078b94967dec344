//! `heysummon-server store copy` through the real binary: SQLite to PostgreSQL with its JSON
//! report, a second copy refused with a clear message, and back to a new SQLite file that the
//! other commands read as the original.

use heysummon_server::store::copy::TABLES;
use heysummon_server::testing::postgres::TestDatabase;

use super::{failed, pg_counts, run, sqlite_dump, sqlite_url, succeeded};

/// An SQLite database with an expert and a client key, provisioned by the binary: its
/// directory and URL.
fn provisioned() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir.path().join("source.db"));
    let expert = succeeded(
        &["expert add"],
        &run(&url, &["expert", "add", "--name", "Dana"]),
    );
    let expert_id = expert["expertId"].as_str().unwrap();
    let args = ["client", "add", "--expert", expert_id, "--name", "ci-bot"];
    succeeded(&args, &run(&url, &args));
    (dir, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_copy_moves_a_store_to_postgres_and_back() {
    let Some(pg) = TestDatabase::create().await else {
        return;
    };
    let (dir, source) = provisioned();
    let unused = sqlite_url(&dir.path().join("unused.db"));
    let listed = ["request", "list"];
    let requests = succeeded(&listed, &run(&source, &listed));

    let args = ["store", "copy", "--from", source.as_str(), "--to", pg.url()];
    let report = succeeded(&args, &run(&unused, &args));
    let copied = report["copied"].as_object().unwrap();
    let tables: Vec<&str> = copied.keys().map(String::as_str).collect();
    let mut listed_tables: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    listed_tables.sort_unstable();
    let mut sorted = tables.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, listed_tables, "{report}");
    assert_eq!(copied["experts"], 1, "{report}");
    assert_eq!(copied["client_keys"], 1, "{report}");
    assert_eq!(copied["event_log"], 1, "{report}");
    let counts = pg_counts(pg.url()).await;
    for (table, rows) in copied {
        assert_eq!(
            Some(&rows.as_i64().unwrap()),
            counts.get(table.as_str()),
            "{table}"
        );
    }
    assert!(!dir.path().join("unused.db").exists());

    // Again: the target is no longer empty.
    let stderr = failed(&args, &run(&unused, &args));
    assert!(
        stderr.contains("the target database is not empty") && stderr.contains("experts"),
        "{stderr}"
    );
    assert_eq!(pg_counts(pg.url()).await, counts);

    // Back to a new SQLite file: the same rows, the same answers to the other commands.
    let back_path = dir.path().join("back.db");
    let back = sqlite_url(&back_path);
    let args = ["store", "copy", "--from", pg.url(), "--to", back.as_str()];
    let report_back = succeeded(&args, &run(&unused, &args));
    assert_eq!(report_back, report);
    assert_eq!(
        sqlite_dump(&dir.path().join("source.db")),
        sqlite_dump(&back_path)
    );
    assert_eq!(succeeded(&listed, &run(&back, &listed)), requests);
}

#[test]
fn store_copy_refuses_what_it_cannot_copy() {
    let dir = tempfile::tempdir().unwrap();
    let missing = sqlite_url(&dir.path().join("missing.db"));
    let target = sqlite_url(&dir.path().join("target.db"));
    let args = [
        "store",
        "copy",
        "--from",
        missing.as_str(),
        "--to",
        target.as_str(),
    ];
    let stderr = failed(&args, &run(&target, &args));
    assert!(stderr.contains("no SQLite database at"), "{stderr}");
    assert!(!dir.path().join("missing.db").exists());

    let args = [
        "store",
        "copy",
        "--from",
        "mysql://h/db",
        "--to",
        target.as_str(),
    ];
    let stderr = failed(&args, &run(&target, &args));
    assert!(stderr.contains("unsupported database URL"), "{stderr}");

    let help = std::process::Command::new(super::BIN)
        .args(["restore", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Stop the server first"), "{help}");
}
