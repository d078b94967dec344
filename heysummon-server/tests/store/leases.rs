//! Coordination between instances: a lease is held by one holder at a time until it lapses or
//! is given up; a shared rate-limit window counts every instance's hits (PostgreSQL) or is left
//! to the single instance's memory (SQLite).

use crate::support::TestDb;

pub(crate) async fn a_lease_has_one_holder_until_it_lapses_or_is_given_up(db: TestDb) {
    let store = db.store.clone();
    let other = db.open_another().await;
    assert!(
        store
            .take_lease("sweeper", "a", 2_000, 1_000)
            .await
            .unwrap()
    );
    // Another holder waits while it runs, through either store.
    assert!(
        !other
            .take_lease("sweeper", "b", 2_500, 1_500)
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_lease("sweeper", "b", 2_500, 1_500)
            .await
            .unwrap()
    );
    // Its holder renews it.
    assert!(
        store
            .take_lease("sweeper", "a", 3_000, 1_900)
            .await
            .unwrap()
    );
    assert!(
        !other
            .take_lease("sweeper", "b", 4_000, 2_500)
            .await
            .unwrap()
    );
    // Lapsed: taken over.
    assert!(
        other
            .take_lease("sweeper", "b", 5_000, 3_001)
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_lease("sweeper", "a", 6_000, 3_500)
            .await
            .unwrap()
    );
    // Given up: taken at once; giving up what one does not hold changes nothing.
    store.release_lease("sweeper", "a").await.unwrap();
    assert!(
        !store
            .take_lease("sweeper", "a", 6_000, 3_600)
            .await
            .unwrap()
    );
    other.release_lease("sweeper", "b").await.unwrap();
    assert!(
        store
            .take_lease("sweeper", "a", 6_000, 3_700)
            .await
            .unwrap()
    );
    // Leases are independent of each other.
    assert!(
        other
            .take_lease("channel:x", "b", 6_000, 3_700)
            .await
            .unwrap()
    );
}

pub(crate) async fn shared_rate_windows_count_every_instance(db: TestDb) {
    let store = db.store.clone();
    let other = db.open_another().await;
    let first = store.count_shared_hit("key:k1", 60_000).await.unwrap();
    let Some(first) = first else {
        // A single instance (SQLite) counts in memory.
        assert!(
            other
                .count_shared_hit("key:k1", 60_000)
                .await
                .unwrap()
                .is_none()
        );
        return;
    };
    assert_eq!(first, 1);
    assert_eq!(
        other.count_shared_hit("key:k1", 60_000).await.unwrap(),
        Some(2)
    );
    assert_eq!(
        store.count_shared_hit("key:k1", 60_000).await.unwrap(),
        Some(3)
    );
    // Another key, another window: counted apart.
    assert_eq!(
        store.count_shared_hit("key:k2", 60_000).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        store.count_shared_hit("key:k1", 120_000).await.unwrap(),
        Some(1)
    );
    // Pruned windows start again.
    store.prune_rate_windows(120_000).await.unwrap();
    assert_eq!(
        store.count_shared_hit("key:k1", 60_000).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        store.count_shared_hit("key:k1", 120_000).await.unwrap(),
        Some(2)
    );
}
