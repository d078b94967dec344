//! The shared stream under a scripted connection: one connection for many waits, events to whom
//! they concern, failures to everyone, resuming, lingering, liveness, and a task that vanishes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{StreamExt as _, stream};
use tokio::sync::mpsc;

use super::{LINGER, Link, StreamHub, Subscription};
use crate::Error;
use crate::client::http::network;
use crate::client::transport::{SseEvent, SseItem};
use crate::error::NetworkErrorKind;
use crate::wire::{EventType, RequestId, Status, StreamEvent, Timestamp};

type Feed = mpsc::UnboundedSender<Result<SseItem, Error>>;
/// A connection the hub opened: the `Last-Event-ID` it resumed from, and a handle to feed it.
type Opened = (Option<String>, Feed);

/// The connections the hub opened.
#[derive(Clone, Default)]
struct Script(Arc<Mutex<Vec<Opened>>>);

impl Script {
    fn hub(&self) -> StreamHub {
        let script = self.clone();
        StreamHub::new(Box::new(move |resume| {
            let (feed, items) = mpsc::unbounded_channel();
            script
                .0
                .lock()
                .unwrap()
                .push((resume.map(str::to_owned), feed));
            Box::pin(stream::unfold(items, |mut items| async move {
                items.recv().await.map(|item| (item, items))
            }))
        }))
    }

    fn resumed_from(&self) -> Vec<Option<String>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// Sends on the newest connection.
    fn send(&self, item: Result<SseItem, Error>) {
        let connections = self.0.lock().unwrap();
        connections.last().unwrap().1.send(item).unwrap();
    }

    /// Whether the hub still holds the newest connection.
    fn open(&self) -> bool {
        !self.0.lock().unwrap().last().unwrap().1.is_closed()
    }
}

const IDLE: Duration = Duration::from_secs(45);

fn connected() -> Result<SseItem, Error> {
    Ok(SseItem::Connected { event_stream: true })
}

fn event(id: &str, request: &str) -> Result<SseItem, Error> {
    let data = StreamEvent::new(
        EventType::Responded,
        RequestId::new(request),
        Timestamp::now(),
    )
    .with_status(Status::Responded);
    Ok(SseItem::Event(SseEvent {
        id: Some(id.into()),
        event_type: "responded".into(),
        data: serde_json::to_string(&data).unwrap(),
        retry: None,
    }))
}

/// Lets the hub's task run.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    // With time paused, a sleep ends only once every other task is idle: whatever the hub's
    // task had to do is done, however the tasks were scheduled.
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
}

/// What a subscription has received so far (`None` for its end).
async fn received(subscription: &mut Subscription) -> Vec<Option<Result<SseItem, String>>> {
    settle().await;
    let mut items = Vec::new();
    while let Some(item) = futures_util::FutureExt::now_or_never(subscription.next()) {
        let ended = item.is_none();
        items.push(item.map(|item| item.map_err(|e| e.to_string())));
        if ended {
            break;
        }
    }
    items
}

fn ok(item: Result<SseItem, Error>) -> Option<Result<SseItem, String>> {
    Some(item.map_err(|e| e.to_string()))
}

#[tokio::test(start_paused = true)]
async fn many_waits_share_one_connection_and_get_only_their_events() {
    let script = Script::default();
    let hub = script.hub();
    let mut first = hub.subscribe(&RequestId::new("r1"), IDLE);
    let mut second = hub.subscribe(&RequestId::new("r2"), IDLE);
    let mut again = hub.subscribe(&RequestId::new("r2"), IDLE);
    settle().await;
    script.send(connected());
    script.send(event("5", "r2"));
    script.send(Ok(SseItem::Comment));
    let unreadable = SseItem::Event(SseEvent {
        id: Some("6".into()),
        event_type: "odd".into(),
        data: "not json".into(),
        retry: None,
    });
    script.send(Ok(unreadable.clone()));
    // The keep-alive is not queued for anyone: what each got in its queue says the connection
    // lives.
    let everyone = [ok(connected()), ok(Ok(unreadable.clone()))];
    assert_eq!(received(&mut first).await, everyone);
    let with_event = [ok(connected()), ok(event("5", "r2")), ok(Ok(unreadable))];
    assert_eq!(received(&mut second).await, with_event);
    assert_eq!(received(&mut again).await, with_event);

    // A keep-alive wakes nobody; a wait that looks afterwards (its liveness window ran out) is
    // told the connection lives, once.
    script.send(Ok(SseItem::Comment));
    settle().await;
    assert_eq!(received(&mut first).await, [ok(Ok(SseItem::Comment))]);
    assert_eq!(received(&mut first).await, []);

    // A wait that comes later is connected at once, on the same connection.
    let mut late = hub.subscribe(&RequestId::new("r3"), IDLE);
    assert_eq!(received(&mut late).await, [ok(connected())]);
    assert_eq!(script.resumed_from(), [None]);
    assert_eq!(hub.census(), (4, Link::Up));
    drop((first, second, again, late));
    assert_eq!(hub.census().0, 0);
}

