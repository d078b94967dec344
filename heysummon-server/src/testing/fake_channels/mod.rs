//! Fakes of the third-party services the notification channels talk to (docs/channels-wire.md):
//! real servers on 127.0.0.1 (a free port) that speak enough of each API for the server's
//! channels, record every call and misbehave on demand.
//!
//! - [`FakeTelegram`]: the Bot API (`{api_base}/bot{token}/{method}`), plus the inbound
//!   updates a bot receives ([`message_update`], [`callback_update`]);
//! - [`FakeSlack`]: the Web API (`{api_base}/{method}`), plus signed interaction payloads
//!   ([`slack_signature`], [`block_action_payload`], [`view_submission_payload`],
//!   [`form_body`], [`command_body`]);
//! - [`FakeDiscord`]: the REST API, and [`DiscordApp`], an application's signing key and the
//!   interactions Discord would send;
//! - [`SmtpSink`]: an ESMTP server that keeps every message ([`Mail`]);
//! - [`WebhookReceiver`]: a Standard Webhooks consumer that checks each [`Delivery`]'s
//!   signature ([`new_webhook_secret`], [`webhook_signature`]).
//!
//! Every HTTP fake records each call as a [`Call`] — the ones it refused too, with
//! [`Call::failed`] set — and takes a plan of failures ([`Failure`]) for the next calls.
//!
//! ```no_run
//! # async fn run() {
//! use std::time::Duration;
//! use heysummon_server::testing::fake_channels::{Failure, FakeTelegram};
//!
//! let telegram = FakeTelegram::start().await;
//! telegram.fail_next(1, Failure::RateLimited { retry_after_secs: 1 });
//! // … point `[channels.telegram] api_base` at `telegram.api_base()`, make a request …
//! let sent = telegram.wait_for("sendMessage", 2, Duration::from_secs(5)).await;
//! assert!(sent[0].failed && !sent[1].failed);
//! assert_eq!(sent[1].json()["parse_mode"], "HTML");
//! # }
//! ```

pub mod discord;

/// The methods every HTTP fake (Telegram, Slack, Discord) has over its recorder:
/// `fail_next`, `calls`, `calls_of` and `wait_for`.
macro_rules! recorded_calls {
    ($fake:ident, $name:literal) => {
        impl $fake {
            /// Answers the next `times` calls with `failure` (after any failures already
            /// planned).
            pub fn fail_next(&self, times: usize, failure: super::Failure) {
                self.shared.recorder.fail_next(times, &failure);
            }

            /// Every call, oldest first (failed ones included).
            pub fn calls(&self) -> Vec<super::Call> {
                self.shared.recorder.calls()
            }

            /// The calls of one method, oldest first.
            pub fn calls_of(&self, method: &str) -> Vec<super::Call> {
                self.shared.recorder.calls_of(method)
            }

            /// Waits until `count` calls of `method` (failed ones included) have arrived and
            /// returns them all; panics, listing every call that did arrive, after `timeout`.
            pub async fn wait_for(
                &self,
                method: &str,
                count: usize,
                timeout: std::time::Duration,
            ) -> Vec<super::Call> {
                self.shared
                    .recorder
                    .wait_for($name, method, count, timeout)
                    .await
            }
        }
    };
}
pub(crate) use recorded_calls;

mod mime;
pub mod slack;
pub mod smtp;
pub mod telegram;
mod telegram_html;
pub mod webhook;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use bytes::Bytes;
use tokio::task::JoinHandle;

pub use discord::{DiscordApp, FakeDiscord};
pub use slack::{
    FakeSlack, block_action_payload, command_body, form_body, slack_signature,
    view_submission_payload,
};
pub use smtp::{Mail, SmtpSink};
pub use telegram::{FakeTelegram, callback_update, message_update};
pub use webhook::{Delivery, WebhookReceiver, new_webhook_secret, webhook_signature};

/// One call a fake received.
#[derive(Clone, Debug)]
pub struct Call {
    /// What was called: the Bot API method (`sendMessage`), the Web API method
    /// (`chat.postMessage`), or Discord's verb and path below the API base
    /// (`POST /channels/C1/messages`).
    pub method: String,
    /// The bot token: Telegram's from the path, Slack's (`Bearer`) and Discord's (`Bot`) from
    /// the `Authorization` header; `None` when there was none.
    pub token: Option<String>,
    /// The request's headers.
    pub headers: HeaderMap,
    /// The request's body.
    pub body: Bytes,
    /// Whether the fake answered with an error: a planned [`Failure`], or a refusal of its
    /// own (no credentials, a missing field, an unknown message, …).
    pub failed: bool,
}

