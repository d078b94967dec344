//! A channel's outbox: dispatching the log into it, updates, reminders, delivery in order, and
//! instances dispatching together.

use heysummon_sdk::wire::Status;
use heysummon_server::store::{OutboxKind, RequestRecord, Store};

use crate::channels::{add_channel, change, delivered, head, item, pending};
use crate::support::{TestDb, create, creation, request_of, tenant};

pub(crate) async fn dispatch_announces_requests_to_the_active_channels_of_their_expert(db: TestDb) {
    let store = db.store;
    let (a, b) = (tenant(&store, "a").await, tenant(&store, "b").await);
    add_channel(&store, "a-1", &a.expert, false).await;
    add_channel(&store, "a-paused", &a.expert, true).await;
    add_channel(&store, "b-1", &b.expert, false).await;
    create(&store, &a, &["r1", "r2"]).await;
    create(&store, &b, &["s1"]).await;
    change(&store, "r1", Some(Status::Reviewing), "reviewing", 1_050).await;
    assert!(store.channels_due(5_000).await.unwrap().is_empty());
    // At most `limit` events each time, from where the last dispatch stopped.
    assert_eq!(store.dispatch_events(1_100, 2).await.unwrap(), (2, 2));
    assert_eq!(store.dispatch_events(1_200, 10).await.unwrap(), (1, 2));
    assert_eq!(store.dispatch_events(1_300, 10).await.unwrap(), (0, 0));
    let items = store.outbox_head("a-1", 10).await.unwrap();
    assert_eq!(
        items
            .iter()
            .map(|i| i.request_id.as_str())
            .collect::<Vec<_>>(),
        ["r1", "r2"]
    );
    assert!(items[0].id < items[1].id);
    assert!(
        items
            .iter()
            .all(|i| i.kind == OutboxKind::New && i.channel_id == "a-1")
    );
    assert!(
        items
            .iter()
            .all(|i| i.attempts == 0 && i.next_attempt_at == 1_100)
    );
    let first = store.outbox_head("a-1", 1).await.unwrap();
    assert_eq!(first, items[..1]);
    assert!(head(&store, "a-paused").await.is_empty());
    assert_eq!(head(&store, "b-1").await, [item("s1", OutboxKind::New)]);
    assert_eq!(
        store.outbox_head("b-1", 1).await.unwrap()[0].next_attempt_at,
        1_200
    );
    assert_eq!(
        (
            pending(&store, "a-1").await,
            pending(&store, "a-paused").await
        ),
        (2, 0)
    );
    // Due once their time has come, and only while the channel is active.
    assert!(store.channels_due(1_099).await.unwrap().is_empty());
    let mut due = store.channels_due(1_200).await.unwrap();
    due.sort();
    assert_eq!(due, ["a-1", "b-1"]);
    assert!(store.set_channel_paused("a-1", true).await.unwrap());
    assert_eq!(store.channels_due(1_200).await.unwrap(), ["b-1"]);
    assert_eq!(pending(&store, "a-1").await, 2);
    // A channel resumed or created later hears only of what happens from then on.
    assert!(store.set_channel_paused("a-paused", false).await.unwrap());
    add_channel(&store, "a-new", &a.expert, false).await;
    create(&store, &a, &["r3"]).await;
    assert_eq!(store.dispatch_events(1_400, 10).await.unwrap(), (2, 1));
    assert_eq!(
        head(&store, "a-paused").await,
        [item("r3", OutboxKind::New)]
    );
    assert_eq!(head(&store, "a-new").await, [item("r3", OutboxKind::New)]);
    assert_eq!(pending(&store, "a-1").await, 2);
}

