//! Tests of the HTTP side (reqwest, eventsource-client, error mapping) against a small stub
//! server on 127.0.0.1: this file is the stub; `calls.rs` tests single calls and the client's
//! settings, `streams.rs` the waits on the event stream. The waiting decisions are tested in
//! `tests.rs`; the real server's endpoints are covered by the workspace's end-to-end tests.

mod calls;
mod streams;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{StreamExt as _, stream};
use serde_json::json;

use super::Client;
use crate::wire::{EventType, RequestId, Status, StreamEvent, Timestamp};

const KEY: &str = "hs_cli_stub0001";

/// What the stub saw, and when it answers.
#[derive(Default)]
struct Stub {
    /// `responded` from this status call on (counting from 1); never when 0.
    answer_from_status: usize,
    /// `responded` once this many streams were opened; never when 0.
    answer_from_stream: usize,
    /// Streams stay open after their frames (and are not answered differently).
    hold_stream_open: bool,
    /// How long a status read takes.
    status_delay: Duration,
    /// A long-poll (`?wait=`) is held for a second.
    hold_long_polls: bool,
    /// Status reads being answered now, and the most at once.
    status_in_flight: AtomicUsize,
    most_status_in_flight: AtomicUsize,
    statuses: AtomicUsize,
    help: Mutex<Vec<(String, Option<String>)>>,
    streams: Mutex<Vec<StreamCall>>,
}

impl Stub {
    /// The query of every status read so far, in order.
    fn queries(&self) -> Vec<Option<String>> {
        let help = self.help.lock().unwrap();
        help.iter().map(|(_, query)| query.clone()).collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct StreamCall {
    query: Option<String>,
    last_event_id: Option<String>,
    api_key: Option<String>,
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

async fn help(
    State(stub): State<Arc<Stub>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if header_text(&headers, "x-api-key").as_deref() != Some(KEY) {
        let body = json!({"error": "Invalid or inactive API key"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    if id == "limited" {
        let body = json!({"error": "Too many requests. Please try again later."});
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "60")],
            axum::Json(body),
        )
            .into_response();
    }
    if stub.hold_long_polls && query.as_deref().is_some_and(|q| q.contains("wait=")) {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stub.help.lock().unwrap().push((id.clone(), query));
    let now = stub.status_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    stub.most_status_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(stub.status_delay).await;
    stub.status_in_flight.fetch_sub(1, Ordering::SeqCst);
    let n = stub.statuses.fetch_add(1, Ordering::SeqCst) + 1;
    let streams = stub.streams.lock().unwrap().len();
    let answered = (stub.answer_from_status != 0 && n >= stub.answer_from_status)
        || (stub.answer_from_stream != 0 && streams >= stub.answer_from_stream);
    let status = if answered { "responded" } else { "pending" };
    axum::Json(json!({
        "requestId": id,
        "refCode": "HS-STUB0001",
        "status": status,
        "createdAt": Timestamp::now(),
        "expiresAt": Timestamp::now().plus_millis(3_600_000),
    }))
    .into_response()
}

fn frame(id: &str, event_type: EventType) -> Event {
    let data = StreamEvent::new(event_type.clone(), RequestId::new("r1"), Timestamp::now())
        .with_status(Status::Active);
    Event::default()
        .id(id)
        .event(event_type.as_str())
        .data(serde_json::to_string(&data).unwrap())
}

/// Two connections: the first sends event 5 and ends, the second event 6.
async fn events(
    State(stub): State<Arc<Stub>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let call = StreamCall {
        query,
        last_event_id: header_text(&headers, "last-event-id"),
        api_key: header_text(&headers, "x-api-key"),
    };
    let n = {
        let mut streams = stub.streams.lock().unwrap();
        streams.push(call);
        streams.len()
    };
    let frames = if n == 1 {
        vec![
            Event::default().comment("connected"),
            frame("5", EventType::KeysExchanged),
        ]
    } else {
        vec![
            Event::default().comment("connected"),
            frame("6", EventType::Responded),
        ]
    };
    let frames = stream::iter(frames.into_iter().map(Ok::<_, Infallible>));
    if stub.hold_stream_open {
        return Sse::new(frames.chain(stream::pending())).into_response();
    }
    Sse::new(frames).into_response()
}

async fn serve(stub: Stub, with_stream: bool) -> (String, Arc<Stub>) {
    let stub = Arc::new(stub);
    let mut router = Router::new().route("/api/v1/help/{id}", get(help));
    if with_stream {
        router = router.route("/api/v1/events/stream", get(events));
    }
    let router = router
        .route(
            "/api/v1/redirected/stream",
            get(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, "/elsewhere")],
                )
            }),
        )
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": "Not found"})),
            )
        })
        .with_state(Arc::clone(&stub));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}"), stub)
}

fn client(base: &str, key: &str) -> Client {
    Client::builder()
        .base_url(base)
        .api_key(key)
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}
