//! `Client::wait` against a real heysummon-server on 127.0.0.1:0 (temporary SQLite file, system
//! clock): every strategy sees the expert's answer, a close, a foreign request and a deadline;
//! and a wait survives the server restarting on the same database and port (PROTOCOL B1: the
//! event log is durable, an agent resumes with `Last-Event-ID`).

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use heysummon_sdk::Error;
use heysummon_sdk::client::{BackoffPolicy, Client, WaitOptions, WaitStrategy};
use heysummon_sdk::wire::{HelpStatusResponse, RequestId, Status};
use heysummon_server::testing::TestApp;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// No test waits longer than this.
const LIMIT: Duration = Duration::from_secs(10);
/// Long enough that an answer within [`LIMIT`] cannot have come from a smart poll.
const SLOW_POLLS: Duration = Duration::from_secs(60);

struct Server {
    /// The shared harness: a restart binds the same address again.
    app: TestApp,
    base: String,
    addr: SocketAddr,
    http: reqwest::Client,
    expert_key: String,
    client_key: String,
    other_client_key: String,
}

impl Server {
    async fn start() -> Self {
        let app = TestApp::spawn().await;
        let other = app.tenant("Bob").await;
        Self {
            base: app.base.clone(),
            addr: app.addr,
            http: reqwest::Client::new(),
            expert_key: app.expert_key.clone(),
            client_key: app.client_key.clone(),
            other_client_key: other.client_key,
            app,
        }
    }

    fn client(&self, key: &str) -> Client {
        client_at(&self.base, key)
    }

    /// Graceful shutdown, as on SIGTERM: waits until serving has ended (streams closed,
    /// listener released).
    async fn stop(&mut self) {
        self.app.stop().await;
    }

    /// Starts a new server instance on the same database file and the same address.
    async fn start_again(&mut self) {
        self.app.start_again().await;
    }

    async fn post(&self, path: &str, key: Option<&str>, body: Value) -> Value {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    async fn ask(&self) -> RequestId {
        let body = json!({
            "apiKey": self.client_key,
            "signPublicKey": "test-sign-key",
            "encryptPublicKey": "test-encrypt-key",
            "question": "May I deploy on a Friday?",
        });
        let created = self.post("/api/v1/help", None, body).await;
        RequestId::new(created["requestId"].as_str().unwrap())
    }

    async fn answer(&self, id: &RequestId, text: &str) {
        let body = json!({"from": "expert", "plaintext": text});
        self.post(
            &format!("/api/v1/message/{id}"),
            Some(&self.expert_key),
            body,
        )
        .await;
    }

    /// The agent's side says something: a `new_message` event that leaves the request waiting.
    async fn nudge(&self, id: &RequestId) {
        let body = json!({"from": "consumer", "plaintext": "Any news?"});
        self.post(
            &format!("/api/v1/message/{id}"),
            Some(&self.client_key),
            body,
        )
        .await;
    }

    async fn close(&self, id: &RequestId) {
        self.post(
            &format!("/api/v1/close/{id}"),
            Some(&self.client_key),
            json!({}),
        )
        .await;
    }
}

fn client_at(base: &str, key: &str) -> Client {
    Client::builder()
        .base_url(base)
        .api_key(key)
        .build()
        .unwrap()
}

fn options(strategy: WaitStrategy) -> WaitOptions {
    WaitOptions::default()
        .with_strategy(strategy)
        .with_timeout(LIMIT)
        .with_smart_poll(SLOW_POLLS, Duration::from_secs(3600), SLOW_POLLS)
}

/// Waits with `options` while the expert answers after a moment; returns the status and how long
/// the wait took.
async fn wait_for_answer(options: WaitOptions) -> (Status, Option<String>, Duration) {
    let server = Server::start().await;
    let id = server.ask().await;
    let client = server.client(&server.client_key);
    let started = Instant::now();
    let waiting = client.wait(&id, options);
    let answering = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.answer(&id, "Only with a rollback plan.").await;
    };
    let (status, ()) = tokio::join!(waiting, answering);
    let status = status.unwrap();
    (status.status, status.response, started.elapsed())
}

#[tokio::test]
async fn sse_sees_the_answer() {
    let (status, response, took) = wait_for_answer(options(WaitStrategy::Sse)).await;
    assert_eq!(status, Status::Responded);
    assert_eq!(response.as_deref(), Some("Only with a rollback plan."));
    assert!(took < SLOW_POLLS / 2, "{took:?}");
}