pub(crate) async fn updates_go_to_the_channels_where_announced_and_are_rearmed_once_delivered(
    db: TestDb,
) {
    let store = db.store;
    let a = tenant(&store, "a").await;
    add_channel(&store, "a-1", &a.expert, false).await;
    add_channel(&store, "a-2", &a.expert, false).await;
    create(&store, &a, &["r"]).await;
    assert_eq!(store.dispatch_events(1_100, 10).await.unwrap(), (2, 1));
    assert!(store.set_channel_paused("a-2", true).await.unwrap());
    add_channel(&store, "a-late", &a.expert, false).await;
    change(&store, "r", Some(Status::Responded), "responded", 1_200).await;
    assert_eq!(store.dispatch_events(1_300, 10).await.unwrap(), (1, 1));
    let new_and_update = [item("r", OutboxKind::New), item("r", OutboxKind::Update)];
    assert_eq!(head(&store, "a-1").await, new_and_update);
    assert_eq!(head(&store, "a-2").await, [item("r", OutboxKind::New)]);
    assert!(head(&store, "a-late").await.is_empty());
    // An update still waiting will show the latest state: no second one.
    change(&store, "r", Some(Status::Closed), "closed", 1_400).await;
    assert_eq!(store.dispatch_events(1_500, 10).await.unwrap(), (0, 1));
    assert_eq!(head(&store, "a-1").await, new_and_update);
    let items = store.outbox_head("a-1", 10).await.unwrap();
    let done = vec![
        delivered(items[0].id, "r", Some("m-1")),
        delivered(items[1].id, "r", None),
    ];
    store
        .record_deliveries("a-1", done, None, 1_600)
        .await
        .unwrap();
    assert!(head(&store, "a-1").await.is_empty());
    // Once delivered, the next change re-arms it, behind everything queued since.
    change(&store, "r", None, "expired", 1_700).await;
    assert_eq!(store.dispatch_events(1_800, 10).await.unwrap(), (1, 1));
    let [rearmed] = store
        .outbox_head("a-1", 10)
        .await
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(
        (rearmed.kind, rearmed.next_attempt_at, rearmed.attempts),
        (OutboxKind::Update, 1_800, 0)
    );
    assert!(rearmed.id > items[1].id);
    // Events that change nothing a chat shows queue nothing.
    change(&store, "r", None, "new_message", 1_900).await;
    assert_eq!(store.dispatch_events(2_000, 10).await.unwrap(), (0, 1));
}

pub(crate) async fn reminders_go_to_the_channels_of_requests_still_waiting(db: TestDb) {
    let store = db.store;
    let a = tenant(&store, "a").await;
    add_channel(&store, "a-1", &a.expert, false).await;
    add_channel(&store, "a-2", &a.expert, false).await;
    create(&store, &a, &["waiting", "reviewing", "answered"]).await;
    let optional = RequestRecord {
        response_required: false,
        ..request_of(&a, "optional")
    };
    store.create_request(creation(optional)).await.unwrap();
    assert_eq!(store.dispatch_events(1_100, 10).await.unwrap(), (8, 4));
    change(
        &store,
        "reviewing",
        Some(Status::Reviewing),
        "reviewing",
        1_150,
    )
    .await;
    change(
        &store,
        "answered",
        Some(Status::Responded),
        "responded",
        1_150,
    )
    .await;
    assert!(store.set_channel_paused("a-2", true).await.unwrap());
    // Announced after `waited_since`: not yet.
    assert_eq!(store.queue_reminders(1_099, 1_500).await.unwrap(), 0);
    assert_eq!(store.queue_reminders(1_100, 1_500).await.unwrap(), 2);
    // Once per request and channel.
    assert_eq!(store.queue_reminders(1_100, 1_600).await.unwrap(), 0);
    let mut reminders: Vec<_> = store
        .outbox_head("a-1", 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == OutboxKind::Reminder)
        .map(|i| (i.request_id, i.next_attempt_at))
        .collect();
    reminders.sort();
    assert_eq!(
        reminders,
        [
            ("reviewing".to_owned(), 1_500),
            ("waiting".to_owned(), 1_500)
        ]
    );
    assert_eq!(head(&store, "a-2").await.len(), 4);
    // Not once the request expired.
    assert!(store.set_channel_paused("a-2", false).await.unwrap());
    assert_eq!(store.queue_reminders(1_100, 2_000).await.unwrap(), 0);
    assert_eq!(store.queue_reminders(1_100, 1_999).await.unwrap(), 2);
}

