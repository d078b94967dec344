//! SQLite → PostgreSQL → SQLite: every row of every table comes back as it was, the
//! PostgreSQL copy serves (the old keys work, new requests get fresh ids), and a target
//! holding data is refused and left alone.

use std::net::SocketAddr;

use heysummon_server::Application;
use heysummon_server::config::Config;
use heysummon_server::store::copy::{CopyError, copy};
use heysummon_server::store::{EventScope, Store};
use heysummon_server::testing::postgres::{TestDatabase, any_row_contains};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::populate::{SECRET, populated};
use super::{pg_client, pg_counts, sqlite_dump, sqlite_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_to_postgres_and_back_keeps_every_row() {
    let Some(pg) = TestDatabase::create().await else {
        return;
    };
    let source = populated().await;
    let app = &source.app;
    let there = copy(&app.db_url, pg.url()).await.unwrap();
    let back_path = app.dir.path().join("back.db");
    let back = copy(pg.url(), &sqlite_url(&back_path)).await.unwrap();
    assert_eq!(there, back, "the same rows each way");

    // Every table, the counters of numbered columns included, as it was.
    let (before, after) = (sqlite_dump(&app.db_path), sqlite_dump(&back_path));
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (table, rows) in &before {
        assert_eq!(rows, &after[table], "table {table}");
    }
    for (table, rows) in &there.tables {
        let expected = u64::try_from(before[*table].len()).unwrap();
        assert_eq!(*rows, expected, "rows of {table} copied");
    }
    // Sealed content stayed ciphertext, keys stayed hashes.
    assert!(!any_row_contains(pg.url(), SECRET.as_bytes()).await);
    assert!(!any_row_contains(pg.url(), app.client_key.as_bytes()).await);
    assert!(!any_row_contains(pg.url(), source.bob.expert_key.as_bytes()).await);

    // The stores read the same records.
    let sqlite = Store::open(&app.db_url).await.unwrap();
    let postgres = Store::open(pg.url()).await.unwrap();
    for id in &source.requests {
        let record = sqlite.request(id).await.unwrap().unwrap();
        assert_eq!(postgres.request(id).await.unwrap(), Some(record));
        let messages = sqlite.messages(id).await.unwrap();
        assert!(!messages.is_empty());
        assert_eq!(postgres.messages(id).await.unwrap(), messages);
    }
    assert_eq!(
        postgres.pruned_through().await.unwrap(),
        sqlite.pruned_through().await.unwrap()
    );
    let (old_events, _) = postgres
        .events_after(0, EventScope::All, 10_000)
        .await
        .unwrap();
    let last_old_event = old_events.last().unwrap().id;
    let old_message_counter = counter(&back_path, "messages");
    drop((sqlite, postgres));

    serves_after_the_copy(&source, pg.url(), last_old_event, old_message_counter).await;
}

/// The counter of an `AUTOINCREMENT` table in an SQLite file.
fn counter(path: &std::path::Path, table: &str) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap()
}

/// A server on the PostgreSQL copy: the copied keys work, an old request reads as before, a
/// new one is created and answered with ids after every copied one.
async fn serves_after_the_copy(
    source: &super::populate::Populated,
    url: &str,
    last_old_event: i64,
    old_message_counter: i64,
) {
    let app = &source.app;
    // The move's other half: the servers on PostgreSQL sign with the SQLite store's key.
    let audit_key = heysummon_server::audit::default_key_path(&app.db_path);
    let config = Config {
        database_url: url.to_owned(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        audit_key_file: Some(audit_key.clone()),
        ..Config::default()
    };
    let server = Application::build(config).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let stop = server.stop_token();
    let serving = tokio::spawn(server.run_until_stopped());
    let http = reqwest::Client::new();

    let old = &source.requests[0];
    let status: Value = http
        .get(format!("{base}/api/v1/help/{old}"))
        .header("x-api-key", &app.client_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "responded", "{status}");

    let created = http
        .post(format!("{base}/api/v1/help"))
        .json(&json!({
            "apiKey": app.client_key,
            "signPublicKey": "test-sign-key",
            "encryptPublicKey": "test-encrypt-key",
            "question": "Still there after the move?",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    let created: Value = created.json().await.unwrap();
    let id = created["requestId"].as_str().unwrap().to_owned();
    let answered = http
        .post(format!("{base}/api/v1/message/{id}"))
        .header("x-api-key", &app.expert_key)
        .json(&json!({"from": "expert", "plaintext": "Yes."}))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    stop.cancel();
    serving.await.unwrap().unwrap();

    let store = Store::open(url)
        .await
        .unwrap()
        .with_audit_key_file(audit_key);
    // The copied audit log verifies with that key, entry for entry.
    let key = store.audit_public_key().await.unwrap();
    let summary = heysummon_server::cli::verify_log(&store, key)
        .await
        .unwrap();
    assert!(summary.entries >= 2, "{summary:?}");
    let (events, _) = store
        .events_after(0, EventScope::All, 10_000)
        .await
        .unwrap();
    let new: Vec<i64> = events
        .iter()
        .filter(|e| e.request_id == id)
        .map(|e| e.id)
        .collect();
    assert!(new.len() >= 2, "{new:?}");
    assert!(
        new.iter().all(|e| *e > last_old_event),
        "{new:?} after {last_old_event}"
    );
    let client = pg_client(url).await;
    let seq: i64 = client
        .query_one("SELECT seq FROM messages WHERE request_id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert!(
        seq > old_message_counter,
        "message {seq} after {old_message_counter}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_target_with_data_is_refused_and_left_alone() {
    let Some(pg) = TestDatabase::create().await else {
        return;
    };
    let source = populated().await;
    copy(&source.app.db_url, pg.url()).await.unwrap();
    let before = pg_counts(pg.url()).await;
    let refused = copy(&source.app.db_url, pg.url()).await.unwrap_err();
    let CopyError::NotEmpty { tables } = &refused else {
        panic!("{refused:?}");
    };
    assert!(
        tables.contains(&"experts") && tables.contains(&"requests"),
        "{tables:?}"
    );
    assert!(tables.contains(&"events"), "{tables:?}");
    assert!(refused.to_string().contains("not empty"), "{refused}");
    assert_eq!(pg_counts(pg.url()).await, before);

    // The other way: an SQLite target with one expert.
    let target = source.app.dir.path().join("busy.db");
    let store = Store::open_sqlite(&target).await.unwrap();
    let clock = heysummon_server::clock::Clock::system();
    heysummon_server::provision::add_expert(&store, &clock, "Eve", None)
        .await
        .unwrap();
    drop(store);
    let refused = copy(pg.url(), &sqlite_url(&target)).await.unwrap_err();
    assert!(
        matches!(
            &refused,
            CopyError::NotEmpty { tables } if tables == &["owners", "experts", "audit_log"]
        ),
        "{refused:?}"
    );
}
