//! Notification channels: reading them back, deleting them with everything of theirs, connect
//! codes used once, linked chat users, inbound dedup and pruning; and the fixtures of the
//! channel tests (see also `outbox`).

use heysummon_sdk::wire::Status;
use heysummon_server::clock::Millis;
use heysummon_server::store::{
    ApplyOutcome, ChannelLink, ChannelRecord, Delivered, OutboxKind, RequestPatch, Store,
    StoreError,
};

use crate::support::{TestDb, create, hash, step, tenant};

/// A webhook channel of an expert, created at `at`.
pub(crate) fn channel(id: &str, expert: &str, at: Millis) -> ChannelRecord {
    ChannelRecord {
        id: id.into(),
        expert_id: expert.into(),
        kind: "webhook".into(),
        name: format!("channel {id}"),
        settings: r#"{"url":"https://example.com/hook"}"#.into(),
        secrets: r#"{"secret":"s"}"#.into(),
        inbound_token_hash: None,
        paused: false,
        failures: 0,
        last_error: None,
        last_error_at: None,
        last_delivered_at: None,
        created_at: at,
        pending: 0,
    }
}

pub(crate) async fn add_channel(store: &Store, id: &str, expert: &str, paused: bool) {
    store
        .insert_channel(ChannelRecord {
            paused,
            ..channel(id, expert, 1_000)
        })
        .await
        .unwrap();
}

/// A channel's waiting items as (request, kind).
pub(crate) async fn head(store: &Store, channel: &str) -> Vec<(String, OutboxKind)> {
    let items = store.outbox_head(channel, 100).await.unwrap();
    items.into_iter().map(|i| (i.request_id, i.kind)).collect()
}

pub(crate) fn item(request: &str, kind: OutboxKind) -> (String, OutboxKind) {
    (request.to_owned(), kind)
}

pub(crate) async fn pending(store: &Store, channel: &str) -> u64 {
    store.channel(channel).await.unwrap().unwrap().pending
}

/// Applies a step to the request as currently stored.
pub(crate) async fn change(
    store: &Store,
    id: &str,
    status: Option<Status>,
    event: &'static str,
    at: Millis,
) {
    let now = store.request(id).await.unwrap().unwrap();
    let mut change = step(&now, status, event, at);
    if event == "responded" {
        change.patch = RequestPatch {
            responded_at: Some(at),
            ..change.patch
        };
    }
    let outcome = store.apply(change).await.unwrap();
    assert!(matches!(outcome, ApplyOutcome::Applied(_)), "{outcome:?}");
}

pub(crate) fn link(user: &str, name: &str, at: Millis) -> ChannelLink {
    ChannelLink {
        user_id: user.into(),
        display_name: Some(name.into()),
        created_at: at,
    }
}

pub(crate) fn delivered(id: i64, request: &str, external: Option<&str>) -> Delivered {
    Delivered {
        outbox_id: id,
        request_id: request.into(),
        external_id: external.map(str::to_owned),
    }
}