pub(crate) async fn channels_deliver_their_outbox_in_order_and_record_outcomes(db: TestDb) {
    let store = db.store;
    let a = tenant(&store, "a").await;
    add_channel(&store, "a-1", &a.expert, false).await;
    create(&store, &a, &["r1", "r2", "r3"]).await;
    assert_eq!(store.dispatch_events(1_100, 10).await.unwrap(), (3, 3));
    let items = store.outbox_head("a-1", 2).await.unwrap();
    let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
    assert_eq!(
        items
            .iter()
            .map(|i| i.request_id.as_str())
            .collect::<Vec<_>>(),
        ["r1", "r2"]
    );
    // The first delivered, the second failed: both recorded at once.
    let done = vec![delivered(ids[0], "r1", Some("m-1"))];
    let failure = Some((ids[1], "refused".to_owned(), 5_000));
    store
        .record_deliveries("a-1", done, failure, 1_200)
        .await
        .unwrap();
    let c = store.channel("a-1").await.unwrap().unwrap();
    assert_eq!(
        (c.pending, c.failures, c.last_error.as_deref()),
        (2, 1, Some("refused"))
    );
    assert_eq!(
        (c.last_error_at, c.last_delivered_at),
        (Some(1_200), Some(1_200))
    );
    let waiting = store.outbox_head("a-1", 10).await.unwrap();
    let state: Vec<_> = waiting
        .iter()
        .map(|i| (i.request_id.as_str(), i.attempts, i.next_attempt_at))
        .collect();
    assert_eq!(state, [("r2", 1, 5_000), ("r3", 0, 1_100)]);
    assert_eq!(
        store.channel_message("a-1", "r1").await.unwrap().as_deref(),
        Some("m-1")
    );
    assert_eq!(
        store
            .request_of_message("a-1", "m-1")
            .await
            .unwrap()
            .as_deref(),
        Some("r1")
    );
    assert_eq!(store.channel_message("a-1", "r2").await.unwrap(), None);
    assert_eq!(store.request_of_message("a-1", "m-2").await.unwrap(), None);
    assert_eq!(store.channels_due(1_200).await.unwrap(), ["a-1"]);
    // A delivery clears the failures; the first message about a request is the one kept.
    let done = vec![
        delivered(waiting[1].id, "r3", None),
        delivered(ids[0], "r1", Some("m-9")),
    ];
    store
        .record_deliveries("a-1", done, None, 1_300)
        .await
        .unwrap();
    let c = store.channel("a-1").await.unwrap().unwrap();
    assert_eq!(
        (c.pending, c.failures, c.last_error, c.last_error_at),
        (1, 0, None, None)
    );
    assert_eq!(c.last_delivered_at, Some(1_300));
    assert_eq!(
        store.channel_message("a-1", "r1").await.unwrap().as_deref(),
        Some("m-1")
    );
    assert_eq!(store.channel_message("a-1", "r3").await.unwrap(), None);
    assert!(store.channels_due(4_999).await.unwrap().is_empty());
    assert_eq!(store.channels_due(5_000).await.unwrap(), ["a-1"]);
    // Failures in a row count up; nothing delivered leaves the last delivery as it was.
    let failure = Some((ids[1], "again".to_owned(), 9_000));
    store
        .record_deliveries("a-1", Vec::new(), failure, 5_000)
        .await
        .unwrap();
    let c = store.channel("a-1").await.unwrap().unwrap();
    assert_eq!(
        (c.failures, c.last_error.as_deref(), c.last_error_at),
        (1, Some("again"), Some(5_000))
    );
    assert_eq!(c.last_delivered_at, Some(1_300));
    assert_eq!(store.outbox_head("a-1", 10).await.unwrap()[0].attempts, 2);
    // Test notifications count as attempts too.
    store
        .note_channel_test("a-1", Some("test failed".into()), 6_000)
        .await
        .unwrap();
    let c = store.channel("a-1").await.unwrap().unwrap();
    assert_eq!(
        (c.failures, c.last_error.as_deref(), c.last_error_at),
        (2, Some("test failed"), Some(6_000))
    );
    store.note_channel_test("a-1", None, 6_100).await.unwrap();
    let c = store.channel("a-1").await.unwrap().unwrap();
    assert_eq!(
        (
            c.failures,
            c.last_error,
            c.last_error_at,
            c.last_delivered_at
        ),
        (0, None, None, Some(6_100))
    );
}

pub(crate) async fn instances_dispatching_to_channels_read_each_event_once(db: TestDb) {
    let store = db.store.clone();
    let other = db.open_another().await;
    let a = tenant(&store, "a").await;
    add_channel(&store, "a-1", &a.expert, false).await;
    let ids: Vec<String> = (0..24).map(|i| format!("r{i:02}")).collect();
    create(
        &store,
        &a,
        &ids.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let dispatcher = |target: Store| {
        tokio::spawn(async move {
            let (mut queued, mut read) = (0, 0);
            loop {
                let (q, r) = target.dispatch_events(1_100, 3).await.unwrap();
                (queued, read) = (queued + q, read + r);
                if r == 0 {
                    return (queued, read);
                }
            }
        })
    };
    let (ours, theirs) = tokio::join!(dispatcher(store.clone()), dispatcher(other));
    let ((q1, r1), (q2, r2)) = (ours.unwrap(), theirs.unwrap());
    assert_eq!((q1 + q2, r1 + r2), (24, 24));
    let queued: Vec<String> = head(&store, "a-1")
        .await
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    assert_eq!(queued, ids);
}
