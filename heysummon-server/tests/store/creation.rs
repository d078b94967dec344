//! Creating requests: the group-commit writer keeps every write atomic and isolated from the
//! other writes of its batch, reads see committed data only, a taken reference code is a
//! unique violation, and an idempotency key replays the first response.

use heysummon_sdk::wire::{Sender, Status};
use heysummon_server::store::{
    CreateOutcome, EventScope, IdempotencyRecord, NewRequest, StoreError,
};

use crate::support::{TestDb, creation, ids_of, message, request, request_of, tenant};

pub(crate) async fn a_failing_write_rolls_back_alone_within_a_group_commit(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "e").await;
    let (expert, key) = (t.expert, t.key);
    // 200 concurrent creations; every tenth reuses one reference code, so all but one of
    // those must fail with the ref-code unique violation while every other creation in the
    // same batches lands.
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            let record = if i % 10 == 0 {
                request(&format!("dup-{i}"), "HS-SAMECODE", &expert, &key)
            } else {
                request(&format!("r-{i}"), &format!("HS-{i:08}"), &expert, &key)
            };
            tokio::spawn(async move { store.create_request(creation(record)).await })
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
    // Nor events: one `new_request` per created request.
    let (events, _) = store.events_after(0, EventScope::All, 1_000).await.unwrap();
    assert_eq!(events.len(), 181);
}

pub(crate) async fn a_created_request_reads_back_by_id_ref_and_listing(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    let other = tenant(&store, "b").await;
    let record = request_of(&t, "one");
    assert_eq!(
        store
            .create_request(creation(record.clone()))
            .await
            .unwrap(),
        CreateOutcome::Created
    );
    let stored = store.request("one").await.unwrap().unwrap();
    assert_eq!(stored, record);
    assert_eq!(stored.status, Status::Pending);
    assert_eq!(stored.version, 0);
    assert_eq!(store.request_by_ref("HS-one").await.unwrap(), Some(record));
    assert_eq!(store.request("missing").await.unwrap(), None);
    assert_eq!(store.request_by_ref("HS-missing").await.unwrap(), None);

    let mut later = request_of(&other, "two");
    later.created_at = 1_001;
    store.create_request(creation(later)).await.unwrap();
    // Newest first; by expert; by status.
    assert_eq!(
        ids_of(store.all_requests(None).await.unwrap()),
        ["two", "one"]
    );
    assert_eq!(
        ids_of(store.requests_for_expert(&t.expert, None).await.unwrap()),
        ["one"]
    );
    assert_eq!(
        ids_of(
            store
                .requests_for_expert(&t.expert, Some("pending".into()))
                .await
                .unwrap()
        ),
        ["one"]
    );
    assert!(
        store
            .all_requests(Some("closed".into()))
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn a_taken_ref_code_is_the_unique_violation_of_its_constraint(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    store
        .create_request(creation(request("first", "HS-TAKEN", &t.expert, &t.key)))
        .await
        .unwrap();
    let error = store
        .create_request(creation(request("second", "HS-TAKEN", &t.expert, &t.key)))
        .await
        .unwrap_err();
    match &error {
        StoreError::UniqueViolation { constraint } => {
            assert_eq!(constraint, "requests.ref_code");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(error.is_unique_violation(StoreError::REF_CODE_UNIQUE));
    // The same id is a violation of another constraint, not a taken reference code.
    let error = store
        .create_request(creation(request("first", "HS-FREE", &t.expert, &t.key)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::UniqueViolation { .. }),
        "{error:?}"
    );
    assert!(!error.is_unique_violation(StoreError::REF_CODE_UNIQUE));
    assert_eq!(store.request("second").await.unwrap(), None);
}

pub(crate) async fn an_idempotency_key_replays_the_first_response(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    let other = tenant(&store, "b").await;
    let with_key = |id: &str, tenant: &crate::support::Tenant, response: &str| NewRequest {
        idempotency: Some(IdempotencyRecord {
            client_key_id: tenant.key.clone(),
            key: "idem-1".into(),
            response_json: response.into(),
        }),
        ..creation(request_of(tenant, id))
    };
    assert_eq!(
        store
            .create_request(with_key("one", &t, "{\"first\":true}"))
            .await
            .unwrap(),
        CreateOutcome::Created
    );
    assert_eq!(
        store
            .create_request(with_key("two", &t, "{\"second\":true}"))
            .await
            .unwrap(),
        CreateOutcome::Replayed("{\"first\":true}".into())
    );
    assert_eq!(store.request("two").await.unwrap(), None);
    assert_eq!(
        store
            .idempotent_response(&t.key, "idem-1")
            .await
            .unwrap()
            .as_deref(),
        Some("{\"first\":true}")
    );
    assert_eq!(
        store.idempotent_response(&t.key, "idem-2").await.unwrap(),
        None
    );
    // Keys are per client key.
    assert_eq!(
        store
            .create_request(with_key("three", &other, "{}"))
            .await
            .unwrap(),
        CreateOutcome::Created
    );
    // A replay appends no event.
    let (events, _) = store.events_after(0, EventScope::All, 100).await.unwrap();
    assert_eq!(events.len(), 2);
}

pub(crate) async fn a_sealed_question_is_the_first_message(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    let mut record = request_of(&t, "sealed");
    record.sealed = true;
    record.question = None;
    let first = message(&record, Sender::Consumer, "m-1");
    store
        .create_request(NewRequest {
            first_message: Some(first.clone()),
            ..creation(record)
        })
        .await
        .unwrap();
    assert_eq!(store.messages("sealed").await.unwrap(), [first]);
    assert!(store.messages("missing").await.unwrap().is_empty());
}
