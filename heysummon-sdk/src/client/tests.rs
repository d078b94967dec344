//! Unit tests of the waiting logic: a scripted [`Transport`] under paused tokio time, so hours of
//! waiting run in milliseconds and every call's instant is exact.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{Stream, StreamExt as _, stream};
use tokio::time::{Instant, sleep, sleep_until};

use super::transport::{SseEvent, SseItem, Transport};
use super::wait::wait;
use super::{WaitOptions, WaitStrategy};
use crate::Error;
use crate::error::NetworkErrorKind;
use crate::wire::{
    ErrorBody, EventType, HelpStatusResponse, RefCode, RequestId, Status, StreamEvent, Timestamp,
};

const SEC: Duration = Duration::from_secs(1);
const MIN: Duration = Duration::from_secs(60);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn request() -> RequestId {
    RequestId::new("req-1")
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    Status,
    LongPoll(u64),
    Stream,
}

type StreamScript = Vec<(Duration, Result<SseItem, Error>)>;
type StreamPlan = Box<dyn Fn(Duration, usize) -> StreamScript + Send + Sync>;
type StatusFailure = Box<dyn Fn(usize) -> Option<Error> + Send + Sync>;

/// A server in a script: when the answer comes, when the request expires, whether long-polls
/// are held, what each stream connection delivers.
struct Fake {
    start: Instant,
    wall_start: Timestamp,
    created: Timestamp,
    expires_after: Duration,
    answer_at: Option<Duration>,
    keeps_waiting_after_expiry: bool,
    holds_long_polls: bool,
    fail_status: StatusFailure,
    stream_plan: StreamPlan,
    statuses: AtomicUsize,
    streams: AtomicUsize,
    calls: Mutex<Vec<(Duration, Call)>>,
}

impl Fake {
    /// Never answers, expires after two hours, holds long-polls, has no stream (404).
    fn new() -> Self {
        let wall_start = Timestamp::now();
        Self {
            start: Instant::now(),
            wall_start,
            created: wall_start,
            expires_after: 2 * 60 * MIN,
            answer_at: None,
            keeps_waiting_after_expiry: false,
            holds_long_polls: true,
            fail_status: Box::new(|_| None),
            stream_plan: Box::new(|_, _| vec![(Duration::ZERO, Err(not_found()))]),
            statuses: AtomicUsize::new(0),
            streams: AtomicUsize::new(0),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn answered_at(mut self, at: Duration) -> Self {
        self.answer_at = Some(at);
        self
    }

    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push((self.elapsed(), call));
    }

    fn calls(&self) -> Vec<(Duration, Call)> {
        self.calls.lock().unwrap().clone()
    }

    /// The instants (whole seconds) of the calls of one kind.
    fn times(&self, wanted: impl Fn(&Call) -> bool) -> Vec<u64> {
        self.calls()
            .into_iter()
            .filter(|(_, call)| wanted(call))
            .map(|(at, _)| at.as_secs())
            .collect()
    }

    fn current(&self) -> HelpStatusResponse {
        let now = self.elapsed();
        let status = if self.answer_at.is_some_and(|at| now >= at) {
            Status::Responded
        } else if !self.keeps_waiting_after_expiry && now + SEC >= self.expires_after {
            // The server expires lazily on read; its clock may run a little ahead of ours.
            Status::Expired
        } else {
            Status::Pending
        };
        let expires_ms = i64::try_from(self.expires_after.as_millis()).unwrap();
        HelpStatusResponse {
            request_id: request(),
            ref_code: RefCode::parse("HS-AAAA0000").unwrap(),
            status,
            created_at: Some(self.created),
            expires_at: Some(self.wall_start.plus_millis(expires_ms)),
            approval_decision: None,
            responded_at: None,
            decision_signature: None,
            decided_at: None,
            response: None,
        }
    }
}

impl Transport for Fake {
    type Stream = std::pin::Pin<Box<dyn Stream<Item = Result<SseItem, Error>> + Send>>;

    async fn status(&self, _id: &RequestId) -> Result<HelpStatusResponse, Error> {
        self.record(Call::Status);
        let n = self.statuses.fetch_add(1, Ordering::SeqCst);
        match (self.fail_status)(n) {
            Some(error) => Err(error),
            None => Ok(self.current()),
        }
    }

