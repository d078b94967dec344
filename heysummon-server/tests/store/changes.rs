//! Lifecycle steps (optimistic, atomic, deduplicated by message id), the pending feeds built
//! on them, and expiry.

use heysummon_sdk::wire::{Sender, Status};
use heysummon_server::store::{ApplyOutcome, Change, EventScope, FeedSide, StoreError};

use crate::support::{TestDb, create, ids_of, message, step, tenant};

fn applied(outcome: ApplyOutcome) -> heysummon_server::store::RequestRecord {
    match outcome {
        ApplyOutcome::Applied(record) => *record,
        other => panic!("unexpected {other:?}"),
    }
}

/// A step carrying a message from `sender`, announced as `new_message`.
fn with_message(
    request: &heysummon_server::store::RequestRecord,
    sender: Sender,
    message_id: &str,
) -> Change {
    Change {
        message: Some(message(request, sender, message_id)),
        ..step(request, None, "new_message", 1_100)
    }
}

pub(crate) async fn apply_bumps_the_version_and_refuses_a_stale_one(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    let [planned] = create(&store, &t, &["r"]).await.try_into().unwrap();
    let reviewing = applied(
        store
            .apply(step(&planned, Some(Status::Reviewing), "reviewing", 1_100))
            .await
            .unwrap(),
    );
    assert_eq!(reviewing.status, Status::Reviewing);
    assert_eq!(reviewing.version, 1);
    assert_eq!(reviewing.status_changed_at, 1_100);
    // Planned on version 0, which is gone: a conflict, and nothing changes.
    let stale = store
        .apply(step(&planned, Some(Status::Cancelled), "cancelled", 1_200))
        .await
        .unwrap_err();
    assert!(matches!(stale, StoreError::Conflict), "{stale:?}");
    assert_eq!(store.request("r").await.unwrap(), Some(reviewing.clone()));
    let (events, _) = store.events_after(0, EventScope::All, 100).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        ["new_request", "reviewing"]
    );
    // Replanned on the current version, it applies.
    let cancelled = applied(
        store
            .apply(step(
                &reviewing,
                Some(Status::Cancelled),
                "cancelled",
                1_200,
            ))
            .await
            .unwrap(),
    );
    assert_eq!(cancelled.version, 2);
    // An unknown request is a conflict too: there is no version to match.
    let mut gone = planned;
    gone.id = "missing".into();
    let missing = store
        .apply(step(&gone, None, "reviewing", 1_300))
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::Conflict), "{missing:?}");
}

pub(crate) async fn a_duplicate_message_id_changes_nothing(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    let [r] = create(&store, &t, &["r"]).await.try_into().unwrap();
    let once = applied(
        store
            .apply(with_message(&r, Sender::Consumer, "m-1"))
            .await
            .unwrap(),
    );
    assert_eq!(once.message_count, 1);
    assert_eq!(
        store
            .apply(with_message(&once, Sender::Consumer, "m-1"))
            .await
            .unwrap(),
        ApplyOutcome::DuplicateMessage
    );
    let now = store.request("r").await.unwrap().unwrap();
    assert_eq!(now, once);
    assert_eq!(store.messages("r").await.unwrap().len(), 1);
    // The same message id on another request is not a duplicate.
    let [other] = create(&store, &t, &["other"]).await.try_into().unwrap();
    let elsewhere = applied(
        store
            .apply(with_message(&other, Sender::Consumer, "m-1"))
            .await
            .unwrap(),
    );
    assert_eq!(elsewhere.message_count, 1);
}

pub(crate) async fn apply_records_where_the_consumer_has_news(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    let [r] = create(&store, &t, &["r"]).await.try_into().unwrap();
    let answered = applied(
        store
            .apply(with_message(&r, Sender::Expert, "answer"))
            .await
            .unwrap(),
    );
    // Marks of one request grow with its events (log positions on SQLite, stamps on
    // PostgreSQL); only their order is part of the contract.
    let answer_mark = answered
        .last_expert_event
        .expect("an expert message is news");
    assert_eq!(answered.last_status_event, None);
    // A consumer message is no news for the consumer; a step without a status change is
    // no status news.
    let asked = applied(
        store
            .apply(with_message(&answered, Sender::Consumer, "question"))
            .await
            .unwrap(),
    );
    assert_eq!(asked.last_expert_event, answered.last_expert_event);
    let same = applied(
        store
            .apply(step(&asked, Some(Status::Pending), "touched", 1_200))
            .await
            .unwrap(),
    );
    assert_eq!(same.last_status_event, None);
    assert_eq!(same.status_changed_at, 1_000);
    let closed = applied(
        store
            .apply(step(&same, Some(Status::Closed), "closed", 1_300))
            .await
            .unwrap(),
    );
    let close_mark = closed.last_status_event.expect("a status change is news");
    assert!(close_mark > answer_mark, "{close_mark} after {answer_mark}");
    assert_eq!(closed.last_expert_event, Some(answer_mark));
    assert_eq!(closed.message_count, 2);
}

