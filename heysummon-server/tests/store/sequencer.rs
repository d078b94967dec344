//! PostgreSQL only: the sequencer that gives staged events their log positions. Events an
//! instance staged and never sequenced (it died in between) reach the log and the bus of the
//! instances still running; and a reader paging through the log while two instances write never
//! finds, behind its cursor, a position it did not see.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use heysummon_server::store::{EventScope, Store};
use tokio_postgres::NoTls;

use crate::log::{ids, read_all};
use crate::support::{TestDb, creation, request_of, tenant};

async fn raw_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_staged_by_an_instance_that_died_are_sequenced_by_another() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.postgres_url().unwrap().to_owned();
    let t = tenant(&db.store, "a").await;
    let mut feed = db.store.subscribe(&EventScope::All);
    // What an instance leaves when it dies between its commit and the next sequencer pass.
    let client = raw_client(&url).await;
    client
        .execute(
            "INSERT INTO event_inbox
               (event_type, request_id, client_key_id, expert_id, payload, created_at)
             VALUES ('new_request', 'orphan', $1, $2, '{}', 1000)",
            &[&t.key, &t.expert],
        )
        .await
        .unwrap();
    // The running instance's listener finds it on its next look (at least every second).
    let event = tokio::time::timeout(Duration::from_secs(5), feed.recv())
        .await
        .expect("the staged event was never published")
        .unwrap();
    assert_eq!(event.request_id, "orphan");
    let log = read_all(&db.store, EventScope::All, 100).await;
    assert_eq!(ids(&log), [event.id]);
    let left: i64 = client
        .query_one("SELECT COUNT(*) FROM event_inbox", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_never_finds_a_position_behind_its_cursor_while_two_instances_write() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let other = db.open_another().await;
    let t = tenant(&db.store, "a").await;
    let writer = |store: Store, prefix: &'static str| {
        let t = t.clone();
        tokio::spawn(async move {
            let batches = (0..8).map(|batch| {
                let store = store.clone();
                let t = t.clone();
                async move {
                    for i in 0..15 {
                        let id = format!("{prefix}{batch}-{i}");
                        store
                            .create_request(creation(request_of(&t, &id)))
                            .await
                            .unwrap();
                    }
                }
            });
            futures_util::future::join_all(batches).await;
        })
    };
    let writers = [writer(db.store.clone(), "a"), writer(other, "b")];
    // A reader that pages from its cursor as fast as it can, as a resumed stream would.
    let mut seen = BTreeSet::new();
    let mut cursor = 0;
    let started = Instant::now();
    while !writers.iter().all(tokio::task::JoinHandle::is_finished) {
        let (events, scanned) = db
            .store
            .events_after(cursor, EventScope::All, 1_000)
            .await
            .unwrap();
        seen.extend(ids(&events));
        cursor = scanned.unwrap_or(cursor);
        assert!(started.elapsed() < Duration::from_secs(60), "writers stuck");
    }
    for writer in writers {
        writer.await.unwrap();
    }
    // The writers returned after their events were sequenced: one last page finds the rest.
    let (events, _) = db
        .store
        .events_after(cursor, EventScope::All, 1_000)
        .await
        .unwrap();
    seen.extend(ids(&events));
    let log: BTreeSet<i64> = ids(&read_all(&db.store, EventScope::All, 1_000).await)
        .into_iter()
        .collect();
    assert_eq!(log.len(), 240);
    assert_eq!(seen, log, "the reader skipped positions");
}