#[tokio::test]
async fn auto_sees_the_answer() {
    let (status, _, took) = wait_for_answer(options(WaitStrategy::Auto)).await;
    assert_eq!(status, Status::Responded);
    assert!(took < SLOW_POLLS / 2, "{took:?}");
}

#[tokio::test]
async fn long_poll_sees_the_answer() {
    let (status, _, took) = wait_for_answer(options(WaitStrategy::LongPoll)).await;
    assert_eq!(status, Status::Responded);
    assert!(took < SLOW_POLLS / 2, "{took:?}");
}

#[tokio::test]
async fn smart_polling_sees_the_answer() {
    let fast = WaitOptions::default()
        .with_strategy(WaitStrategy::SmartPoll)
        .with_timeout(LIMIT)
        .with_smart_poll(
            Duration::from_millis(100),
            Duration::from_secs(3600),
            Duration::from_millis(100),
        );
    let (status, _, _) = wait_for_answer(fast).await;
    assert_eq!(status, Status::Responded);
}

#[tokio::test]
async fn a_close_ends_the_wait() {
    let server = Server::start().await;
    let id = server.ask().await;
    let client = server.client(&server.client_key);
    let closing = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.close(&id).await;
    };
    let (status, ()) = tokio::join!(client.wait(&id, options(WaitStrategy::Auto)), closing);
    assert_eq!(status.unwrap().status, Status::Closed);
}

#[tokio::test]
async fn an_answer_already_there_is_returned_at_once() {
    let server = Server::start().await;
    let id = server.ask().await;
    server.answer(&id, "Yes.").await;
    let client = server.client(&server.client_key);
    let status = client.wait(&id, options(WaitStrategy::Auto)).await.unwrap();
    assert_eq!(status.status, Status::Responded);
    assert_eq!(client.status(&id).await.unwrap().status, Status::Responded);
}

#[tokio::test]
async fn another_tenants_request_is_not_found() {
    let server = Server::start().await;
    let id = server.ask().await;
    let stranger = server.client(&server.other_client_key);
    let error = stranger
        .wait(&id, options(WaitStrategy::Auto))
        .await
        .unwrap_err();
    assert_eq!(error.http_status(), Some(404), "{error}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn the_deadline_ends_a_wait_without_an_answer() {
    let server = Server::start().await;
    let id = server.ask().await;
    let client = server.client(&server.client_key);
    for strategy in [WaitStrategy::Sse, WaitStrategy::LongPoll] {
        let started = Instant::now();
        let options = options(strategy).with_timeout(Duration::from_millis(700));
        let error = client.wait(&id, options).await.unwrap_err();
        assert!(
            matches!(error, Error::Timeout { .. }),
            "{strategy:?}: {error}"
        );
        assert!(started.elapsed() < Duration::from_secs(3), "{strategy:?}");
    }
}

// ---- a server restarted mid-wait on the same database and port --------------------------------

/// Bounds every wait across a restart (its `WaitOptions::timeout`; a few seconds more with
/// `tokio::time::timeout`), so nothing can hang.
const RESTART_LIMIT: Duration = Duration::from_secs(20);
/// How fast an answer must arrive across a restart.
const RESTART_BOUND: Duration = Duration::from_secs(15);

/// Reconnects and retries quickly; no smart poll within [`RESTART_LIMIT`].
fn restart_options(strategy: WaitStrategy) -> WaitOptions {
    options(strategy)
        .with_timeout(RESTART_LIMIT)
        .with_backoff(BackoffPolicy::new(
            Duration::from_millis(50),
            Duration::from_millis(250),
            2,
        ))
}

type Waiting = JoinHandle<(Result<HelpStatusResponse, Error>, Duration)>;

/// Starts `client.wait` in a task of its own, bounded by [`RESTART_LIMIT`]; the result says how
/// long the wait took.
fn spawn_wait(client: Client, id: &RequestId, options: WaitOptions) -> Waiting {
    let id = id.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let guard = RESTART_LIMIT + Duration::from_secs(5);
        let status = tokio::time::timeout(guard, client.wait(&id, options))
            .await
            .unwrap_or_else(|_| panic!("the wait did not end within {guard:?}"));
        (status, started.elapsed())
    })
}

/// Fails if the wait has already ended (before the expert answered).
async fn still_waiting(waiting: &mut Waiting) {
    if waiting.is_finished() {
        let ended = waiting.await;
        panic!("the wait ended before the expert answered: {ended:?}");
    }
}

/// Polls `found` every 20 ms for up to 5 s.
async fn eventually<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not within 5 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const STREAM_REQUEST: &str = "GET /api/v1/events/stream";