    async fn long_poll(
        &self,
        _id: &RequestId,
        hold: Duration,
    ) -> Result<HelpStatusResponse, Error> {
        self.record(Call::LongPoll(hold.as_secs()));
        if self.holds_long_polls {
            let until = Instant::now() + hold;
            let answer = self.answer_at.map(|at| self.start + at);
            sleep_until(answer.map_or(until, |answer| answer.min(until))).await;
        }
        Ok(self.current())
    }

    fn open_stream(&self, _id: &RequestId, _idle_timeout: Duration) -> Self::Stream {
        self.record(Call::Stream);
        let n = self.streams.fetch_add(1, Ordering::SeqCst);
        let script = (self.stream_plan)(self.elapsed(), n);
        // Each item after its offset from the connection's start; then silence.
        let opened = Instant::now();
        let items = stream::iter(script).then(move |(offset, item)| async move {
            sleep_until(opened + offset).await;
            item
        });
        Box::pin(items.chain(stream::pending()))
    }
}

fn not_found() -> Error {
    Error::Http {
        status: 404,
        body: Some(Box::new(ErrorBody::new("Not found"))),
        retry_after: None,
    }
}

fn rate_limited() -> Error {
    Error::Http {
        status: 429,
        body: Some(Box::new(ErrorBody::new(
            "Too many requests. Please try again later.",
        ))),
        retry_after: Some(MIN),
    }
}

fn interrupted() -> Error {
    Error::Network {
        kind: NetworkErrorKind::Interrupted,
        source: "the event stream ended".into(),
    }
}

fn connected() -> Result<SseItem, Error> {
    Ok(SseItem::Connected { event_stream: true })
}

fn comment() -> Result<SseItem, Error> {
    Ok(SseItem::Comment)
}

fn event(
    id: &str,
    for_request: &str,
    event_type: EventType,
    retry: Option<Duration>,
) -> Result<SseItem, Error> {
    let data = StreamEvent::new(
        event_type.clone(),
        RequestId::new(for_request),
        Timestamp::now(),
    );
    Ok(SseItem::Event(SseEvent {
        id: Some(id.to_owned()),
        event_type: event_type.as_str().to_owned(),
        data: serde_json::to_string(&data).unwrap(),
        retry,
    }))
}

/// A live stream opened at `opened`: connects, greets, keeps alive every 15 s, and sends a
/// `responded` event (id 42) when the answer comes.
fn live_stream(opened: Duration, answer_at: Duration) -> StreamScript {
    let mut script = vec![(Duration::ZERO, connected()), (Duration::ZERO, comment())];
    let until_answer = answer_at.saturating_sub(opened);
    let mut at = 15 * SEC;
    while at < until_answer {
        script.push((at, comment()));
        at += 15 * SEC;
    }
    script.push((
        until_answer,
        event("42", "req-1", EventType::Responded, None),
    ));
    script
}

async fn run(fake: &Fake, options: WaitOptions) -> Result<HelpStatusResponse, Error> {
    wait(fake, &request(), &options).await
}

fn smart() -> WaitOptions {
    WaitOptions::default().with_strategy(WaitStrategy::SmartPoll)
}

// ---- smart polling ------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn smart_polling_every_10s_for_an_hour_then_every_5min_until_expiry() {
    let fake = Fake::new();
    let status = run(&fake, smart()).await.unwrap();
    assert_eq!(status.status, Status::Expired);

    let polls = fake.calls();
    assert!(
        polls.iter().all(|(_, call)| *call == Call::Status),
        "only status polls"
    );
    let times: Vec<Duration> = polls.iter().map(|(at, _)| *at).collect();
    // The first look, then every 10 s through the first hour.
    let first_hour: Vec<Duration> = (0..=360).map(|n| secs(n * 10)).collect();
    assert_eq!(times[..=360], first_hour[..]);
    // Then every 5 minutes: 65, 70, … 115 min.
    let second: Vec<Duration> = (1..=11).map(|n| secs(3600 + n * 300)).collect();
    assert_eq!(times[361..372], second[..]);
    // And a last look at expiry (2 h, up to a few real milliseconds early), then nothing.
    assert_eq!(times.len(), 373);
    let last = times[372];
    assert!(last <= secs(7200) && last > secs(7199), "{last:?}");
}

