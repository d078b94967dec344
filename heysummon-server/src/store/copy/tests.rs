//! The table list against SQLite's migrated schema, and SQLite-to-SQLite copies (the
//! PostgreSQL side is tested in `tests/store_copy.rs`, with a server to copy to).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::Connection;

use super::*;
use crate::clock::Clock;
use crate::store::{EventScope, NewEvent, NewRequest, RequestRecord};

fn url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// `(name, declared type, primary-key position)` of a table's columns.
fn sqlite_columns(conn: &Connection, table: &str) -> Vec<(String, String, i64)> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT name, type, pk FROM pragma_table_info('{table}')"
        ))
        .unwrap();
    statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test]
async fn the_table_list_is_the_sqlite_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.db");
    drop(Store::open_sqlite(&path).await.unwrap());
    let conn = Connection::open(&path).unwrap();
    let mut statement = conn
        .prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
        )
        .unwrap();
    let schema: Vec<(String, String)> = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let names: Vec<&str> = schema.iter().map(|(name, _)| name.as_str()).collect();
    let listed: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    assert_eq!(listed, names, "TABLES must list every table of the schema");
    for (table, (_, sql)) in TABLES.iter().zip(&schema) {
        let columns = sqlite_columns(&conn, table.name);
        let expected: Vec<(String, String)> = table
            .columns
            .iter()
            .map(|c| (c.name.to_owned(), c.kind.sqlite_type().to_owned()))
            .collect();
        let found: Vec<(String, String)> = columns
            .iter()
            .map(|(n, t, _)| (n.clone(), t.clone()))
            .collect();
        assert_eq!(expected, found, "the columns of {}", table.name);
        let mut key: Vec<(i64, &str)> = columns
            .iter()
            .filter(|(_, _, pk)| *pk > 0)
            .map(|(n, _, pk)| (*pk, n.as_str()))
            .collect();
        key.sort_unstable();
        let key: Vec<&str> = key.into_iter().map(|(_, n)| n).collect();
        assert_eq!(
            table.key,
            key.as_slice(),
            "the primary key of {}",
            table.name
        );
        let numbered = sql.contains("AUTOINCREMENT");
        assert_eq!(
            table.counter.is_some(),
            numbered,
            "the counter of {}",
            table.name
        );
        if let Some(counter) = table.counter {
            assert_eq!(
                table.key,
                [counter],
                "{} is numbered by its key",
                table.name
            );
        }
        assert_eq!(
            table.singleton,
            sql.contains("CHECK (singleton = 1)"),
            "{} is a one-row table",
            table.name
        );
    }
    // Parents before children.
    for (position, table) in TABLES.iter().enumerate() {
        let mut statement = conn
            .prepare(&format!(
                "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list('{}')",
                table.name
            ))
            .unwrap();
        let parents: Vec<String> = statement
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for parent in parents {
            let at = listed.iter().position(|name| *name == parent).unwrap();
            assert!(at < position, "{parent} must come before {}", table.name);
        }
    }
}

/// Every row of every listed table, and the counters, as SQLite holds them.
fn dump(path: &Path) -> BTreeMap<String, Vec<Vec<rusqlite::types::Value>>> {
    let conn = Connection::open(path).unwrap();
    let mut dump = BTreeMap::new();
    for table in TABLES.iter().map(|t| (t.name, t.select())).chain([(
        "sqlite_sequence",
        "SELECT * FROM sqlite_sequence ORDER BY name".into(),
    )]) {
        let mut statement = conn.prepare(&table.1).unwrap();
        let width = statement.column_count();
        let rows = statement
            .query_map([], |r| (0..width).map(|i| r.get(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        dump.insert(table.0.to_owned(), rows);
    }
    dump
}

/// A store with a tenant, three requests whose events were then all pruned (the event
/// counter is ahead of every stored id), and a fourth request after that.
async fn populated(path: &Path) -> Store {
    let store = Store::open_sqlite(path).await.unwrap();
    let clock = Clock::manual(1_000);
    let (expert, client) = crate::provision::add_tenant(&store, &clock, "Dana", Some("bot".into()))
        .await
        .unwrap();
    for (n, at) in [(1, 1_000), (2, 1_001), (3, 1_002), (4, 5_000)] {
        if at == 5_000 {
            assert_eq!(store.prune_events(2_000).await.unwrap(), 3);
        }
        let request = RequestRecord::new(
            format!("req-{n}"),
            format!("HS-000{n}"),
            client.key_id.as_str().to_owned(),
            expert.expert_id.as_str().to_owned(),
            at,
            at + 60_000,
        );
        let events = vec![NewEvent {
            event_type: "new_request",
            request_id: request.id.clone(),
            client_key_id: request.client_key_id.clone(),
            expert_id: request.expert_id.clone(),
            payload: "{}".into(),
            created_at: at,
        }];
        store
            .create_request(NewRequest {
                request,
                first_message: None,
                idempotency: None,
                events,
            })
            .await
            .unwrap();
    }
    store
}

#[tokio::test]
async fn sqlite_to_sqlite_keeps_every_row_the_pruned_mark_and_the_counters() {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (dir.path().join("from.db"), dir.path().join("to.db"));
    let source = populated(&from).await;
    source.final_checkpoint().await.unwrap();
    let copied = copy(&url(&from), &url(&to)).await.unwrap();
    let count = |name: &str| copied.tables.iter().find(|(t, _)| *t == name).unwrap().1;
    assert_eq!(copied.tables.len(), TABLES.len());
    assert_eq!(
        (count("experts"), count("requests"), count("events")),
        (1, 4, 1)
    );
    assert_eq!(count("event_log"), 1);
    assert_eq!(dump(&from), dump(&to));

    let target = Store::open_sqlite(&to).await.unwrap();
    assert_eq!(target.pruned_through().await.unwrap(), 3);
    let (events, _) = target.events_after(0, EventScope::All, 10).await.unwrap();
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids, [4]);
}

#[tokio::test]
async fn a_target_with_data_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (dir.path().join("from.db"), dir.path().join("to.db"));
    drop(populated(&from).await);
    let target = Store::open_sqlite(&to).await.unwrap();
    let clock = Clock::manual(7);
    crate::provision::add_expert(&target, &clock, "Already here", None)
        .await
        .unwrap();
    let before = dump(&to);
    let refused = copy(&url(&from), &url(&to)).await.unwrap_err();
    assert!(
        matches!(
            &refused,
            CopyError::NotEmpty { tables } if tables == &["owners", "experts", "audit_log"]
        ),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("not empty"), "{refused}");
    assert_eq!(dump(&to), before);

    let same = copy(&url(&from), &format!("sqlite:{}", from.display())).await;
    assert!(matches!(same, Err(CopyError::SameDatabase)), "{same:?}");
    let missing = copy(&url(&dir.path().join("nope.db")), &url(&to)).await;
    assert!(
        matches!(missing, Err(CopyError::NoSource(_))),
        "{missing:?}"
    );
    assert!(!dir.path().join("nope.db").exists());
}
