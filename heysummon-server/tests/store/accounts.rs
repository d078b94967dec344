//! Experts, tenants, client keys (rotation with a grace period, revocation) and devices.

use heysummon_server::audit::AuditKind;
use heysummon_server::store::{DeviceRecord, NewClientKey, NewExpert, StoreError};

use crate::support::{TestDb, hash, note, tenant};

pub(crate) async fn experts_and_tenants_read_back(db: TestDb) {
    let store = db.store;
    store.ping().await.unwrap();
    assert!(store.is_empty().await.unwrap());
    let t = tenant(&store, "a").await;
    assert!(!store.is_empty().await.unwrap());
    let expert = store.expert(&t.expert).await.unwrap().unwrap();
    assert_eq!(expert.owner_id, "owner-a");
    assert_eq!(expert.name, "a");
    assert!(expert.is_active);
    assert_eq!(expert.sign_public_key, None);
    assert_eq!(
        store.expert_by_hash(hash("expert key a")).await.unwrap(),
        Some(expert.clone())
    );
    assert_eq!(store.expert_by_hash(hash("nobody")).await.unwrap(), None);
    assert_eq!(store.expert("nobody").await.unwrap(), None);
    let owner = store.owner("owner-a").await.unwrap().unwrap();
    assert_eq!((owner.id.as_str(), owner.name.as_str()), ("owner-a", "a"));
    assert_eq!(store.owner("nobody").await.unwrap(), None);
    store
        .set_expert_keys(
            &t.expert,
            "sign".into(),
            "encrypt".into(),
            "print".into(),
            note(AuditKind::ExpertKeysPublished, &t.expert),
        )
        .await
        .unwrap();
    let keyed = store.expert(&t.expert).await.unwrap().unwrap();
    assert_eq!(keyed.sign_public_key.as_deref(), Some("sign"));
    assert_eq!(keyed.encrypt_public_key.as_deref(), Some("encrypt"));
    assert_eq!(keyed.fingerprint.as_deref(), Some("print"));
    let key = store
        .client_key_by_hash(hash("client key a"), 1_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(key.id, t.key);
    assert_eq!(key.owner_id, "owner-a");
    assert_eq!(key.expert_id, t.expert);
    assert_eq!(key.name.as_deref(), Some("a"));
    assert!(key.is_active);
    assert!(!key.has_devices);
    assert_eq!(key.rate_limit_per_minute, None);
}

pub(crate) async fn a_taken_key_hash_is_a_unique_violation(db: TestDb) {
    let store = db.store;
    tenant(&store, "a").await;
    let error = store
        .insert_expert(
            NewExpert {
                id: "expert-2".into(),
                owner_id: "owner-2".into(),
                name: "two".into(),
                key_hash: hash("expert key a"),
                created_at: 1_000,
            },
            note(AuditKind::KeyCreated, "any"),
        )
        .await
        .unwrap_err();
    assert!(error.is_unique_violation("experts.key_hash"), "{error:?}");
    // The failed creation took its tenant with it.
    assert_eq!(store.owner("owner-2").await.unwrap(), None);
    let error = store
        .insert_client_key(
            NewClientKey {
                id: "key-2".into(),
                expert_id: "expert-a".into(),
                name: None,
                key_hash: hash("client key a"),
                is_active: true,
                device_token_hash: None,
                created_at: 1_000,
            },
            note(AuditKind::KeyCreated, "any"),
        )
        .await
        .unwrap_err();
    assert!(
        error.is_unique_violation("client_keys.key_hash"),
        "{error:?}"
    );
}

pub(crate) async fn a_client_key_for_an_unknown_expert_is_not_found(db: TestDb) {
    let store = db.store;
    let error = store
        .insert_client_key(
            NewClientKey {
                id: "key".into(),
                expert_id: "nobody".into(),
                name: None,
                key_hash: hash("key"),
                is_active: true,
                device_token_hash: Some(hash("device token")),
                created_at: 1_000,
            },
            note(AuditKind::KeyCreated, "any"),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound), "{error:?}");
}

pub(crate) async fn a_rotated_key_keeps_working_until_its_grace_ends(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    let old = hash("client key a");
    let new = hash("rotated");
    assert!(
        store
            .rotate_client_key(&t.key, new, 5_000, note(AuditKind::KeyRotated, &t.key))
            .await
            .unwrap()
    );
    assert!(
        !store
            .rotate_client_key("nobody", new, 5_000, note(AuditKind::KeyRotated, "nobody"))
            .await
            .unwrap()
    );
    for (hash, now, found) in [
        (new, 1_000, true),
        (new, 9_000, true),
        (old, 4_999, true),
        (old, 5_000, false),
    ] {
        let key = store.client_key_by_hash(hash, now).await.unwrap();
        assert_eq!(key.map(|k| k.id), found.then(|| t.key.clone()), "at {now}");
    }
}

pub(crate) async fn a_revoked_key_is_inactive(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    assert!(
        store
            .rotate_client_key(
                &t.key,
                hash("rotated"),
                5_000,
                note(AuditKind::KeyRotated, &t.key)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .revoke_client_key(&t.key, note(AuditKind::KeyRevoked, &t.key))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_client_key("nobody", note(AuditKind::KeyRevoked, "nobody"))
            .await
            .unwrap()
    );
    let key = store
        .client_key_by_hash(hash("rotated"), 1_000)
        .await
        .unwrap()
        .unwrap();
    assert!(!key.is_active);
    // Revocation ends the rotation grace of the previous key, and no longer rotates.
    assert_eq!(
        store
            .client_key_by_hash(hash("client key a"), 1_000)
            .await
            .unwrap(),
        None
    );
    assert!(
        !store
            .rotate_client_key(
                &t.key,
                hash("again"),
                5_000,
                note(AuditKind::KeyRotated, &t.key)
            )
            .await
            .unwrap()
    );
}

pub(crate) async fn devices_enroll_once_and_only_first_when_asked(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    let device = |id: &str, at| DeviceRecord {
        id: id.into(),
        client_key_id: t.key.clone(),
        public_key: format!("spki-{id}"),
        created_at: at,
    };
    assert!(store.devices(&t.key).await.unwrap().is_empty());
    assert!(
        store
            .insert_device(
                device("d1", 1_000),
                true,
                note(AuditKind::DeviceEnrolled, &t.key)
            )
            .await
            .unwrap()
    );
    // Not first any more; the same device again.
    assert!(
        !store
            .insert_device(
                device("d2", 1_100),
                true,
                note(AuditKind::DeviceEnrolled, &t.key)
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_device(
                device("d1", 1_100),
                false,
                note(AuditKind::DeviceEnrolled, &t.key)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_device(
                device("d2", 1_200),
                false,
                note(AuditKind::DeviceEnrolled, &t.key)
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.devices(&t.key).await.unwrap(),
        [device("d1", 1_000), device("d2", 1_200)]
    );
    let key = store
        .client_key_by_hash(hash("client key a"), 1_000)
        .await
        .unwrap()
        .unwrap();
    assert!(key.has_devices);
}
