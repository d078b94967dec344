//! The audit log on every backend: appends from several stores on one database (several
//! processes, or instances on PostgreSQL) form one linear chain; an entry is appended only
//! with the change it records; an edited row is found.

use heysummon_server::audit::{AuditKind, ChainSummary, Verifier};
use heysummon_server::store::Store;

use crate::support::{TestDb, hash, note, tenant};

async fn verify(store: &Store) -> Result<ChainSummary, String> {
    let key = store.audit_public_key().await.unwrap();
    let mut verifier = Verifier::new(key);
    for entry in store.audit_entries_after(0, 10_000).await.unwrap() {
        verifier.check(&entry).map_err(|e| e.to_string())?;
    }
    Ok(verifier.summary().clone())
}

pub(crate) async fn appends_from_two_stores_form_one_linear_chain(db: TestDb) {
    let other = db.open_another().await;
    let store = db.store.clone();
    let t = tenant(&store, "a").await;
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..40u8 {
        let (store, key) = (
            if i % 2 == 0 { &store } else { &other }.clone(),
            t.key.clone(),
        );
        writes.spawn(async move {
            let rotated = note(AuditKind::KeyRotated, &key);
            assert!(
                store
                    .rotate_client_key(&key, hash(&format!("k{i}")), 5_000, rotated)
                    .await
                    .unwrap()
            );
        });
    }
    while let Some(done) = writes.join_next().await {
        done.unwrap();
    }
    // 2 creations, 40 rotations, numbered 1–42 without a gap or a fork.
    let summary = verify(&store).await.unwrap();
    assert_eq!((summary.entries, summary.head_seq), (42, 42));
    assert_eq!(store.audit_entries_about(&t.key).await.unwrap().len(), 41);
}

pub(crate) async fn only_a_change_that_happened_is_recorded(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    let nobody = |kind| note(kind, "nobody");
    assert!(
        !store
            .revoke_client_key("nobody", nobody(AuditKind::KeyRevoked))
            .await
            .unwrap()
    );
    let rotated = nobody(AuditKind::KeyRotated);
    assert!(
        !store
            .rotate_client_key("nobody", hash("x"), 5_000, rotated)
            .await
            .unwrap()
    );
    // A creation that fails (its key is taken) leaves no entry either.
    let again = heysummon_server::store::NewClientKey {
        id: "key-2".into(),
        expert_id: t.expert.clone(),
        name: None,
        key_hash: hash("client key a"),
        is_active: true,
        device_token_hash: None,
        created_at: 1_000,
    };
    let created = note(AuditKind::KeyCreated, "key-2");
    assert!(store.insert_client_key(again, created).await.is_err());
    assert_eq!(verify(&store).await.unwrap().entries, 2);
}

pub(crate) async fn an_edited_row_breaks_the_chain(db: TestDb) {
    let store = db.store.clone();
    let t = tenant(&store, "a").await;
    let revoked = note(AuditKind::KeyRevoked, &t.key);
    assert!(store.revoke_client_key(&t.key, revoked).await.unwrap());
    assert!(verify(&store).await.is_ok());
    // The table's triggers refuse edits; someone editing by hand drops them first.
    for refused in [
        "UPDATE audit_log SET actor = 'admin' WHERE seq = 3",
        "DELETE FROM audit_log WHERE seq = 3",
    ] {
        let error = db.execute(refused).await.unwrap_err();
        assert!(error.contains("append-only"), "{error}");
    }
    let drop_triggers = if db.postgres_url().is_some() {
        "DROP TRIGGER audit_log_append_only ON audit_log;"
    } else {
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
    };
    db.execute(drop_triggers).await.unwrap();
    db.execute("UPDATE audit_log SET actor = 'expert:expert-a' WHERE seq = 3")
        .await
        .unwrap();
    assert_eq!(
        verify(&store).await.unwrap_err(),
        "audit log broken at entry 3: its contents do not match its hash (it was changed)"
    );
}