pub(crate) async fn channels_read_back_and_take_everything_with_them(db: TestDb) {
    let store = db.store;
    let (a, b) = (tenant(&store, "a").await, tenant(&store, "b").await);
    let telegram = ChannelRecord {
        kind: "telegram".into(),
        inbound_token_hash: Some(hash("webhook token")),
        ..channel("a-2", &a.expert, 900)
    };
    store.insert_channel(telegram.clone()).await.unwrap();
    add_channel(&store, "a-1", &a.expert, false).await;
    add_channel(&store, "b-1", &b.expert, true).await;
    assert_eq!(store.channel("a-2").await.unwrap(), Some(telegram));
    assert_eq!(store.channel("missing").await.unwrap(), None);
    let ids = |channels: Vec<ChannelRecord>| channels.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.channels_of(None).await.unwrap()),
        ["a-2", "a-1", "b-1"]
    );
    assert_eq!(
        ids(store.channels_of(Some(&a.expert)).await.unwrap()),
        ["a-2", "a-1"]
    );
    assert!(store.channel("b-1").await.unwrap().unwrap().paused);
    let taken = store
        .insert_channel(channel("a-1", &b.expert, 1_000))
        .await
        .unwrap_err();
    assert!(
        matches!(&taken, StoreError::UniqueViolation { constraint } if constraint == "channels.id"),
        "{taken:?}"
    );
    assert!(store.set_channel_paused("b-1", false).await.unwrap());
    assert!(!store.channel("b-1").await.unwrap().unwrap().paused);
    assert!(!store.set_channel_paused("missing", true).await.unwrap());

    // Everything of a channel goes with it.
    create(&store, &a, &["r"]).await;
    assert_eq!(store.dispatch_events(1_100, 100).await.unwrap(), (2, 1));
    let [first] = store
        .outbox_head("a-1", 10)
        .await
        .unwrap()
        .try_into()
        .unwrap();
    let done = vec![delivered(first.id, "r", Some("m-1"))];
    store
        .record_deliveries("a-1", done, None, 1_200)
        .await
        .unwrap();
    store
        .insert_connect_code("a-1", hash("code"), 5_000)
        .await
        .unwrap();
    assert!(
        store
            .link_chat_user("a-1", hash("code"), link("u", "U", 1_300))
            .await
            .unwrap()
    );
    assert!(store.record_inbound("a-1", "x", 1_300).await.unwrap());
    change(&store, "r", Some(Status::Responded), "responded", 1_400).await;
    assert_eq!(store.dispatch_events(1_500, 100).await.unwrap(), (2, 1));
    assert!(store.delete_channel("a-1").await.unwrap());
    assert!(!store.delete_channel("a-1").await.unwrap());
    assert_eq!(store.channel("a-1").await.unwrap(), None);
    assert_eq!(ids(store.channels_of(None).await.unwrap()), ["a-2", "b-1"]);
    store
        .insert_channel(channel("a-1", &a.expert, 1_000))
        .await
        .unwrap();
    assert_eq!(pending(&store, "a-1").await, 0);
    assert_eq!(store.channel_message("a-1", "r").await.unwrap(), None);
    assert!(store.channel_links("a-1").await.unwrap().is_empty());
    assert!(store.record_inbound("a-1", "x", 1_600).await.unwrap());
    store
        .insert_connect_code("a-1", hash("code"), 5_000)
        .await
        .unwrap();
    // The other channel kept its own.
    assert_eq!(
        head(&store, "a-2").await,
        [item("r", OutboxKind::New), item("r", OutboxKind::Update)]
    );
}

