//! `heysummon-server audit verify` (the real binary) on an SQLite file edited underneath the
//! server: a changed detail, a removed entry, two entries swapped, an entry rewritten with a
//! matching hash, another key. Each finds the first broken entry and fails; the untouched log
//! passes.

use std::path::{Path, PathBuf};
use std::process::Output;

use heysummon_server::audit::{AuditKey, default_key_path};
use heysummon_server::clock::Clock;
use heysummon_server::testing::TestApp;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::START_MS;

/// A stopped server's SQLite file with entries 1–2 (the tenant's keys), 3 (a decision) and
/// 4–6 (three closes); and its directory.
async fn audited_database() -> (TestApp, PathBuf) {
    let mut app = TestApp::builder()
        .clock(Clock::manual(START_MS))
        .sqlite_only()
        .spawn()
        .await;
    let approval = crate::ask_approval(&app).await;
    let approve = format!("/api/v1/approve/{approval}");
    let (status, _) = app
        .post(&approve, &app.expert_key, json!({"decision": "approved"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    for question in ["one", "two", "three"] {
        let id = app.ask_ok(&app.client_key, question).await;
        let close = format!("/api/v1/close/{id}");
        let (status, _) = app.post(&close, &app.client_key, json!({})).await;
        assert_eq!(status, StatusCode::OK);
    }
    crate::assert_intact(&app).await;
    app.stop().await;
    let path = app.db_path.clone();
    (app, path)
}

/// A copy of the database (and its key file beside it) to edit.
fn copy_of(database: &Path, name: &str) -> PathBuf {
    let copy = database.with_file_name(format!("{name}.db"));
    std::fs::copy(database, &copy).unwrap();
    std::fs::copy(default_key_path(database), default_key_path(&copy)).unwrap();
    copy
}

/// Runs `sql` on the file as someone editing it by hand would: first out of the way with the
/// triggers that keep the table append-only.
fn edit(database: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(database).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_log_no_update;
         DROP TRIGGER audit_log_no_delete;",
    )
    .unwrap();
    conn.execute_batch(sql).unwrap();
}

/// Runs `heysummon-server audit verify` on a database, with extra arguments.
fn verify(database: &Path, extra: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_heysummon-server"))
        .args([
            "--database-url",
            &format!("sqlite://{}", database.display()),
        ])
        .args(["audit", "verify"])
        .args(extra)
        .output()
        .unwrap()
}

/// Asserts that verification fails with exactly `message` on stderr.
fn assert_broken(database: &Path, message: &str) {
    let output = verify(database, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "verified: {stderr}");
    assert_eq!(stderr.trim(), format!("error: {message}"));
}

#[tokio::test]
async fn verify_passes_an_untouched_log_and_fails_at_the_first_edited_entry() {
    let (_app, database) = audited_database().await;

    // The database itself refuses edits while its triggers are there.
    let conn = rusqlite::Connection::open(&database).unwrap();
    for refused in [
        "UPDATE audit_log SET details = '{}' WHERE seq = 3",
        "DELETE FROM audit_log WHERE seq = 4",
    ] {
        let error = conn.execute_batch(refused).unwrap_err();
        assert!(error.to_string().contains("append-only"), "{error}");
    }
    drop(conn);

    let intact = verify(&database, &[]);
    let stdout = String::from_utf8_lossy(&intact.stdout);
    assert!(intact.status.success(), "{intact:?}");
    assert!(
        stdout.starts_with("audit log intact: 6 entries, head 6:"),
        "{stdout}"
    );

    let changed = copy_of(&database, "changed");
    edit(
        &changed,
        r#"UPDATE audit_log SET details = '{"decision":"denied"}' WHERE seq = 3"#,
    );
    assert_broken(
        &changed,
        "audit log broken at entry 3: its contents do not match its hash (it was changed)",
    );

    let removed = copy_of(&database, "removed");
    edit(&removed, "DELETE FROM audit_log WHERE seq = 4");
    assert_broken(
        &removed,
        "audit log broken at entry 4: missing, the next entry present is 5 (an entry was removed)",
    );

    let swapped = copy_of(&database, "swapped");
    edit(
        &swapped,
        "UPDATE audit_log SET seq = -4 WHERE seq = 4;
         UPDATE audit_log SET seq = 4 WHERE seq = 5;
         UPDATE audit_log SET seq = 5 WHERE seq = -4;",
    );
    assert_broken(
        &swapped,
        "audit log broken at entry 4: its previous-entry hash does not match the entry before \
         it (an entry was removed, replaced or reordered)",
    );
}

#[tokio::test]
async fn a_rewritten_entry_or_another_key_fails_the_signature_check() {
    let (app, database) = audited_database().await;

    // The entry changed and its hash recomputed: only the signature gives it away.
    let rehashed = copy_of(&database, "rehashed");
    let store = heysummon_server::store::Store::open_sqlite(&rehashed)
        .await
        .unwrap();
    let mut entry = store.audit_entries_after(2, 1).await.unwrap().remove(0);
    drop(store);
    entry.details = r#"{"decision":"denied"}"#.to_owned();
    let hash = entry.computed_hash();
    edit(
        &rehashed,
        &format!(
            "UPDATE audit_log SET details = '{}', hash = '{hash}' WHERE seq = 3",
            entry.details
        ),
    );
    assert_broken(
        &rehashed,
        "audit log broken at entry 3: its signature does not verify (its hash was rewritten)",
    );

    // The right public key given on the command line passes; another key is refused.
    let key = AuditKey::load(&default_key_path(&database)).unwrap();
    let public = key.public().to_hex();
    assert!(
        verify(&database, &["--public-key", &public])
            .status
            .success()
    );
    let other = AuditKey::generate().public().to_hex();
    let refused = verify(&database, &["--public-key", &other]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.starts_with("error: audit log broken at entry 1: signed by key "),
        "{stderr}"
    );
    drop(app);
}

#[tokio::test]
async fn export_writes_every_entry_as_a_json_line() {
    let (_app, database) = audited_database().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_heysummon-server"))
        .args([
            "--database-url",
            &format!("sqlite://{}", database.display()),
        ])
        .args(["audit", "export", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0]["seq"], 1);
    assert_eq!(lines[0]["prevHash"], "0".repeat(64));
    assert_eq!(lines[1]["prevHash"], lines[0]["hash"]);
    assert_eq!(lines[2]["kind"], "decision");
    assert_eq!(
        lines[2]["details"],
        r#"{"decision":"approved","signed":false}"#
    );
    for line in &lines {
        for member in ["createdAt", "actor", "subject", "keyId", "signature"] {
            assert!(line.get(member).is_some(), "{line}");
        }
    }
}

#[tokio::test]
async fn an_expected_head_finds_entries_cut_from_the_end() {
    let (_app, database) = audited_database().await;
    let intact = verify(&database, &["--json"]);
    assert!(intact.status.success(), "{intact:?}");
    let printed: serde_json::Value = serde_json::from_slice(&intact.stdout).unwrap();
    let head = format!(
        "{}:{}",
        printed["headSeq"],
        printed["headHash"].as_str().unwrap()
    );
    assert!(verify(&database, &["--expect", &head]).status.success());

    let cut = copy_of(&database, "cut");
    edit(&cut, "DELETE FROM audit_log WHERE seq >= 5");
    // The shorter chain is intact on its own; only the recorded head shows the cut.
    assert!(verify(&cut, &[]).status.success());
    let output = verify(&cut, &["--expect", &head]);
    assert!(!output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "error: audit log broken at entry 6: missing, the log ends at entry 4 \
         (entries were cut from the end)"
    );
}

#[tokio::test]
async fn verify_reads_the_log_of_the_servers_own_backend() {
    // SQLite or PostgreSQL, as the suite runs; the key file the server was configured with.
    let mut app = crate::common::spawn().await;
    let id = app.ask_ok(&app.client_key, "Closing").await;
    let close = format!("/api/v1/close/{id}");
    let (status, _) = app.post(&close, &app.client_key, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
    let key_file = app
        .state
        .config
        .audit_key_file
        .clone()
        .unwrap_or_else(|| default_key_path(&app.db_path));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_heysummon-server"))
        .args([
            "--database-url",
            &app.db_url,
            "audit",
            "verify",
            "--key-file",
        ])
        .arg(&key_file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout.starts_with("audit log intact: 3 entries, head 3:"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_server_refuses_to_sign_a_log_it_did_not_sign_before() {
    let (_app, database) = audited_database().await;
    let moved = database.with_file_name("moved.db");
    std::fs::copy(&database, &moved).unwrap();
    // The database moved without its key file: a new key would break the chain.
    let config = heysummon_server::config::Config {
        database_url: format!("sqlite://{}", moved.display()),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    let refused = heysummon_server::Application::build(config.clone())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("set audit_key_file"),
        "{refused}"
    );
    // With the log's key (copied over the one that first start created) it starts.
    std::fs::copy(default_key_path(&database), default_key_path(&moved)).unwrap();
    assert!(heysummon_server::Application::build(config).await.is_ok());
}
