//! Request nonces and idempotency records.

use heysummon_server::store::IdempotencyRecord;

use crate::support::{TestDb, creation, request_of, tenant};

pub(crate) async fn a_nonce_is_refused_when_replayed_and_replaced_once_expired(db: TestDb) {
    let store = db.store;
    assert!(store.record_nonce("d1", "n1", 2_000, 1_000).await.unwrap());
    assert!(!store.record_nonce("d1", "n1", 2_500, 1_500).await.unwrap());
    // Per device.
    assert!(store.record_nonce("d2", "n1", 2_000, 1_000).await.unwrap());
    // Expired (not yet pruned): recorded anew, until its new expiry.
    assert!(store.record_nonce("d1", "n1", 4_000, 2_000).await.unwrap());
    assert!(!store.record_nonce("d1", "n1", 4_000, 3_000).await.unwrap());
    // Pruning drops the expired ones only.
    store.prune(3_000, 0).await.unwrap();
    assert!(!store.record_nonce("d1", "n1", 5_000, 3_000).await.unwrap());
    assert!(store.record_nonce("d2", "n1", 5_000, 1_000).await.unwrap());
}

pub(crate) async fn old_idempotency_records_are_pruned(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    for (id, at) in [("old", 1_000), ("new", 3_000)] {
        let mut new = creation(request_of(&t, id));
        new.request.created_at = at;
        new.idempotency = Some(IdempotencyRecord {
            client_key_id: t.key.clone(),
            key: format!("idem-{id}"),
            response_json: format!("\"{id}\""),
        });
        store.create_request(new).await.unwrap();
    }
    store.prune(0, 2_000).await.unwrap();
    assert_eq!(
        store.idempotent_response(&t.key, "idem-old").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .idempotent_response(&t.key, "idem-new")
            .await
            .unwrap()
            .as_deref(),
        Some("\"new\"")
    );
}