#[tokio::test(start_paused = true)]
async fn a_request_still_waiting_at_expiry_ends_with_a_timeout() {
    let mut fake = Fake::new();
    fake.expires_after = 30 * MIN;
    fake.keeps_waiting_after_expiry = true;
    let error = run(&fake, smart()).await.unwrap_err();
    let Error::Timeout { waited } = error else {
        panic!("{error:?}")
    };
    assert!(waited <= 30 * MIN && waited > 30 * MIN - SEC, "{waited:?}");
    assert!(fake.elapsed() < 30 * MIN + SEC, "no poll after expiry");
}

#[tokio::test(start_paused = true)]
async fn smart_polling_honours_retry_after_on_429() {
    let mut fake = Fake::new().answered_at(secs(95));
    // The fourth look (t = 30 s) is rate limited with `Retry-After: 60`.
    fake.fail_status = Box::new(|n| (n == 3).then(rate_limited));
    let status = run(&fake, smart()).await.unwrap();
    assert_eq!(status.status, Status::Responded);
    assert_eq!(fake.times(|c| *c == Call::Status), [0, 10, 20, 30, 90, 100]);
}

#[tokio::test(start_paused = true)]
async fn the_overall_deadline_ends_the_wait_with_a_timeout() {
    let fake = Fake::new();
    let error = run(&fake, smart().with_timeout(secs(95)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout { waited } if waited == secs(95)),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(fake.elapsed(), secs(95));
    assert_eq!(
        fake.times(|_| true),
        [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
    );
}

#[tokio::test(start_paused = true)]
async fn the_phases_count_from_the_requests_creation() {
    // A wait resumed 59 min 50 s into the request's life polls once at 10 s, then every 5 min.
    let mut fake = Fake::new();
    fake.created = fake.wall_start.plus_millis(-(59 * 60 + 50) * 1000);
    fake.expires_after = 20 * MIN;
    let status = run(&fake, smart()).await.unwrap();
    assert_eq!(status.status, Status::Expired);
    assert_eq!(fake.times(|_| true)[..4], [0, 10, 310, 610]);
}

#[tokio::test(start_paused = true)]
async fn an_answer_already_there_is_returned_at_once() {
    let fake = Fake::new().answered_at(Duration::ZERO);
    let status = run(&fake, WaitOptions::default()).await.unwrap();
    assert_eq!(status.status, Status::Responded);
    assert_eq!(fake.calls(), [(Duration::ZERO, Call::Status)]);
}

#[tokio::test(start_paused = true)]
async fn errors_that_cannot_heal_end_the_wait_at_once() {
    let mut fake = Fake::new();
    fake.fail_status = Box::new(|n| {
        (n == 2).then(|| Error::Http {
            status: 404,
            body: Some(Box::new(ErrorBody::new("Request not found"))),
            retry_after: None,
        })
    });
    let error = run(&fake, smart()).await.unwrap_err();
    assert_eq!(error.http_status(), Some(404));
    assert_eq!(fake.elapsed(), secs(20));
}

#[tokio::test(start_paused = true)]
async fn the_first_look_is_retried_with_backoff() {
    let mut fake = Fake::new().answered_at(Duration::ZERO);
    fake.fail_status = Box::new(|n| (n < 2).then(rate_limited));
    let status = run(&fake, smart()).await.unwrap();
    assert_eq!(status.status, Status::Responded);
    assert_eq!(fake.times(|_| true), [0, 60, 120]);
}

// ---- long-poll ----------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn long_polls_follow_one_another() {
    let fake = Fake::new().answered_at(secs(130));
    let options = WaitOptions::default().with_strategy(WaitStrategy::LongPoll);
    let status = run(&fake, options).await.unwrap();
    assert_eq!(status.status, Status::Responded);
    assert_eq!(
        fake.calls(),
        [
            (secs(0), Call::Status),
            (secs(0), Call::LongPoll(50)),
            (secs(50), Call::LongPoll(50)),
            (secs(100), Call::LongPoll(50)),
        ]
    );
    assert_eq!(fake.elapsed(), secs(130));
}

#[tokio::test(start_paused = true)]
async fn long_polls_to_a_server_that_does_not_hold_are_paced() {
    let mut fake = Fake::new().answered_at(secs(35));
    fake.holds_long_polls = false;
    let options = WaitOptions::default().with_strategy(WaitStrategy::LongPoll);
    let status = run(&fake, options).await.unwrap();
    assert_eq!(status.status, Status::Responded);
    assert_eq!(
        fake.times(|c| matches!(c, Call::LongPoll(_))),
        [0, 10, 20, 30, 40]
    );
}

// ---- event stream -------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn sse_confirms_events_with_a_status_look() {
    let mut fake = Fake::new().answered_at(secs(100));
    fake.stream_plan = Box::new(|opened, _| {
        let mut script = live_stream(opened, secs(100));
        // An event of another request on the way is not looked into.
        script.insert(
            2,
            (secs(5), event("40", "req-2", EventType::NewMessage, None)),
        );
        script
    });
    let options = WaitOptions::default().with_strategy(WaitStrategy::Sse);
    let status = run(&fake, options).await.unwrap();
    assert_eq!(status.status, Status::Responded);
    assert_eq!(
        fake.calls(),
        [
            (secs(0), Call::Status),
            (secs(0), Call::Stream),
            (secs(0), Call::Status),
            (secs(100), Call::Status),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn sse_reconnects_after_the_retry_hint() {
    let mut fake = Fake::new().answered_at(secs(100));
    fake.stream_plan = Box::new(|opened, n| match n {
        0 => vec![
            (Duration::ZERO, connected()),
            (
                secs(5),
                event("7", "req-1", EventType::KeysExchanged, Some(3 * SEC)),
            ),
            (secs(20), Err(interrupted())),
        ],
        _ => live_stream(opened, secs(100)),
    });
    let options = WaitOptions::default().with_strategy(WaitStrategy::Sse);
    let status = run(&fake, options).await.unwrap();
    assert_eq!(status.status, Status::Responded);
    let streams: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|(_, call)| matches!(call, Call::Stream))
        .collect();
    // The broken stream proved itself with an event, so the backoff starts over; the server's
    // `retry: 3000` is the floor of the reconnect delay.
    assert_eq!(
        streams,
        [(secs(0), Call::Stream), (secs(23), Call::Stream),]
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_stream_is_reconnected_and_keep_alives_keep_one_open() {
    let mut fake = Fake::new().answered_at(secs(200));
    fake.stream_plan = Box::new(|opened, n| match n {
        // Connected, then nothing at all: dead after 45 s.
        0 => vec![(Duration::ZERO, connected())],
        // Keep-alives every 15 s: never reconnected until the answer.
        _ => live_stream(opened, secs(200)),
    });
    let options = WaitOptions::default().with_strategy(WaitStrategy::Sse);
    let status = run(&fake, options).await.unwrap();
    assert_eq!(status.status, Status::Responded);
    let streams: Vec<Duration> = fake
        .calls()
        .into_iter()
        .filter(|(_, call)| matches!(call, Call::Stream))
        .map(|(at, _)| at)
        .collect();
    assert_eq!(streams.len(), 2, "{streams:?}");
    assert!(
        streams[1] >= secs(45) && streams[1] <= secs(46),
        "{streams:?}"
    );
    assert_eq!(fake.elapsed(), secs(200));
}

#[tokio::test(start_paused = true)]
async fn sse_alone_fails_on_a_server_without_a_stream() {
    let fake = Fake::new();
    let options = WaitOptions::default().with_strategy(WaitStrategy::Sse);
    let error = run(&fake, options).await.unwrap_err();
    assert_eq!(error.http_status(), Some(404));
}

// ---- auto ---------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn auto_falls_back_from_sse_to_long_poll_to_smart_polling_and_returns_to_sse() {
    // A HeySummon v1 server (no stream, `wait` ignored) until the stream appears at 10 min.
    let mut fake = Fake::new().answered_at(secs(700));
    fake.holds_long_polls = false;
    fake.stream_plan = Box::new(|opened, _| {
        if opened < 10 * MIN {
            vec![(Duration::ZERO, Err(not_found()))]
        } else {
            live_stream(opened, secs(700))
        }
    });
    let status = run(&fake, WaitOptions::default()).await.unwrap();
    assert_eq!(status.status, Status::Responded);

    let calls = fake.calls();
    let kinds: Vec<(u64, &str)> = calls
        .iter()
        .map(|(at, call)| {
            let kind = match call {
                Call::Status => "status",
                Call::LongPoll(_) => "long-poll",
                Call::Stream => "stream",
            };
            (at.as_secs(), kind)
        })
        .collect();
    // SSE first: 404. Long-poll: answered at once three times (paced at 10 s). Smart polling
    // every 10 s; at 5 min SSE is tried again (404 again), back to smart polling; at 10 min the
    // stream is back: connect, look, and the answer arrives as an event.
    let mut expected = vec![
        (0, "status"),
        (0, "stream"),
        (0, "long-poll"),
        (10, "long-poll"),
        (20, "long-poll"),
    ];
    expected.extend((3..30).map(|n| (n * 10, "status")));
    expected.push((300, "stream"));
    expected.extend((31..60).map(|n| (n * 10, "status")));
    expected.extend([(600, "stream"), (600, "status"), (700, "status")]);
    assert_eq!(kinds, expected);
}

#[tokio::test(start_paused = true)]
async fn auto_uses_long_polls_when_the_server_holds_them() {
    let fake = Fake::new().answered_at(secs(130));
    let status = run(&fake, WaitOptions::default()).await.unwrap();
    assert_eq!(status.status, Status::Responded);
    assert_eq!(
        fake.calls(),
        [
            (secs(0), Call::Status),
            (secs(0), Call::Stream),
            (secs(0), Call::LongPoll(50)),
            (secs(50), Call::LongPoll(50)),
            (secs(100), Call::LongPoll(50)),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn auto_gives_up_on_streams_that_keep_dying_young() {
    let mut fake = Fake::new().answered_at(secs(60));
    fake.stream_plan = Box::new(|_, _| {
        vec![
            (Duration::ZERO, connected()),
            (Duration::ZERO, comment()),
            (SEC, Err(interrupted())),
        ]
    });
    let status = run(&fake, WaitOptions::default()).await.unwrap();
    assert_eq!(status.status, Status::Responded);
    let streams = fake.times(|c| matches!(c, Call::Stream));
    let long_polls = fake.times(|c| matches!(c, Call::LongPoll(_)));
    assert_eq!(streams.len(), 3, "{streams:?}");
    assert!(!long_polls.is_empty());
    assert!(long_polls[0] >= streams[2]);
}

#[tokio::test(start_paused = true)]
async fn auto_falls_back_when_the_stream_is_unreachable() {
    let mut fake = Fake::new().answered_at(secs(30));
    fake.stream_plan = Box::new(|_, _| {
        vec![(
            Duration::ZERO,
            Err(Error::Network {
                kind: NetworkErrorKind::Connect,
                source: "connection refused".into(),
            }),
        )]
    });
    run(&fake, WaitOptions::default()).await.unwrap();
    assert_eq!(fake.times(|c| matches!(c, Call::Stream)), [0]);
    assert_eq!(fake.times(|c| matches!(c, Call::LongPoll(_))), [0]);
}

#[tokio::test(start_paused = true)]
async fn auto_does_not_fall_back_on_an_authentication_failure() {
    let mut fake = Fake::new();
    fake.stream_plan = Box::new(|_, _| {
        vec![(
            Duration::ZERO,
            Err(Error::Http {
                status: 401,
                body: Some(Box::new(ErrorBody::new("Invalid or inactive API key"))),
                retry_after: None,
            }),
        )]
    });
    let error = run(&fake, WaitOptions::default()).await.unwrap_err();
    assert_eq!(error.http_status(), Some(401));
}

#[tokio::test(start_paused = true)]
async fn dropping_a_wait_is_harmless() {
    let fake = Fake::new().answered_at(secs(100));
    let options = WaitOptions::default();
    tokio::select! {
        _ = run(&fake, options.clone()) => panic!("no answer yet"),
        () = sleep(secs(30)) => {}
    }
    // A fresh wait after the cancelled one still finds the answer.
    let status = run(&fake, options).await.unwrap();
    assert_eq!(status.status, Status::Responded);
}

#[tokio::test(start_paused = true)]
async fn zero_intervals_are_refused_before_anything_is_sent() {
    let fake = Fake::new();
    let options = smart().with_smart_poll(Duration::ZERO, MIN, MIN);
    assert!(matches!(
        run(&fake, options).await,
        Err(Error::Config { .. })
    ));
    assert!(fake.calls().is_empty());
}
