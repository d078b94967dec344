//! SQLite only: the write-ahead log gives its space back when the server is idle and when it
//! shuts down (the load benchmark measures it under sustained writes).

#![allow(clippy::unwrap_used)]

use std::path::Path;

use heysummon_server::testing::TestApp;

fn wal_bytes(db: &Path) -> u64 {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    std::fs::metadata(name).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test]
async fn an_idle_log_is_truncated() {
    let server = TestApp::builder().sqlite_only().spawn().await;
    for n in 0..100 {
        server
            .ask_ok(&server.client_key, &format!("Question {n}"))
            .await;
    }
    assert!(wal_bytes(&server.db_path) > 0, "the writes went to the log");
    // The first checkpoint copies; the next one finds nothing new and truncates.
    server.store.checkpoint().await.unwrap();
    server.store.checkpoint().await.unwrap();
    assert_eq!(wal_bytes(&server.db_path), 0);
    // Nothing was lost.
    assert_eq!(server.request_count().await, 100);
}

#[tokio::test]
async fn shutdown_leaves_no_log_behind() {
    let mut server = TestApp::builder().sqlite_only().spawn().await;
    for n in 0..50 {
        server
            .ask_ok(&server.client_key, &format!("Question {n}"))
            .await;
    }
    server.stop().await;
    assert_eq!(wal_bytes(&server.db_path), 0);
    let server = {
        server.start_again().await;
        server
    };
    assert_eq!(server.request_count().await, 50);
}
