//! Server-Sent Events for the tests: an open event stream parsed frame by frame from
//! `Response::chunk`, every read bounded by a timeout.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use heysummon_sdk::wire::StreamEvent;
use reqwest::StatusCode;
use serde_json::Value;

/// The longest any single wait on a stream may take.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long a stream must stay silent to count as "nothing more arrives".
pub const QUIET: Duration = Duration::from_millis(300);

/// One SSE frame (the lines up to a blank line).
#[derive(Clone, Debug, Default)]
pub struct Frame {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Option<String>,
    pub retry: Option<u64>,
    pub comments: Vec<String>,
}

impl Frame {
    pub fn parse(text: &str) -> Self {
        let mut frame = Self::default();
        for line in text.split('\n') {
            if let Some(comment) = line.strip_prefix(':') {
                let comment = comment.strip_prefix(' ').unwrap_or(comment);
                frame.comments.push(comment.to_owned());
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
            match field {
                "id" => frame.id = Some(value),
                "event" => frame.event = Some(value),
                "retry" => frame.retry = Some(value.parse().unwrap()),
                "data" => {
                    let joined = frame.data.take().map(|d| format!("{d}\n{value}"));
                    frame.data = Some(joined.unwrap_or(value));
                }
                _ => {}
            }
        }
        frame
    }

    /// Whether the frame dispatches an event (not only comments or `retry:`).
    pub fn is_event(&self) -> bool {
        self.data.is_some() || self.event.is_some()
    }

    pub fn id(&self) -> i64 {
        let id = self.id.as_deref();
        id.and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("an event without a numeric id: {self:?}"))
    }

    pub fn kind(&self) -> &str {
        self.event
            .as_deref()
            .unwrap_or_else(|| panic!("an event without a type: {self:?}"))
    }

    pub fn data(&self) -> &str {
        self.data
            .as_deref()
            .unwrap_or_else(|| panic!("an event without data: {self:?}"))
    }

    pub fn payload(&self) -> StreamEvent {
        serde_json::from_str(self.data())
            .unwrap_or_else(|e| panic!("event data is not a stream event ({e}): {self:?}"))
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(self.data())
            .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {self:?}"))
    }

    pub fn request_id(&self) -> String {
        self.json()["requestId"]
            .as_str()
            .unwrap_or_else(|| panic!("an event without a requestId: {self:?}"))
            .to_owned()
    }
}

/// What one bounded read of a stream gives.
pub enum Read {
    Frame(Frame),
    End,
    Timeout,
}

/// An open event stream with a small SSE frame parser over `Response::chunk`.
pub struct Stream {
    /// Where the stream is open (for messages).
    pub label: String,
    pub response: reqwest::Response,
    buffer: Vec<u8>,
    frames: VecDeque<Frame>,
}