impl Call {
    /// The body as JSON. Panics when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "the body of the {} call is not JSON ({error}): {}",
                self.method,
                self.text()
            )
        })
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How a fake answers one of its next calls instead of serving it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// This HTTP status, with a plausible error body of that API (Slack: `{"ok":false,…}`).
    Status(u16),
    /// The API's own rate limiting, HTTP 429: Telegram's JSON `parameters.retry_after`;
    /// Slack's `Retry-After` header; Discord's header and JSON `retry_after`; a webhook
    /// receiver's header.
    RateLimited {
        /// Seconds the client is asked to wait.
        retry_after_secs: u64,
    },
    /// Sleeps this long before answering (to run into the client's timeout), then answers as
    /// [`Failure::Status`] 500 would.
    Hang(Duration),
    /// The API's own refusal with this error: Telegram HTTP 400 with this `description`, Slack
    /// HTTP 200 `{"ok":false,"error":…}`, Discord HTTP 400 with this `message`, a webhook
    /// receiver HTTP 400 with this text.
    ApiError(String),
}

/// The calls a fake received and the failures planned for its next ones.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    inner: Mutex<RecorderInner>,
}

#[derive(Debug, Default)]
struct RecorderInner {
    calls: Vec<Call>,
    plan: VecDeque<Failure>,
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, RecorderInner> {
        self.inner.lock().expect("the fake's recorder")
    }

    /// Plans `failure` for the next `times` calls (after any failures already planned).
    pub(crate) fn fail_next(&self, times: usize, failure: &Failure) {
        self.lock()
            .plan
            .extend(std::iter::repeat_n(failure, times).cloned());
    }

    fn next_failure(&self) -> Option<Failure> {
        self.lock().plan.pop_front()
    }

    fn record(&self, call: Call) {
        self.lock().calls.push(call);
    }

    /// Every call, oldest first.
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The calls of one method, oldest first.
    pub(crate) fn calls_of(&self, method: &str) -> Vec<Call> {
        self.lock()
            .calls
            .iter()
            .filter(|call| call.method == method)
            .cloned()
            .collect()
    }

    /// Waits until `count` calls of `method` (failed ones included) have arrived; panics,
    /// listing what did arrive, after `timeout`.
    pub(crate) async fn wait_for(
        &self,
        fake: &str,
        method: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<Call> {
        wait_until(
            timeout,
            || {
                let calls = self.calls_of(method);
                (calls.len() >= count).then_some(calls)
            },
            || {
                let calls = self.calls();
                let mut arrived = String::new();
                for call in &calls {
                    let failed = if call.failed { " (failed)" } else { "" };
                    let _ = write!(arrived, "\n  {}{failed}: {}", call.method, clip(&call.text()));
                }
                format!(
                    "{fake}: {count} × {method} within {timeout:?}; {} arrived, {} calls in all:{arrived}",
                    self.calls_of(method).len(),
                    calls.len(),
                )
            },
        )
        .await
    }
}

/// At most 300 characters of a body, for messages.
fn clip(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Polls `check` until it gives a value; panics with "timed out waiting for {describe()}"
/// after `timeout` (wall-clock time, so a paused tokio clock does not end the wait early).
pub(crate) async fn wait_until<T>(
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
    describe: impl FnOnce() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("timed out waiting for {}", describe());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Serves a call: a planned failure if there is one (answered by `refusal`), else `serve`'s
/// answer (`Ok`: served, `Err`: refused; a status and a JSON body); records the call either
/// way.
pub(crate) async fn answer(
    recorder: &Recorder,
    mut call: Call,
    refusal: fn(&Failure) -> Response,
    serve: impl FnOnce(&Call) -> Result<Reply, Reply>,
) -> Response {
    match recorder.next_failure() {
        Some(failure) => {
            call.failed = true;
            recorder.record(call);
            if let Failure::Hang(duration) = failure {
                tokio::time::sleep(duration).await;
                return refusal(&Failure::Status(500));
            }
            refusal(&failure)
        }
        None => {
            let served = serve(&call);
            call.failed = served.is_err();
            recorder.record(call);
            let (status, body) = served.unwrap_or_else(|refused| refused);
            json_reply(status, body)
        }
    }
}

/// An answer: its HTTP status and JSON body.
pub(crate) type Reply = (u16, serde_json::Value);

/// A JSON answer with this status.
pub(crate) fn json_reply(status: u16, body: serde_json::Value) -> Response {
    (status_code(status), Json(body)).into_response()
}

/// The status, or 500 when `status` is not a valid HTTP status.
pub(crate) fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The bot token after `scheme ` in the `Authorization` header.
pub(crate) fn bearer(headers: &HeaderMap, scheme: &str) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (given, token) = value.split_once(' ')?;
    (given.eq_ignore_ascii_case(scheme) && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

/// A running HTTP fake: where it listens and its serving task (aborted on drop).
#[derive(Debug)]
pub(crate) struct Serving {
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Serving {
    /// Serves `router` on 127.0.0.1 (a free port).
    pub(crate) async fn start(router: Router, fake: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|error| panic!("no port for the fake {fake}: {error}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|error| panic!("the fake {fake}'s address: {error}"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { addr, task }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests;
