//! `backup` of the SQLite file of a server that keeps writing, through the real binary, and
//! `restore` of it: into a fresh file (everything acknowledged before the backup began is
//! there), over a database holding data (refused without `--force`), and of files that are
//! not usable backups.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use heysummon_server::store::Store;
use heysummon_server::testing::TestApp;
use tokio::sync::Mutex;

use super::{failed, run, sqlite_dump, sqlite_url, succeeded};

/// Runs the binary on the blocking pool (the server keeps serving meanwhile).
async fn run_async(url: String, args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&url, &args)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_the_server_writes_restores_everything_acknowledged_before() {
    // The agent asks as fast as the server answers: no per-key limit in the way.
    let mut app = TestApp::builder()
        .sqlite_only()
        .config(|c| c.rate_limits.per_key = u32::MAX)
        .spawn()
        .await;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (app_base, key) = (app.base.clone(), app.client_key.clone());
        let (acknowledged, stop) = (Arc::clone(&acknowledged), Arc::clone(&stop));
        let http = reqwest::Client::new();
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = serde_json::json!({
                    "apiKey": key,
                    "signPublicKey": "test-sign-key",
                    "encryptPublicKey": "test-encrypt-key",
                    "question": format!("question {n}"),
                });
                let response = http
                    .post(format!("{app_base}/api/v1/help"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(status, 200, "{body}");
                let id = body["requestId"].as_str().unwrap().to_owned();
                acknowledged.lock().await.push(id);
            }
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while acknowledged.lock().await.len() < 20 {
        assert!(!writer.is_finished(), "the agent stopped asking");
        assert!(tokio::time::Instant::now() < deadline, "too slow");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let backup = app.dir.path().join("backup.db");
    let before: Vec<String> = acknowledged.lock().await.clone();
    let args = vec!["backup".into(), "--to".into(), backup.display().to_string()];
    let out = run_async(app.db_url.clone(), args.clone()).await;
    let summary = succeeded(&["backup"], &out);
    let during = acknowledged.lock().await.len();
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert_eq!(summary["backup"], backup.display().to_string());
    let in_backup = summary["requests"].as_u64().unwrap();
    assert!(
        in_backup >= u64::try_from(before.len()).unwrap(),
        "{summary}"
    );
    // At most one request committed but not yet acknowledged when the backup ended.
    assert!(in_backup <= u64::try_from(during + 1).unwrap(), "{summary}");
    assert!(summary["bytes"].as_u64().unwrap() > 0);
    // One self-contained file: no write-ahead log beside it.
    assert!(!app.dir.path().join("backup.db-wal").exists());

    // The same destination again is refused.
    let stderr = failed(&["backup"], &run_async(app.db_url.clone(), args).await);
    assert!(stderr.contains("already exists"), "{stderr}");

    // Restored into a fresh file: everything acknowledged before the backup began.
    let fresh = app.dir.path().join("fresh.db");
    let from = backup.display().to_string();
    let restore = ["restore", "--from", from.as_str()];
    let restored = succeeded(&restore, &run(&sqlite_url(&fresh), &restore));
    assert_eq!(restored["requests"].as_u64(), Some(in_backup), "{restored}");
    let store = Store::open_sqlite(&fresh).await.unwrap();
    for id in &before {
        assert!(store.request(id).await.unwrap().is_some(), "{id} lost");
    }
    drop(store);

    // Over the live database: refused while it holds data, even more so with the server
    // running; stopped and forced, it becomes the backup.
    let stderr = failed(&restore, &run(&app.db_url, &restore));
    assert!(
        stderr.contains("not empty") && stderr.contains("--force"),
        "{stderr}"
    );
    app.stop().await;
    let total = app.request_count().await;
    assert!(total > before.len());
    let forced = ["restore", "--from", from.as_str(), "--force"];
    succeeded(&forced, &run(&app.db_url, &forced));
    assert_eq!(sqlite_dump(&app.db_path), sqlite_dump(&fresh));
    app.start_again().await;
    assert_eq!(u64::try_from(app.request_count().await).unwrap(), in_backup);
    let id = app.ask_ok(&app.client_key, "After the restore?").await;
    assert!(!before.contains(&id));
}

#[tokio::test]
async fn only_sound_heysummon_backups_are_restored() {
    let dir = tempfile::tempdir().unwrap();
    let target = sqlite_url(&dir.path().join("target.db"));

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5a_u8; 8192]).unwrap();
    let garbage = garbage.display().to_string();
    let args = ["restore", "--from", garbage.as_str()];
    let stderr = failed(&args, &run(&target, &args));
    assert!(stderr.contains("cannot be restored"), "{stderr}");

    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let foreign = foreign.display().to_string();
    let args = ["restore", "--from", foreign.as_str()];
    let stderr = failed(&args, &run(&target, &args));
    assert!(stderr.contains("not a HeySummon database"), "{stderr}");

    // A backup damaged inside: a page of the requests table overwritten.
    let good = dir.path().join("good.db");
    let store = Store::open_sqlite(&good).await.unwrap();
    heysummon_server::provision::add_expert(
        &store,
        &heysummon_server::clock::Clock::system(),
        "Dana",
        None,
    )
    .await
    .unwrap();
    store.final_checkpoint().await.unwrap();
    drop(store);
    let backup = dir.path().join("backup.db");
    let backup_text = backup.display().to_string();
    let args = ["backup", "--to", backup_text.as_str()];
    succeeded(&args, &run(&sqlite_url(&good), &args));
    let mut bytes = std::fs::read(&backup).unwrap();
    let page = 4096;
    let last = bytes.len() / page - 1;
    bytes[last * page..(last + 1) * page].fill(0xa5);
    std::fs::write(&backup, bytes).unwrap();
    let args = ["restore", "--from", backup_text.as_str()];
    let stderr = failed(&args, &run(&target, &args));
    assert!(stderr.contains("cannot be restored"), "{stderr}");
    assert!(
        !dir.path().join("target.db").exists(),
        "nothing was restored"
    );

    // PostgreSQL: pg_dump's job.
    let args = ["backup", "--to", backup_text.as_str()];
    let stderr = failed(&args, &run("postgres://nobody@127.0.0.1:1/none", &args));
    assert!(stderr.contains("pg_dump"), "{stderr}");
}