impl Stream {
    /// Wraps a response without reading from it.
    pub fn new(response: reqwest::Response, label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            response,
            buffer: Vec::new(),
            frames: VecDeque::new(),
        }
    }

    /// Wraps a 200 response and consumes its greeting (a frame with `: connected` and no
    /// event), after which the subscription is live; returns the stream and the greeting.
    pub async fn greeted(response: reqwest::Response, label: impl Into<String>) -> (Self, Frame) {
        let mut stream = Self::new(response, label);
        let label = &stream.label;
        assert_eq!(stream.response.status(), StatusCode::OK, "{label}");
        let greeting = match stream.read(WAIT).await {
            Read::Frame(greeting) => greeting,
            Read::End | Read::Timeout => panic!("{}: no greeting", stream.label),
        };
        assert!(
            !greeting.is_event() && greeting.comments.iter().any(|c| c == "connected"),
            "{}: not a greeting: {greeting:?}",
            stream.label
        );
        (stream, greeting)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap())
    }

    pub async fn read(&mut self, within: Duration) -> Read {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(frame) = self.frames.pop_front() {
                return Read::Frame(frame);
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return Read::Timeout,
                Ok(Ok(None) | Err(_)) => return Read::End,
                Ok(Ok(Some(bytes))) => {
                    self.buffer.extend(bytes.iter().filter(|b| **b != b'\r'));
                    while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                        let text: Vec<u8> = self.buffer.drain(..end + 2).collect();
                        let text = String::from_utf8(text).unwrap();
                        self.frames
                            .push_back(Frame::parse(text.trim_end_matches('\n')));
                    }
                }
            }
        }
    }

    /// The next event frame (comments skipped) within [`WAIT`]; panics when none arrives.
    pub async fn next_event(&mut self) -> Frame {
        self.next_event_within(WAIT, "an event").await
    }

    /// The next event frame (comments skipped); panics when none arrives within `within`.
    pub async fn next_event_within(&mut self, within: Duration, waiting_for: &str) -> Frame {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read(left).await {
                Read::Frame(frame) if frame.is_event() => return frame,
                Read::Frame(_) => {}
                Read::End => panic!(
                    "stream on {} ended while waiting for {waiting_for}",
                    self.label
                ),
                Read::Timeout => panic!(
                    "stream on {}: no event within {within:?} while waiting for {waiting_for}",
                    self.label
                ),
            }
        }
    }

    /// The next `n` events, each within [`WAIT`].
    pub async fn events(&mut self, n: usize) -> Vec<Frame> {
        let mut events = Vec::new();
        for _ in 0..n {
            events.push(self.next_event().await);
        }
        events
    }

    /// Events up to and including the first of `kind` for `request`, within [`WAIT`].
    pub async fn until(&mut self, kind: &str, request: &str) -> Vec<Frame> {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let what = format!("{kind} of {request} (seen so far: {seen:?})");
            let frame = self.next_event_within(left, &what).await;
            let done = frame.event.as_deref() == Some(kind)
                && frame.json()["requestId"].as_str() == Some(request);
            seen.push(frame);
            if done {
                return seen;
            }
        }
    }

    /// Everything that arrives during `during`: (event frames, comment-only frames).
    pub async fn collect(&mut self, during: Duration) -> (Vec<Frame>, Vec<Frame>) {
        let deadline = Instant::now() + during;
        let (mut events, mut comments) = (Vec::new(), Vec::new());
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read(left).await {
                Read::Frame(frame) if frame.is_event() => events.push(frame),
                Read::Frame(frame) => comments.push(frame),
                Read::End | Read::Timeout => return (events, comments),
            }
        }
    }

    /// Whether the stream ends (frames before the end are skipped) within [`WAIT`].
    pub async fn ends(&mut self) -> bool {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read(left).await {
                Read::Frame(_) => {}
                Read::End => return true,
                Read::Timeout => return false,
            }
        }
    }

    /// Asserts that no event arrives for [`QUIET`].
    pub async fn assert_quiet(&mut self) {
        self.assert_quiet_in("quiet").await;
    }

    /// Asserts that no event arrives for [`QUIET`]; `context` names the step on failure.
    pub async fn assert_quiet_in(&mut self, context: &str) {
        let (events, _) = self.collect(QUIET).await;
        assert!(
            events.is_empty(),
            "{context}: unexpected events on {}: {events:?}",
            self.label
        );
    }
}

/// Asserts the (type, requestId) of each frame, and strictly increasing ids after `after`.
#[track_caller]
pub fn assert_events(frames: &[Frame], after: i64, expected: &[(&str, &str)]) {
    assert_events_in(frames, after, expected, "events");
}

/// [`assert_events`]; `context` names the step on failure.
#[track_caller]
pub fn assert_events_in(frames: &[Frame], after: i64, expected: &[(&str, &str)], context: &str) {
    let mut last = after;
    for frame in frames {
        assert!(
            frame.id() > last,
            "{context}: ids not increasing after {after}: {frames:?}"
        );
        last = frame.id();
    }
    let got: Vec<_> = frames.iter().map(|f| (f.kind(), f.request_id())).collect();
    let want: Vec<_> = expected
        .iter()
        .map(|(k, r)| (*k, (*r).to_owned()))
        .collect();
    assert_eq!(got, want, "{context}: {frames:?}");
}