pub(crate) async fn connect_codes_link_chat_users_to_channels_once(db: TestDb) {
    let store = db.store.clone();
    let other = db.open_another().await;
    let a = tenant(&store, "a").await;
    add_channel(&store, "a-1", &a.expert, false).await;
    add_channel(&store, "a-2", &a.expert, false).await;
    store
        .insert_connect_code("a-1", hash("code"), 2_000)
        .await
        .unwrap();
    store
        .insert_connect_code("a-1", hash("old"), 1_500)
        .await
        .unwrap();
    store
        .insert_connect_code("a-1", hash("fresh"), 3_000)
        .await
        .unwrap();
    let again = store
        .insert_connect_code("a-2", hash("code"), 2_000)
        .await
        .unwrap_err();
    assert!(
        matches!(again, StoreError::UniqueViolation { .. }),
        "{again:?}"
    );
    // Another channel's, unknown or expired: refused.
    assert!(
        !store
            .link_chat_user("a-2", hash("code"), link("u1", "U1", 1_000))
            .await
            .unwrap()
    );
    assert!(
        !store
            .link_chat_user("a-1", hash("nope"), link("u1", "U1", 1_000))
            .await
            .unwrap()
    );
    assert!(
        !store
            .link_chat_user("a-1", hash("old"), link("u1", "U1", 1_500))
            .await
            .unwrap()
    );
    assert!(store.channel_links("a-1").await.unwrap().is_empty());
    // Two instances using it at once: one links.
    let (first, second) = tokio::join!(
        store.link_chat_user("a-1", hash("code"), link("u1", "U1", 1_000)),
        other.link_chat_user("a-1", hash("code"), link("u2", "U2", 1_000)),
    );
    assert!(first.unwrap() ^ second.unwrap());
    let [winner] = store
        .channel_links("a-1")
        .await
        .unwrap()
        .try_into()
        .unwrap();
    assert!(
        !store
            .link_chat_user("a-1", hash("code"), link("u3", "U3", 1_100))
            .await
            .unwrap()
    );
    // Linking again renames; links list oldest first.
    store
        .insert_connect_code("a-1", hash("rename"), 3_000)
        .await
        .unwrap();
    let renamed = link(&winner.user_id, "Renamed", 1_200);
    assert!(
        store
            .link_chat_user("a-1", hash("rename"), renamed)
            .await
            .unwrap()
    );
    store
        .insert_connect_code("a-1", hash("third"), 3_000)
        .await
        .unwrap();
    assert!(
        store
            .link_chat_user("a-1", hash("third"), link("u3", "U3", 1_100))
            .await
            .unwrap()
    );
    let links = store.channel_links("a-1").await.unwrap();
    assert_eq!(
        links,
        [
            ChannelLink {
                display_name: Some("Renamed".into()),
                ..winner.clone()
            },
            link("u3", "U3", 1_100)
        ]
    );
    assert!(store.unlink_chat_user("a-1", "u3").await.unwrap());
    assert!(!store.unlink_chat_user("a-1", "u3").await.unwrap());
    assert!(
        !store
            .unlink_chat_user("a-2", &winner.user_id)
            .await
            .unwrap()
    );
    // Pruning drops used and expired codes, and keeps the others.
    store.prune_channels(0, 1_600).await.unwrap();
    for gone in ["code", "old", "rename", "third"] {
        store
            .insert_connect_code("a-1", hash(gone), 9_000)
            .await
            .unwrap();
    }
    let kept = store
        .insert_connect_code("a-1", hash("fresh"), 9_000)
        .await
        .unwrap_err();
    assert!(
        matches!(kept, StoreError::UniqueViolation { .. }),
        "{kept:?}"
    );
    assert!(
        store
            .link_chat_user("a-1", hash("fresh"), link("u4", "U4", 1_700))
            .await
            .unwrap()
    );
}

pub(crate) async fn channels_count_inbound_actions_once_until_pruned(db: TestDb) {
    let store = db.store;
    let a = tenant(&store, "a").await;
    add_channel(&store, "a-1", &a.expert, false).await;
    add_channel(&store, "a-2", &a.expert, false).await;
    assert!(store.record_inbound("a-1", "x", 1_000).await.unwrap());
    assert!(!store.record_inbound("a-1", "x", 1_100).await.unwrap());
    assert!(store.record_inbound("a-2", "x", 1_000).await.unwrap());
    assert!(store.record_inbound("a-1", "y", 2_000).await.unwrap());
    // Delivered items older than the cut are pruned, waiting ones never.
    create(&store, &a, &["r1", "r2"]).await;
    assert_eq!(store.dispatch_events(1_000, 10).await.unwrap(), (4, 2));
    let items = store.outbox_head("a-1", 10).await.unwrap();
    let done = vec![delivered(items[0].id, "r1", Some("m-1"))];
    store
        .record_deliveries("a-1", done, None, 1_100)
        .await
        .unwrap();
    store.prune_channels(1_500, 1_500).await.unwrap();
    assert!(store.record_inbound("a-1", "x", 2_100).await.unwrap());
    assert!(!store.record_inbound("a-1", "y", 2_100).await.unwrap());
    assert_eq!(head(&store, "a-1").await, [item("r2", OutboxKind::New)]);
    // The pruned announcement no longer makes reminders; a-2's were not delivered.
    assert_eq!(store.queue_reminders(1_000, 1_600).await.unwrap(), 3);
    assert_eq!(
        store.channel_message("a-1", "r1").await.unwrap().as_deref(),
        Some("m-1")
    );
}