/// What went through one connection of a [`Relay`].
#[derive(Clone, Debug, Default)]
struct Exchange {
    /// Client to server.
    sent: Vec<u8>,
    /// Server to client.
    received: Vec<u8>,
}

impl Exchange {
    /// A stream request holds its connection: it is the last request on it (a pooled
    /// connection may have carried status calls before).
    fn is_stream(&self) -> bool {
        String::from_utf8_lossy(&self.sent).contains(STREAM_REQUEST)
    }

    /// The value of a header of the stream request on this connection.
    fn request_header(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.sent);
        let (_, request) = text.rsplit_once(STREAM_REQUEST)?;
        let head = request.split("\r\n\r\n").next().unwrap_or_default();
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    /// The `(id, event type)` of every event received (chunked framing aside, every event our
    /// server sends has both an `id:` and an `event:` line).
    fn events(&self) -> Vec<(i64, String)> {
        sse_events(&self.received)
    }
}

fn sse_events(bytes: &[u8]) -> Vec<(i64, String)> {
    let text = String::from_utf8_lossy(bytes);
    let (mut id, mut kind) = (None, None);
    let mut events = Vec::new();
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("id:") {
            id = value.trim().parse::<i64>().ok();
        } else if let Some(value) = line.strip_prefix("event:") {
            kind = Some(value.trim().to_owned());
        }
        if let (Some(i), Some(k)) = (id, kind.as_ref()) {
            events.push((i, k.clone()));
            (id, kind) = (None, None);
        }
    }
    events
}

/// A TCP relay between the agent and the server that records what passes through it, and can
/// hold new connections at its door (so that what the server does meanwhile happens, for
/// certain, before the agent's next connection reaches it). It connects to the server anew for
/// every connection, so it follows the server across a restart on the same address.
struct Relay {
    base: String,
    door: watch::Sender<bool>,
    log: Arc<Mutex<RelayLog>>,
}

#[derive(Debug, Default)]
struct RelayLog {
    /// Per connection, in the order they were accepted.
    exchanges: Vec<Exchange>,
    /// What the agent received, in order: (connection, bytes).
    received: Vec<(usize, Vec<u8>)>,
}

impl Relay {
    async fn start(server: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (door, doorway) = watch::channel(true);
        let log = Arc::new(Mutex::new(RelayLog::default()));
        let accepted = Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok((agent, _)) = listener.accept().await {
                let index = {
                    let mut log = accepted.lock().unwrap();
                    log.exchanges.push(Exchange::default());
                    log.exchanges.len() - 1
                };
                let mut doorway = doorway.clone();
                let log = Arc::clone(&accepted);
                tokio::spawn(async move {
                    if doorway.wait_for(|open| *open).await.is_err() {
                        return;
                    }
                    // While the server is down the agent's connection just closes.
                    let Ok(upstream) = TcpStream::connect(server).await else {
                        return;
                    };
                    let (agent_read, agent_write) = agent.into_split();
                    let (server_read, server_write) = upstream.into_split();
                    tokio::join!(
                        pump(agent_read, server_write, Arc::clone(&log), index, true),
                        pump(server_read, agent_write, log, index, false),
                    );
                });
            }
        });
        Self { base, door, log }
    }

    /// New connections wait at the door until it opens again.
    fn hold(&self) {
        self.door.send_replace(false);
    }

    fn open(&self) {
        self.door.send_replace(true);
    }

    /// Waits until a stream connection after the first `skip` has been greeted by the server.
    async fn stream_greeted(&self, skip: usize) {
        eventually("the agent's event stream is open", || {
            self.streams()
                .iter()
                .skip(skip)
                .any(|s| String::from_utf8_lossy(&s.received).contains(": connected"))
                .then_some(())
        })
        .await;
    }

    /// The event stream connections so far, oldest first.
    fn streams(&self) -> Vec<Exchange> {
        let log = self.log.lock().unwrap();
        log.exchanges
            .iter()
            .filter(|e| e.is_stream())
            .cloned()
            .collect()
    }

    /// Everything that went through, as text.
    fn dump(&self) -> String {
        let log = self.log.lock().unwrap();
        let mut text = String::new();
        for (index, exchange) in log.exchanges.iter().enumerate() {
            text += &format!(
                "=== connection {index}\n--- sent\n{}\n--- received\n{}\n",
                String::from_utf8_lossy(&exchange.sent),
                String::from_utf8_lossy(&exchange.received)
            );
        }
        text
    }

    /// Whether the agent, after it received an event of this type, had a status answer (it
    /// confirms the status on every event of its request): it has handled the event.
    fn status_read_after(&self, event_type: &str) -> bool {
        let marker = format!("event: {event_type}\n");
        let log = self.log.lock().unwrap();
        let mut so_far = vec![Vec::new(); log.exchanges.len()];
        let mut after = vec![Vec::new(); log.exchanges.len()];
        let mut event_at = None;
        for (exchange, bytes) in &log.received {
            match event_at {
                None => {
                    let seen = &mut so_far[*exchange];
                    seen.extend_from_slice(bytes);
                    if String::from_utf8_lossy(seen).contains(&marker) {
                        event_at = Some(*exchange);
                    }
                }
                Some(stream) if stream != *exchange => after[*exchange].extend_from_slice(bytes),
                Some(_) => {}
            }
        }
        after
            .iter()
            .any(|bytes| String::from_utf8_lossy(bytes).contains(r#""status":"pending""#))
    }
}

async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    log: Arc<Mutex<RelayLog>>,
    index: usize,
    sent: bool,
) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let chunk = &buffer[..read];
        {
            let mut log = log.lock().unwrap();
            let exchange = &mut log.exchanges[index];
            if sent {
                exchange.sent.extend_from_slice(chunk);
            } else {
                exchange.received.extend_from_slice(chunk);
                log.received.push((index, chunk.to_vec()));
            }
        }
        if to.write_all(chunk).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// The events a fresh subscription resuming after `after` replays, read until `responded`