#[tokio::test(start_paused = true)]
async fn a_failure_ends_every_wait_and_the_next_one_resumes_after_the_last_event() {
    let script = Script::default();
    let hub = script.hub();
    let mut waits: Vec<_> = ["r1", "r2"]
        .iter()
        .map(|id| hub.subscribe(&RequestId::new(*id), IDLE))
        .collect();
    settle().await;
    script.send(connected());
    script.send(event("41", "r1"));
    script.send(event("42", "someone-else"));
    script.send(Err(network(NetworkErrorKind::Interrupted, "reset by peer")));
    for wait in &mut waits {
        let items = received(wait).await;
        let (error, end) = (&items[items.len() - 2], &items[items.len() - 1]);
        assert_eq!(
            error.as_ref().unwrap().as_ref().unwrap_err(),
            "network error (interrupted): reset by peer"
        );
        assert!(end.is_none());
    }
    assert_eq!(hub.census(), (0, Link::Down));

    // The next wait reconnects, after the last event of the shared stream.
    let mut next = hub.subscribe(&RequestId::new("r1"), IDLE);
    settle().await;
    assert_eq!(script.resumed_from(), [None, Some("42".into())]);
    script.send(connected());
    assert_eq!(received(&mut next).await, [ok(connected())]);
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_reaches_each_wait_as_its_own_with_status_and_retry_after() {
    let script = Script::default();
    let hub = script.hub();
    let mut waits: Vec<_> = (0..3)
        .map(|_| hub.subscribe(&RequestId::new("r1"), IDLE))
        .collect();
    settle().await;
    script.send(Err(Error::Http {
        status: 503,
        body: None,
        retry_after: Some(Duration::from_secs(7)),
    }));
    settle().await;
    for wait in &mut waits {
        match wait.next().await {
            Some(Err(Error::Http {
                status: 503,
                retry_after,
                ..
            })) => assert_eq!(retry_after, Some(Duration::from_secs(7))),
            other => panic!("{other:?}"),
        }
        assert!(wait.next().await.is_none());
    }
}

#[tokio::test(start_paused = true)]
async fn the_connection_lingers_for_the_next_wait_then_closes() {
    let script = Script::default();
    let hub = script.hub();
    let wait = hub.subscribe(&RequestId::new("r1"), IDLE);
    settle().await;
    script.send(connected());
    script.send(event("9", "r1"));
    settle().await;
    drop(wait);
    // Within the linger, a new wait reuses the connection.
    tokio::time::sleep(LINGER / 2).await;
    let mut again = hub.subscribe(&RequestId::new("r2"), IDLE);
    assert_eq!(received(&mut again).await, [ok(connected())]);
    drop(again);
    assert!(script.open());
    // Alone for the whole linger: closed, and the task is gone.
    tokio::time::sleep(LINGER + Duration::from_millis(10)).await;
    settle().await;
    assert!(!script.open());
    tokio::time::sleep(LINGER + Duration::from_millis(10)).await;
    assert_eq!(hub.census(), (0, Link::NoTask));
    // A new wait starts over, without resuming: nobody waited in between.
    let _fresh = hub.subscribe(&RequestId::new("r3"), IDLE);
    settle().await;
    assert_eq!(script.resumed_from(), [None, None]);
}

#[tokio::test(start_paused = true)]
async fn a_silent_connection_is_ended_after_the_longest_liveness_window() {
    let script = Script::default();
    let hub = script.hub();
    let mut patient = hub.subscribe(&RequestId::new("r1"), IDLE);
    let mut strict = hub.subscribe(&RequestId::new("r2"), Duration::from_secs(10));
    settle().await;
    script.send(connected());
    settle().await;
    // A wait with a short window judges it on its own; the connection stays for the others.
    tokio::time::sleep(Duration::from_secs(30)).await;
    script.send(Ok(SseItem::Comment));
    tokio::time::sleep(Duration::from_secs(44)).await;
    assert!(script.open(), "a keep-alive keeps it");
    tokio::time::sleep(Duration::from_secs(2)).await;
    for wait in [&mut patient, &mut strict] {
        let items = received(wait).await;
        // What the connection proved comes before its end.
        assert_eq!(items[1], ok(Ok(SseItem::Comment)), "{items:?}");
        let error = items[2].as_ref().unwrap().as_ref().unwrap_err();
        assert!(error.contains("not even a keep-alive"), "{error}");
        assert!(items[3].is_none());
    }
    assert!(!script.open());
}

#[test]
fn waits_end_when_the_runtime_of_the_task_goes_away() {
    let script = Script::default();
    let hub = script.hub();
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut wait = first.block_on(async {
        let wait = hub.subscribe(&RequestId::new("r1"), IDLE);
        settle().await;
        wait
    });
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    second.block_on(async {
        let error = wait.next().await.unwrap().unwrap_err();
        assert!(matches!(error, Error::Network { .. }), "{error}");
        assert!(wait.next().await.is_none());
        // The next wait starts a task on the runtime it runs on.
        let _next = hub.subscribe(&RequestId::new("r1"), IDLE);
        settle().await;
        assert_eq!(script.resumed_from().len(), 2);
    });
}

#[test]
fn outside_a_runtime_a_wait_is_told_why() {
    let hub = Script::default().hub();
    let mut wait = hub.subscribe(&RequestId::new("r1"), IDLE);
    let item = futures_util::FutureExt::now_or_never(wait.next()).unwrap();
    let error = item.unwrap().unwrap_err();
    assert!(error.to_string().contains("tokio runtime"), "{error}");
}

#[test]
fn a_task_its_runtime_never_ran_ends_the_waits_and_the_next_wait_starts_another() {
    let script = Script::default();
    let hub = script.hub();
    let gone = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let handle = gone.handle().clone();
    gone.shutdown_background();
    let mut wait = {
        let _inside = handle.enter();
        hub.subscribe(&RequestId::new("r1"), IDLE)
    };
    let item = futures_util::FutureExt::now_or_never(wait.next()).unwrap();
    assert!(matches!(item, Some(Err(Error::Network { .. }))), "{item:?}");
    let live = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    live.block_on(async {
        let _next = hub.subscribe(&RequestId::new("r1"), IDLE);
        settle().await;
        assert_eq!(script.resumed_from(), [None]);
    });
}
