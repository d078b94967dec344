//! The event log: ordered, paged by scope, pruned with a record of how far, published live
//! in log order, and caught up on when another store (another process) appends to it.

use std::time::Duration;

use heysummon_server::store::{EventScope, Feed, LoggedEvent, Store};

use crate::support::{TestDb, create, creation, event, request_of, tenant};

/// Every event in `scope`, paging `limit` rows of the log at a time.
pub(crate) async fn read_all(store: &Store, scope: EventScope, limit: u32) -> Vec<LoggedEvent> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let (events, scanned) = store
            .events_after(after, scope.clone(), limit)
            .await
            .unwrap();
        let Some(scanned) = scanned else {
            return all;
        };
        assert!(events.len() <= limit as usize);
        assert!(scanned > after);
        all.extend(events);
        after = scanned;
    }
}

/// What a feed has received so far.
fn drain(feed: &mut Feed) -> Vec<i64> {
    std::iter::from_fn(|| feed.try_recv().ok().map(|e| e.id)).collect()
}

/// What a feed receives until `last` (within a few seconds).
async fn receive_through(feed: &mut Feed, last: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    while ids.last() != Some(&last) {
        let event = tokio::time::timeout(Duration::from_secs(5), feed.recv())
            .await
            .expect("the feed went quiet")
            .unwrap();
        ids.push(event.id);
    }
    ids
}

pub(crate) fn ids(events: &[LoggedEvent]) -> Vec<i64> {
    events.iter().map(|e| e.id).collect()
}

pub(crate) async fn events_after_pages_through_the_log_by_scope(db: TestDb) {
    let store = db.store;
    let a = tenant(&store, "a").await;
    let b = tenant(&store, "b").await;
    create(&store, &a, &["a1"]).await;
    create(&store, &b, &["b1"]).await;
    create(&store, &a, &["a2"]).await;
    let all = read_all(&store, EventScope::All, 100).await;
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(
        all.iter()
            .map(|e| e.request_id.as_str())
            .collect::<Vec<_>>(),
        ["a1", "b1", "a2"]
    );
    assert_eq!(all[0].event_type, "new_request");
    assert_eq!(all[0].client_key_id, a.key);
    assert_eq!(all[0].expert_id, a.expert);
    assert_eq!(all[0].created_at, 1_000);
    // Paged one row at a time, every scope still sees all of its events, in order.
    for limit in [1, 2, 100] {
        assert_eq!(read_all(&store, EventScope::All, limit).await, all);
        let client = EventScope::Client {
            client_key_id: a.key.clone(),
            request_id: None,
        };
        assert_eq!(
            ids(&read_all(&store, client, limit).await),
            [all[0].id, all[2].id]
        );
        let one = EventScope::Client {
            client_key_id: a.key.clone(),
            request_id: Some("a2".into()),
        };
        assert_eq!(ids(&read_all(&store, one, limit).await), [all[2].id]);
        let expert = EventScope::Expert {
            expert_id: b.expert.clone(),
        };
        assert_eq!(ids(&read_all(&store, expert, limit).await), [all[1].id]);
    }
    // Another key's request is not in a client scope even when named.
    let foreign = EventScope::Client {
        client_key_id: a.key.clone(),
        request_id: Some("b1".into()),
    };
    assert!(read_all(&store, foreign, 100).await.is_empty());
    // After the end: nothing, and no position.
    let (events, scanned) = store
        .events_after(all[2].id, EventScope::All, 10)
        .await
        .unwrap();
    assert!(events.is_empty());
    assert_eq!(scanned, None);
}

pub(crate) async fn pruning_the_log_records_how_far(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    assert_eq!(store.pruned_through().await.unwrap(), 0);
    for (id, at) in [("old", 1_000), ("older", 900), ("new", 5_000)] {
        let mut new = creation(request_of(&t, id));
        new.events = vec![event("new_request", &new.request, at)];
        store.create_request(new).await.unwrap();
    }
    let all = read_all(&store, EventScope::All, 100).await;
    assert_eq!(store.prune_events(500).await.unwrap(), 0);
    assert_eq!(store.pruned_through().await.unwrap(), 0);
    // Everything up to the newest event older than the cut goes, in log order.
    assert_eq!(store.prune_events(2_000).await.unwrap(), 2);
    assert_eq!(store.pruned_through().await.unwrap(), all[1].id);
    assert_eq!(read_all(&store, EventScope::All, 100).await, all[2..]);
    // Pruning again never moves the mark back.
    assert_eq!(store.prune_events(2_000).await.unwrap(), 0);
    assert_eq!(store.pruned_through().await.unwrap(), all[1].id);
}