/// arrives and then a little longer (to catch a duplicate).
async fn replay_after(server: &Server, id: &RequestId, after: i64) -> (Vec<(i64, String)>, String) {
    let mut response = server
        .http
        .get(format!(
            "{}/api/v1/events/stream?requestId={id}",
            server.base
        ))
        .header("x-api-key", &server.client_key)
        .header("last-event-id", after.to_string())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let mut body = Vec::new();
    let mut until = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut responded = false;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(until, response.chunk()).await {
        body.extend_from_slice(&chunk);
        if !responded && sse_events(&body).iter().any(|(_, k)| k == "responded") {
            responded = true;
            until = tokio::time::Instant::now() + Duration::from_millis(300);
        }
    }
    (
        sse_events(&body),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn an_answer_given_while_the_agent_is_disconnected_is_replayed_on_reconnect() {
    let mut server = Server::start().await;
    let relay = Relay::start(server.addr).await;
    let id = server.ask().await;
    let agent = client_at(&relay.base, &server.client_key);
    let mut waiting = spawn_wait(agent, &id, restart_options(WaitStrategy::Sse));
    relay.stream_greeted(0).await;

    // The agent follows the stream and has seen an event of its request: its resume point.
    server.nudge(&id).await;
    let seen = eventually("the agent sees the new_message event", || {
        relay.streams().first().and_then(|stream| {
            let events = stream.events();
            events
                .iter()
                .find(|(_, kind)| kind == "new_message")
                .map(|(at, _)| *at)
        })
    })
    .await;
    eventually("the agent has handled it", || {
        relay.status_read_after("new_message").then_some(())
    })
    .await;
    let streams_before = relay.streams().len();

    // The server goes away: the agent's stream ends and it tries to reconnect, with backoff; its
    // attempt waits at the relay's door, so it cannot reach the server before the answer is in
    // the durable log.
    relay.hold();
    server.stop().await;
    server.start_again().await;
    // While the agent is still disconnected, the expert answers (to the new instance).
    server.answer(&id, "Only with a rollback plan.").await;
    still_waiting(&mut waiting).await;
    relay.open();

    let (status, took) = waiting.await.unwrap();
    let status = status.unwrap();
    assert_eq!(status.status, Status::Responded);
    assert_eq!(
        status.response.as_deref(),
        Some("Only with a rollback plan.")
    );
    assert!(took < RESTART_BOUND, "{took:?}");

    // It reconnected once the door opened, resuming after the event it had seen…
    let streams = relay.streams();
    assert!(
        streams.len() > streams_before,
        "no reconnect:\n{}",
        relay.dump()
    );
    let resumed = streams.last().unwrap();
    assert_eq!(
        resumed.request_header("last-event-id"),
        Some(seen.to_string()),
        "{:?}",
        String::from_utf8_lossy(&resumed.sent)
    );
    // …what it was sent there is after that point, with `responded` at most once…
    let resent = resumed.events();
    assert!(resent.iter().all(|(at, _)| *at > seen), "{resent:?}");
    assert!(
        resent.iter().filter(|(_, k)| k == "responded").count() <= 1,
        "{resent:?}"
    );
    // …and a subscription resuming from there replays the answer from the durable log: the
    // expert's message and `responded`, once each, in order, without the message's content.
    let (replayed, raw) = replay_after(&server, &id, seen).await;
    let kinds: Vec<_> = replayed.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(kinds, ["new_message", "responded"], "{raw}");
    assert!(replayed.iter().all(|(at, _)| *at > seen), "{replayed:?}");
    assert!(replayed.windows(2).all(|w| w[0].0 < w[1].0), "{replayed:?}");
    assert!(!raw.contains("rollback"), "{raw}");
}

#[tokio::test]
async fn sse_sees_an_answer_given_after_reconnecting_to_the_restarted_server() {
    let mut server = Server::start().await;
    let relay = Relay::start(server.addr).await;
    let id = server.ask().await;
    let agent = client_at(&relay.base, &server.client_key);
    let mut waiting = spawn_wait(agent, &id, restart_options(WaitStrategy::Sse));
    relay.stream_greeted(0).await;

    server.stop().await;
    let streams_before = relay.streams().len();
    server.start_again().await;
    // The agent reconnects to the new instance (its stream there is greeted)…
    relay.stream_greeted(streams_before).await;
    still_waiting(&mut waiting).await;
    // …and only then does the expert answer.
    server.answer(&id, "Only with a rollback plan.").await;

    let (status, took) = waiting.await.unwrap();
    let status = status.unwrap();
    assert_eq!(status.status, Status::Responded);
    assert_eq!(
        status.response.as_deref(),
        Some("Only with a rollback plan.")
    );
    assert!(took < RESTART_BOUND, "{took:?}");
}

/// The agent talks to the server directly (a stopped server refuses connections); the server
/// restarts mid-wait and the expert answers after the restart.
async fn restart_mid_wait(options: WaitOptions) -> (Status, Duration) {
    let mut server = Server::start().await;
    let id = server.ask().await;
    let agent = server.client(&server.client_key);
    let mut waiting = spawn_wait(agent, &id, options);
    // Let the agent settle into its stream or long-poll, with an event seen on a stream.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.nudge(&id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.stop().await;
    // Down for a while: the agent's attempts are refused.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.start_again().await;
    // Time to reconnect or retry (the backoff is at most 250 ms).
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    still_waiting(&mut waiting).await;
    server.answer(&id, "Only with a rollback plan.").await;

    let (status, took) = waiting.await.unwrap();
    let status = status.unwrap();
    assert_eq!(
        status.response.as_deref(),
        Some("Only with a rollback plan.")
    );
    (status.status, took)
}

#[tokio::test]
async fn sse_survives_a_restart_mid_wait() {
    let (status, took) = restart_mid_wait(restart_options(WaitStrategy::Sse)).await;
    assert_eq!(status, Status::Responded);
    assert!(took < RESTART_BOUND, "{took:?}");
}

#[tokio::test]
async fn auto_survives_a_restart_mid_wait() {
    let (status, took) = restart_mid_wait(restart_options(WaitStrategy::Auto)).await;
    assert_eq!(status, Status::Responded);
    assert!(took < RESTART_BOUND, "{took:?}");
}

/// At graceful shutdown the server answers a held long-poll at once with the unchanged status,
/// which the client cannot tell from a server that does not hold long-polls: it paces its next
/// poll at `first_phase_interval`. Hence a short one here; see the ignored test below.
#[tokio::test]
async fn long_poll_survives_a_restart_mid_wait() {
    let options = restart_options(WaitStrategy::LongPoll).with_smart_poll(
        Duration::from_secs(1),
        Duration::from_secs(3600),
        SLOW_POLLS,
    );
    let (status, took) = restart_mid_wait(options).await;
    assert_eq!(status, Status::Responded);
    assert!(took < RESTART_BOUND, "{took:?}");
}

/// What a long-poll across a restart should do: carry on holding (PROTOCOL B1: a long-poll
/// answers when the status changes, else after N seconds). Today the early answer at shutdown
/// makes the client wait `first_phase_interval` (60 s here, 10 s by default) before polling the
/// restarted server, so the answer is late.
#[tokio::test]
async fn long_poll_is_not_slowed_down_by_a_restart() {
    let (status, took) = restart_mid_wait(restart_options(WaitStrategy::LongPoll)).await;
    assert_eq!(status, Status::Responded);
    assert!(took < RESTART_BOUND, "{took:?}");
}
