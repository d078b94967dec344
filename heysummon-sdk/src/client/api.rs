//! Typed calls of the v1 API and our additions, on one request path that signs (PROTOCOL B4,
//! when the client has a device key) and retries what is safe to retry.
//!
//! A call is retried only when repeating it cannot do anything twice: reads, and writes the
//! server deduplicates (`POST /help` with an `Idempotency-Key`, `POST /message` with a
//! `messageId`, close and acknowledge, which are idempotent). Retryable failures are HTTP 408,
//! 429 and 5xx and network errors; each retry waits with the client's one backoff, never less
//! than the server's `Retry-After`. Every attempt is signed afresh (a new nonce), so a retry is
//! never mistaken for a replay.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::connection::Inner;
use super::http::{from_reqwest, read_json};
use super::hub::Subscription;
use super::options::MAX_LONG_POLL_WAIT;
use super::transport::Transport;
use crate::Error;
use crate::backoff::Backoff;
use crate::wire::{
    AcknowledgeResponse, ApproveRequest, CloseResponse, CreateHelpRequest, CreateHelpResponse,
    EventAckResponse, ExpertsResponse, HelpStatusResponse, IDEMPOTENCY_KEY_HEADER,
    KeyExchangeRequest, KeyExchangeResponse, MessagesResponse, PendingEventsResponse,
    PublishExpertKeysRequest, PublishExpertKeysResponse, RateRequest, RateResponse, RequestId,
    RequestsListResponse, SendMessageRequest, SendMessageResponse, WhoamiResponse,
};

/// Whether a call may be repeated after a retryable failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Repeating it cannot change anything twice.
    Idempotent,
    /// Repeated only when the server certainly did not act on it: the connection was never
    /// made, or the server refused it outright (429, 503). `POST /help` is retried this way, so
    /// that a HeySummon v1 server, which ignores `Idempotency-Key`, never pages twice.
    Unprocessed,
    /// One attempt only.
    Never,
}

/// Whether a failed call of this kind may be repeated.
fn may_retry(retry: Retry, error: &Error) -> bool {
    match retry {
        Retry::Never => false,
        Retry::Idempotent => error.is_retryable(),
        Retry::Unprocessed => match error {
            Error::Network { kind, .. } => *kind == crate::NetworkErrorKind::Connect,
            _ => matches!(error.http_status(), Some(429 | 503)),
        },
    }
}