pub(crate) async fn subscribers_get_appended_events_in_order(db: TestDb) {
    let store = db.store;
    let a = tenant(&store, "a").await;
    let b = tenant(&store, "b").await;
    assert_eq!(store.last_event_id(), 0);
    let mut all = store.subscribe(&EventScope::All);
    let mut expert_b = store.subscribe(&EventScope::Expert {
        expert_id: b.expert.clone(),
    });
    let mut via_bus = store.events().subscribe(&EventScope::Client {
        client_key_id: a.key.clone(),
        request_id: Some("a2".into()),
    });
    create(&store, &a, &["a1", "a2"]).await;
    create(&store, &b, &["b1"]).await;
    let log = ids(&read_all(&store, EventScope::All, 100).await);
    // Published once committed: by the time a write returns, its events are out.
    assert_eq!(store.last_event_id(), log[2]);
    assert_eq!(store.events().last_event_id(), log[2]);
    assert_eq!(drain(&mut all), log);
    assert_eq!(drain(&mut expert_b), [log[2]]);
    assert_eq!(drain(&mut via_bus), [log[1]]);
}

pub(crate) async fn a_reopened_store_starts_its_bus_at_the_end_of_the_log(db: TestDb) {
    let t = tenant(&db.store, "a").await;
    create(&db.store, &t, &["r1", "r2"]).await;
    let reopened = db.open_another().await;
    let mut feed = reopened.subscribe(&EventScope::All);
    // History is not news.
    assert_eq!(reopened.last_event_id(), db.store.last_event_id());
    assert_eq!(reopened.catch_up().await.unwrap(), 0);
    assert!(drain(&mut feed).is_empty());
}

pub(crate) async fn catch_up_publishes_what_another_store_appended_in_order(db: TestDb) {
    let store = db.store.clone();
    let other = db.open_another().await;
    let t = tenant(&store, "a").await;
    let mut feed = store.subscribe(&EventScope::All);
    create(&other, &t, &["o1", "o2", "o3"]).await;
    let log = ids(&read_all(&store, EventScope::All, 100).await);
    // SQLite learns of another process's appends when it catches up; PostgreSQL may have
    // heard of them already (LISTEN/NOTIFY). Either way, after a catch-up they are out,
    // once each, in log order.
    assert!(store.catch_up().await.unwrap() <= 3);
    assert_eq!(store.last_event_id(), log[2]);
    assert_eq!(drain(&mut feed), log);
    assert_eq!(store.catch_up().await.unwrap(), 0);
    // The other store appends, then this one: this store's writer publishes both, the
    // other's first, in their place in the log.
    create(&other, &t, &["o4"]).await;
    create(&store, &t, &["s1"]).await;
    let log = ids(&read_all(&store, EventScope::All, 100).await);
    assert_eq!(drain(&mut feed), log[3..]);
    assert_eq!(store.catch_up().await.unwrap(), 0);
}

pub(crate) async fn catch_up_and_writes_together_publish_the_log_exactly_once(db: TestDb) {
    let store = db.store.clone();
    let other = db.open_another().await;
    let t = tenant(&store, "a").await;
    let mut feed = store.subscribe(&EventScope::All);
    let writer = |target: Store, prefix: &'static str| {
        let t = t.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                target
                    .create_request(creation(request_of(&t, &format!("{prefix}{i}"))))
                    .await
                    .unwrap();
            }
        })
    };
    let ours = writer(store.clone(), "s");
    let theirs = writer(other, "o");
    let catcher = {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..40 {
                store.catch_up().await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    ours.await.unwrap();
    theirs.await.unwrap();
    catcher.await.unwrap();
    store.catch_up().await.unwrap();
    let log = ids(&read_all(&store, EventScope::All, 1_000).await);
    assert_eq!(log.len(), 80);
    let last = *log.last().unwrap();
    assert_eq!(store.last_event_id(), last);
    assert_eq!(receive_through(&mut feed, last).await, log);
}
