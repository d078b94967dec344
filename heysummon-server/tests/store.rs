//! The store on its own: the group-commit writer keeps every write atomic and isolated from
//! the other writes of its batch, and reads see committed data only.

#![allow(clippy::unwrap_used)]

use heysummon_sdk::wire::Status;
use heysummon_server::clock::Clock;
use heysummon_server::provision::{self, ClientOptions};
use heysummon_server::store::{CreateOutcome, NewRequest, RequestRecord, Store, StoreError};

async fn store() -> (tempfile::TempDir, Store, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("store.db"))
        .await
        .unwrap();
    let clock = Clock::manual(1_000);
    let expert = provision::add_expert(&store, &clock, "E", None)
        .await
        .unwrap();
    let client = provision::add_client(
        &store,
        &clock,
        expert.expert_id.as_str(),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    (
        dir,
        store,
        expert.expert_id.into_string(),
        client.key_id.into_string(),
    )
}

fn request(id: &str, ref_code: &str, expert: &str, key: &str) -> RequestRecord {
    RequestRecord {
        id: id.into(),
        ref_code: ref_code.into(),
        client_key_id: key.into(),
        expert_id: expert.into(),
        status: Status::Pending,
        version: 0,
        response_required: true,
        requires_approval: false,
        approval_decision: None,
        sealed: false,
        question: Some(format!("question {id}")),
        messages_json: None,
        content_flags: None,
        consumer_sign_key: None,
        consumer_encrypt_key: None,
        legacy_public_key: None,
        expert_sign_key: None,
        expert_encrypt_key: None,
        created_at: 1_000,
        expires_at: 2_000,
        status_changed_at: 1_000,
        responded_at: None,
        closed_at: None,
        acknowledged_at: None,
        client_timed_out_at: None,
        expert_delivered_at: None,
        consumer_delivered_at: None,
        latest_expert_message_at: None,
        message_count: 0,
        last_expert_event: None,
        last_status_event: None,
        consumer_ack_event: None,
        rating: None,
        rating_feedback: None,
        rated_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_write_rolls_back_alone_within_a_group_commit() {
    let (_dir, store, expert, key) = store().await;
    // 200 concurrent creations; every tenth reuses one reference code, so all but one of
    // those must fail with RefCodeTaken while every other creation in the same batches lands.
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            let record = if i % 10 == 0 {
                request(&format!("dup-{i}"), "HS-SAMECODE", &expert, &key)
            } else {
                request(&format!("r-{i}"), &format!("HS-{i:08}"), &expert, &key)
            };
            tokio::spawn(async move {
                store
                    .create_request(NewRequest {
                        events: vec![heysummon_server::lifecycle::creation_event(&record)],
                        request: record,
                        first_message: None,
                        idempotency: None,
                    })
                    .await
            })
        })
        .collect();
    let mut created = 0;
    let mut taken = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(CreateOutcome::Created) => created += 1,
            Err(e) if e.is_unique_violation(StoreError::REF_CODE_UNIQUE) => taken += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 181);
    assert_eq!(taken, 19);
    for i in (1..200).filter(|i| i % 10 != 0) {
        let stored = store.request(&format!("r-{i}")).await.unwrap().unwrap();
        assert_eq!(
            stored.question.as_deref(),
            Some(format!("question r-{i}").as_str())
        );
    }
    let duplicates = store.request_by_ref("HS-SAMECODE").await.unwrap().unwrap();
    assert!(duplicates.id.starts_with("dup-"));
    // The failed creations left no request rows behind.
    let all = store.all_requests(None).await.unwrap();
    assert_eq!(all.len(), 181);
}