impl Inner {
    /// Waits for a turn to have a request in flight (see
    /// [`ClientBuilder::concurrent_requests`](super::ClientBuilder::concurrent_requests)); the
    /// turn ends when the returned permit is dropped, after the answer's body was read (so its
    /// connection is back in the pool).
    async fn turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        // The semaphore is never closed; were it, going ahead is the safe side.
        self.in_flight.acquire().await.ok()
    }

    /// One attempt: headers, signature, timeout.
    pub(crate) async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        headers: &[(&'static str, String)],
        timeout: Duration,
        sign: bool,
    ) -> Result<reqwest::Response, Error> {
        let mut builder = self
            .http
            .request(method.clone(), url.clone())
            .header(ACCEPT, "application/json")
            .timeout(timeout);
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        builder = self
            .credentials
            .apply(builder, method, url, body.unwrap_or_default(), sign);
        if let Some(body) = body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        builder.send().await.map_err(from_reqwest)
    }

    /// A JSON call: serializes `body`, sends (signed when the client has a device key),
    /// retries per `retry`, parses the answer.
    pub(crate) async fn call<B, T>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        headers: &[(&'static str, String)],
        retry: Retry,
    ) -> Result<T, Error>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.call_signed(method, url, body, headers, retry, true)
            .await
    }

    /// [`Inner::call`], choosing whether to sign.
    pub(crate) async fn call_signed<B, T>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        headers: &[(&'static str, String)],
        retry: Retry,
        sign: bool,
    ) -> Result<T, Error>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::config("request body").because(e))?;
        let mut backoff = Backoff::new(self.retry.backoff);
        let mut attempt = 1u32;
        loop {
            let turn = self.turn().await;
            let result = match self
                .send_once(
                    &method,
                    &url,
                    body.as_deref(),
                    headers,
                    self.request_timeout,
                    sign,
                )
                .await
            {
                Ok(response) => read_json(response).await,
                Err(error) => Err(error),
            };
            drop(turn);
            match result {
                Err(error) if attempt < self.retry.attempts && may_retry(retry, &error) => {
                    attempt += 1;
                    tokio::time::sleep(backoff.next_delay(error.retry_after())).await;
                }
                other => return other,
            }
        }
    }

    /// A read: `GET`, retried.
    async fn get<T: DeserializeOwned>(&self, url: Url) -> Result<T, Error> {
        self.call::<(), _>(Method::GET, url, None, &[], Retry::Idempotent)
            .await
    }

    /// An idempotent `POST` without a body (close, acknowledge, ack), retried.
    async fn post_empty<T: DeserializeOwned>(&self, url: Url) -> Result<T, Error> {
        self.call::<(), _>(Method::POST, url, None, &[], Retry::Idempotent)
            .await
    }

    // ---- consumer ---------------------------------------------------------------------------

    /// `GET /api/v1/help/:id`, with `?wait=N` when `hold` is given.
    pub(crate) async fn get_status(
        &self,
        id: &RequestId,
        hold: Option<Duration>,
    ) -> Result<HelpStatusResponse, Error> {
        let mut url = self.endpoint(&["help", id.as_str()]);
        let mut timeout = self.request_timeout;
        if let Some(hold) = hold {
            let secs = hold.min(MAX_LONG_POLL_WAIT).as_secs();
            url.query_pairs_mut().append_pair("wait", &secs.to_string());
            timeout = timeout.saturating_add(Duration::from_secs(secs));
        }
        // A long-poll holds its connection for up to 50 s: it does not wait for a turn, nor
        // take one.
        let _turn = match hold {
            None => Some(self.turn().await),
            Some(_) => None,
        };
        let response = self
            .send_once(&Method::GET, &url, None, &[], timeout, true)
            .await?;
        read_json(response).await
    }

    /// `POST /api/v1/help` with an `Idempotency-Key`. Our server answers a repeat with the
    /// original request; since a HeySummon v1 server does not, only failures where the server
    /// certainly did not act are retried.
    pub(crate) async fn create_help(
        &self,
        body: &CreateHelpRequest,
        idempotency_key: &str,
    ) -> Result<CreateHelpResponse, Error> {
        let headers = [(IDEMPOTENCY_KEY_HEADER, idempotency_key.to_owned())];
        let url = self.endpoint(&["help"]);
        self.call(Method::POST, url, Some(body), &headers, Retry::Unprocessed)
            .await
    }

    /// `GET /api/v1/messages/:id`.
    pub(crate) async fn messages(&self, id: &RequestId) -> Result<MessagesResponse, Error> {
        let url = self.endpoint(&["messages", id.as_str()]);
        self.get(url).await
    }

    /// `POST /api/v1/message/:id` (retried: the server deduplicates by `messageId`).
    pub(crate) async fn send_message(
        &self,
        id: &RequestId,
        body: &SendMessageRequest,
    ) -> Result<SendMessageResponse, Error> {
        let retry = if body.message_id.is_some() {
            Retry::Idempotent
        } else {
            Retry::Never
        };
        let url = self.endpoint(&["message", id.as_str()]);
        self.call(Method::POST, url, Some(body), &[], retry).await
    }

    /// `POST /api/v1/close/:id` (idempotent).
    pub(crate) async fn close(&self, id: &RequestId) -> Result<CloseResponse, Error> {
        let url = self.endpoint(&["close", id.as_str()]);
        self.post_empty(url).await
    }

    /// `POST /api/v1/acknowledge/:id` (idempotent).
    pub(crate) async fn acknowledge(&self, id: &RequestId) -> Result<AcknowledgeResponse, Error> {
        let url = self.endpoint(&["acknowledge", id.as_str()]);
        self.post_empty(url).await
    }

    /// `POST /api/v1/rate/:id` (not retried: a repeat answers 409).
    pub(crate) async fn rate(
        &self,
        id: &RequestId,
        body: &RateRequest,
    ) -> Result<RateResponse, Error> {
        let url = self.endpoint(&["rate", id.as_str()]);
        self.call(Method::POST, url, Some(body), &[], Retry::Never)
            .await
    }

    /// `GET /api/v1/experts`.
    pub(crate) async fn experts(&self) -> Result<ExpertsResponse, Error> {
        let url = self.endpoint(&["experts"]);
        self.get(url).await
    }

    /// `GET /api/v1/whoami`.
    pub(crate) async fn whoami(&self) -> Result<WhoamiResponse, Error> {
        let url = self.endpoint(&["whoami"]);
        self.get(url).await
    }

    // ---- expert -----------------------------------------------------------------------------

    /// `PUT /api/v1/expert/keys` (idempotent: the same keys again change nothing).
    pub(crate) async fn publish_keys(
        &self,
        body: &PublishExpertKeysRequest,
    ) -> Result<PublishExpertKeysResponse, Error> {
        let url = self.endpoint(&["expert", "keys"]);
        self.call(Method::PUT, url, Some(body), &[], Retry::Idempotent)
            .await
    }

    /// `POST /api/v1/key-exchange/:id` (not retried: a repeat answers 400).
    pub(crate) async fn key_exchange(
        &self,
        id: &RequestId,
        body: &KeyExchangeRequest,
    ) -> Result<KeyExchangeResponse, Error> {
        let url = self.endpoint(&["key-exchange", id.as_str()]);
        self.call(Method::POST, url, Some(body), &[], Retry::Never)
            .await
    }

    /// `POST /api/v1/approve/:id` (not retried: a repeat answers 409 with the decision).
    pub(crate) async fn approve(
        &self,
        id: &RequestId,
        body: &ApproveRequest,
    ) -> Result<crate::wire::ApproveResponse, Error> {
        let url = self.endpoint(&["approve", id.as_str()]);
        self.call(Method::POST, url, Some(body), &[], Retry::Never)
            .await
    }

    /// `GET /api/v1/events/pending`.
    pub(crate) async fn pending_events(&self) -> Result<PendingEventsResponse, Error> {
        let url = self.endpoint(&["events", "pending"]);
        self.get(url).await
    }

    /// `POST /api/v1/events/ack/:id` (idempotent).
    pub(crate) async fn ack_event(&self, id: &RequestId) -> Result<EventAckResponse, Error> {
        let url = self.endpoint(&["events", "ack", id.as_str()]);
        self.post_empty(url).await
    }

    /// `GET /api/v1/requests` (expert), optionally filtered by status.
    pub(crate) async fn requests(
        &self,
        status: Option<&str>,
    ) -> Result<RequestsListResponse, Error> {
        let mut url = self.endpoint(&["requests"]);
        if let Some(status) = status {
            url.query_pairs_mut().append_pair("status", status);
        }
        self.get(url).await
    }
}

impl Transport for Inner {
    type Stream = Subscription;

    async fn status(&self, id: &RequestId) -> Result<HelpStatusResponse, Error> {
        self.get_status(id, None).await
    }

    async fn long_poll(&self, id: &RequestId, hold: Duration) -> Result<HelpStatusResponse, Error> {
        self.get_status(id, Some(hold)).await
    }

    fn open_stream(&self, id: &RequestId, idle_timeout: Duration) -> Subscription {
        self.stream_hub.subscribe(id, idle_timeout)
    }
}