pub(crate) async fn the_expert_feed_lists_waiting_requests_until_delivered(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    let other = tenant(&store, "b").await;
    let [waiting, _, answered, closed] =
        create(&store, &t, &["waiting", "live", "answered", "closed"])
            .await
            .try_into()
            .unwrap();
    create(&store, &other, &["elsewhere"]).await;
    store
        .apply(step(&answered, Some(Status::Responded), "responded", 1_100))
        .await
        .unwrap();
    store
        .apply(step(&closed, Some(Status::Closed), "closed", 1_100))
        .await
        .unwrap();
    // Oldest first, waiting statuses only, live only, this expert only.
    assert_eq!(
        ids_of(store.expert_pending(&t.expert, 1_500).await.unwrap()),
        ["live", "waiting"]
    );
    assert!(
        store
            .expert_pending(&t.expert, 2_000)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .mark_delivered(&waiting.id, FeedSide::Expert, 1_200)
        .await
        .unwrap();
    assert_eq!(
        ids_of(store.expert_pending(&t.expert, 1_500).await.unwrap()),
        ["live"]
    );
    let delivered = store.request("waiting").await.unwrap().unwrap();
    assert_eq!(delivered.expert_delivered_at, Some(1_200));
}

pub(crate) async fn the_consumer_feed_lists_news_until_delivered(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    let [answered, cancelled, closed, acknowledged, expired] = create(
        &store,
        &t,
        &["answered", "cancelled", "closed", "acknowledged", "expired"],
    )
    .await
    .try_into()
    .unwrap();
    assert!(store.consumer_pending(&t.key).await.unwrap().is_empty());
    store
        .apply(with_message(&answered, Sender::Expert, "answer"))
        .await
        .unwrap();
    for (request, status, event) in [
        (&cancelled, Status::Cancelled, "cancelled"),
        (&closed, Status::Closed, "closed"),
        (&acknowledged, Status::Acknowledged, "acknowledged"),
        (&expired, Status::Expired, "expired"),
    ] {
        store
            .apply(step(request, Some(status), event, 1_100))
            .await
            .unwrap();
    }
    // An expert message, or an end the consumer is told of (not `closed`); oldest first,
    // then by id.
    assert_eq!(
        ids_of(store.consumer_pending(&t.key).await.unwrap()),
        ["acknowledged", "answered", "cancelled", "expired"]
    );
    store
        .mark_delivered("answered", FeedSide::Consumer, 1_200)
        .await
        .unwrap();
    store
        .mark_delivered("cancelled", FeedSide::Consumer, 1_200)
        .await
        .unwrap();
    assert_eq!(
        ids_of(store.consumer_pending(&t.key).await.unwrap()),
        ["acknowledged", "expired"]
    );
    let acked = store.request("answered").await.unwrap().unwrap();
    assert_eq!(acked.consumer_delivered_at, Some(1_200));
    assert_eq!(acked.consumer_ack_event, acked.last_expert_event);
    // Something new after the acknowledgement lists it again.
    store
        .apply(with_message(&acked, Sender::Expert, "more"))
        .await
        .unwrap();
    assert_eq!(
        ids_of(store.consumer_pending(&t.key).await.unwrap()),
        ["acknowledged", "answered", "expired"]
    );
}

pub(crate) async fn due_for_expiry_lists_live_requests_past_their_expiry(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    let mut records = Vec::new();
    for (id, expires_at) in [
        ("late", 1_900),
        ("early", 1_200),
        ("later", 3_000),
        ("done", 1_100),
        ("answered", 1_300),
    ] {
        let mut record = crate::support::request_of(&t, id);
        record.expires_at = expires_at;
        store
            .create_request(crate::support::creation(record))
            .await
            .unwrap();
        records.push(store.request(id).await.unwrap().unwrap());
    }
    store
        .apply(step(&records[3], Some(Status::Closed), "closed", 1_050))
        .await
        .unwrap();
    // `responded` is not terminal: it still expires.
    store
        .apply(step(
            &records[4],
            Some(Status::Responded),
            "responded",
            1_050,
        ))
        .await
        .unwrap();
    assert_eq!(
        store.due_for_expiry(2_000, 10).await.unwrap(),
        ["early", "answered", "late"]
    );
    assert_eq!(store.due_for_expiry(2_000, 1).await.unwrap(), ["early"]);
    assert_eq!(store.due_for_expiry(1_200, 10).await.unwrap(), ["early"]);
    assert!(store.due_for_expiry(1_000, 10).await.unwrap().is_empty());
}

pub(crate) async fn finished_requests_are_deleted_after_their_retention(db: TestDb) {
    let store = db.store;
    let t = tenant(&store, "a").await;
    let [closed, recent, live] = create(&store, &t, &["closed", "recent", "live"])
        .await
        .try_into()
        .unwrap();
    store
        .apply(with_message(&closed, Sender::Consumer, "m1"))
        .await
        .unwrap();
    let closed = store.request("closed").await.unwrap().unwrap();
    store
        .apply(step(&closed, Some(Status::Closed), "closed", 1_500))
        .await
        .unwrap();
    store
        .apply(step(&recent, Some(Status::Expired), "expired", 3_000))
        .await
        .unwrap();
    // Nothing finished before 1 500.
    assert_eq!(store.delete_finished_before(1_500, 10).await.unwrap(), 0);
    assert_eq!(store.delete_finished_before(2_000, 10).await.unwrap(), 1);
    assert!(store.request("closed").await.unwrap().is_none());
    assert!(store.messages("closed").await.unwrap().is_empty());
    assert!(
        store.request("recent").await.unwrap().is_some(),
        "finished later"
    );
    assert!(
        store.request("live").await.unwrap().is_some(),
        "not finished"
    );
    // Live requests are never deleted, however old.
    assert_eq!(store.delete_finished_before(i64::MAX, 10).await.unwrap(), 1);
    assert_eq!(store.request("live").await.unwrap().unwrap().id, live.id);
}
