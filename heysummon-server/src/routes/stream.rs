//! Real-time delivery (PROTOCOL B1): `GET /api/v1/events/stream` (Server-Sent Events for a key)
//! and `GET /.well-known/mercure` (a Mercure draft-07 compatible subscribe endpoint), both over
//! the durable event log. A subscriber first replays everything after its `Last-Event-ID`
//! from the store, then follows the live feed; one that falls behind the live feed re-reads
//! the store, so no event is lost and none is sent twice.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use heysummon_sdk::wire::{LAST_EVENT_ID_EARLIEST, LAST_EVENT_ID_HEADER, RequestId, request_topic};
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};

use super::events::{events_budget, events_limit};
use crate::auth::{ANY_KEY_MESSAGES, Caller};
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::mercure::{self, TopicFilter};
use crate::state::AppState;
use crate::store::{EventScope, LoggedEvent};

const REPLAY_PAGE: u32 = 500;

/// How often a stream opened with a session checks that the session still lives.
const SESSION_RECHECK: Duration = Duration::from_secs(15);

/// Where a subscription starts.
struct Cursor {
    /// The last event the client has; `None` means "from now on".
    after: Option<i64>,
    /// The cursor was older than what retention kept (or unreadable).
    earliest: bool,
}

async fn cursor(state: &AppState, req: &ApiRequest, query: Option<&str>) -> ApiResult<Cursor> {
    let given = req.header(LAST_EVENT_ID_HEADER).or(query);
    let Some(given) = given.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(Cursor {
            after: None,
            earliest: false,
        });
    };
    let pruned = state.store.pruned_through().await?;
    Ok(match given.parse::<i64>() {
        Ok(id) if id >= 0 && id <= state.store.last_event_id() => Cursor {
            after: Some(id),
            earliest: id < pruned,
        },
        // An id we never issued (garbage, or ahead of this log after a restore): replay what
        // we have, and say so.
        _ => Cursor {
            after: Some(0),
            earliest: true,
        },
    })
}

/// One subscriber's state, driven by the response body.
struct Subscription {
    state: AppState,
    scope: EventScope,
    topics: Option<TopicFilter>,
    live: broadcast::Receiver<Arc<LoggedEvent>>,
    last_sent: i64,
    /// Where the next replay page starts: the last log position read, sent or not (events the
    /// topic filter drops must not be read again).
    replay_cursor: i64,
    backlog: VecDeque<LoggedEvent>,
    replaying: bool,
    greeted: bool,
    last_sent_on_this_connection: Option<i64>,
    /// For a stream opened with the dashboard's session (not a key): the session's hash,
    /// checked again every [`SESSION_RECHECK`] so signing out ends the stream too.
    session: Option<crate::store::KeyHash>,
    next_session_check: tokio::time::Instant,
    /// Counts the stream as open for the metrics until it is dropped.
    _open: crate::telemetry::Open,
}

impl Subscription {
    fn wants(&self, event: &LoggedEvent) -> bool {
        event.id > self.last_sent
            && self.scope.contains(event)
            && self.topics.as_ref().is_none_or(|t| t.matches(event))
    }

    fn frame(&mut self, event: &LoggedEvent) -> Event {
        let first = self.last_sent_on_this_connection.is_none();
        self.last_sent = event.id;
        self.last_sent_on_this_connection = Some(event.id);
        let frame = Event::default()
            .id(event.id.to_string())
            .event(&event.event_type)
            .data(&event.payload);
        // The greeting carries `retry:` already, but some clients (eventsource-client among
        // them) ignore a `retry:` in a block without data: repeat it on the first event.
        if first {
            frame.retry(Duration::from_millis(self.state.config.events.retry_ms))
        } else {
            frame
        }
    }

    /// The next frame, or `None` when the stream ends (shutdown, or the store failed: the
    /// client reconnects with its `Last-Event-ID`).
    async fn next(&mut self) -> Option<Event> {
        if !self.greeted {
            self.greeted = true;
            let retry = Duration::from_millis(self.state.config.events.retry_ms);
            return Some(Event::default().retry(retry).comment("connected"));
        }
        loop {
            while let Some(event) = self.backlog.pop_front() {
                if self.wants(&event) {
                    return Some(self.frame(&event));
                }
            }
            if self.replaying {
                let page = tokio::select! {
                    () = self.state.shutdown.cancelled() => return None,
                    page = self.state.store.events_after(
                        self.replay_cursor,
                        self.scope.clone(),
                        REPLAY_PAGE,
                    ) => page,
                };
                match page {
                    Ok((events, Some(scanned))) => {
                        self.replay_cursor = scanned;
                        self.backlog.extend(events);
                    }
                    Ok((_, None)) => self.replaying = false,
                    Err(error) => {
                        tracing::warn!(%error, "event replay failed; ending the stream");
                        return None;
                    }
                }
                continue;
            }
            tokio::select! {
                () = self.state.shutdown.cancelled() => return None,
                () = tokio::time::sleep_until(self.next_session_check), if self.session.is_some() => {
                    let alive = match self.session {
                        Some(hash) => self.state.session_alive(hash).await,
                        None => true,
                    };
                    if !alive {
                        return None;
                    }
                    self.next_session_check = tokio::time::Instant::now() + SESSION_RECHECK;
                }
                received = self.live.recv() => match received {
                    Ok(event) => {
                        if self.wants(&event) {
                            return Some(self.frame(&event));
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        self.replay_cursor = self.last_sent;
                        self.replaying = true;
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}

fn sse_response(subscription: Subscription, earliest: bool) -> Response {
    let keep_alive = Duration::from_secs(subscription.state.config.events.keep_alive_secs);
    let stream = futures_util::stream::unfold(subscription, |mut sub| async move {
        sub.next()
            .await
            .map(|event| (Ok::<Event, Infallible>(event), sub))
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(keep_alive).text("keep-alive"))
        .into_response();
    let headers = response.headers_mut();
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    if earliest {
        headers.insert(
            LAST_EVENT_ID_HEADER,
            HeaderValue::from_static(LAST_EVENT_ID_EARLIEST),
        );
    }
    response
}

/// Starts a subscription: subscribes to the live feed first, then decides the starting point,
/// so nothing appended in between is missed.
async fn subscribe(
    state: &AppState,
    req: &ApiRequest,
    query_cursor: Option<&str>,
    scope: EventScope,
    topics: Option<TopicFilter>,
) -> ApiResult<Response> {
    let live = state.store.subscribe(&scope);
    let cursor = cursor(state, req, query_cursor).await?;
    let (last_sent, replaying) = match cursor.after {
        Some(after) => (after, true),
        None => (state.store.last_event_id(), false),
    };
    let subscription = Subscription {
        state: state.clone(),
        scope,
        topics,
        live,
        last_sent,
        replay_cursor: last_sent,
        backlog: VecDeque::new(),
        replaying,
        greeted: false,
        last_sent_on_this_connection: None,
        session: crate::web::session::stream_session(&req.headers, req.api_key().is_some()),
        next_session_check: tokio::time::Instant::now() + SESSION_RECHECK,
        _open: crate::telemetry::Open::stream(),
    };
    Ok(sse_response(subscription, cursor.earliest))
}

/// The query of `GET /api/v1/events/stream`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StreamQuery {
    request_id: Option<String>,
    last_event_id: Option<String>,
}

/// `GET /api/v1/events/stream`: the events of a client key's requests (optionally one), or of
/// the requests routed to an expert.
#[utoipa::path(
    get,
    path = "/events/stream",
    tag = "events",
    params(("requestId" = Option<String>, Query, description = "Only this request's events"), ("lastEventId" = Option<String>, Query, description = "Resume after this event id (also the Last-Event-ID header)")),
    security(("apiKey" = []), ("session" = [])),
    responses((status = 200, description = "Server-sent events until the client leaves: `id`, `event` and `data` (a JSON event) per event", content_type = "text/event-stream", body = String), crate::app::openapi::Failure),
)]
pub(crate) async fn stream(
    State(state): State<AppState>,
    Query(query): Query<StreamQuery>,
    req: ApiRequest,
) -> ApiResult<Response> {
    events_limit(&state, &req)?;
    let caller = state.authenticate_streaming(&req, ANY_KEY_MESSAGES).await?;
    if let Some(id) = &query.request_id {
        // Only a request the caller may see can be narrowed to (and given a live topic).
        super::request_or_404(&state, caller.viewer(), id).await?;
    }
    let (scope, narrowed) = match caller {
        Caller::Client(key) => (
            EventScope::Client {
                client_key_id: key.id,
                request_id: query.request_id,
            },
            None,
        ),
        // An expert's scope has no per-request topic: the stream filters its events.
        Caller::Expert(expert) => (
            EventScope::Expert {
                expert_id: expert.id,
            },
            query
                .request_id
                .map(|id| TopicFilter::new(vec![request_topic(&RequestId::new(id))], None)),
        ),
    };
    let cursor = query.last_event_id.as_deref();
    subscribe(&state, &req, cursor, scope, narrowed).await
}

/// `GET /.well-known/mercure?topic=…`: Mercure-compatible subscription. Authorised by a
/// subscriber JWT (`mercure.subscribe` selectors, HS256 with the configured secret) or by
/// `x-api-key` (then only that key's own topics). Anonymous subscriptions are refused.
#[utoipa::path(
    get,
    path = "/.well-known/mercure",
    tag = "events",
    params(("topic" = Vec<String>, Query, description = "Topics to subscribe to; repeat for several")),
    security(("apiKey" = []), ("mercureJwt" = [])),
    responses((status = 200, description = "Mercure-compatible server-sent events of the topics", content_type = "text/event-stream", body = String), crate::app::openapi::Failure),
)]
pub(crate) async fn mercure_subscribe(
    State(state): State<AppState>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let query = req
        .path_and_query
        .split_once('?')
        .map_or("", |(_, query)| query)
        .to_owned();
    let requested = mercure::requested_topics(&query);
    if requested.is_empty() {
        return Err(ApiError::bad_request("Missing topic parameter"));
    }
    let query_cursor = mercure::query_last_event_id(&query);
    if let Some(token) = mercure::bearer_token(&req) {
        let Some(secret) = state.config.events.mercure_jwt_secret.as_deref() else {
            return Err(ApiError::unauthorized(
                "Subscriber tokens are not enabled on this hub",
            ));
        };
        // A valid token spends its own budget; failed attempts spend their address's, so that
        // made-up tokens can neither go unlimited nor fill the limiter with buckets.
        let allowed =
            match mercure::verify_subscriber_jwt(token, secret.as_bytes(), state.clock.now()) {
                Ok(allowed) => allowed,
                Err(reason) => {
                    let peer = req.peer.map_or_else(String::new, |ip| ip.to_string());
                    events_budget(&state, &format!("mercure-failures:{peer}"))?;
                    return Err(
                        ApiError::unauthorized("Invalid or expired subscriber token")
                            .member("details", serde_json::Value::String(reason.into())),
                    );
                }
            };
        events_budget(&state, token)?;
        let topics = TopicFilter::new(requested, Some(allowed));
        return subscribe(
            &state,
            &req,
            query_cursor.as_deref(),
            EventScope::All,
            Some(topics),
        )
        .await;
    }
    if req.api_key().is_some() {
        events_limit(&state, &req)?;
        let caller = state.authenticate_streaming(&req, ANY_KEY_MESSAGES).await?;
        let scope = match caller {
            Caller::Client(key) => EventScope::Client {
                client_key_id: key.id,
                request_id: None,
            },
            Caller::Expert(expert) => EventScope::Expert {
                expert_id: expert.id,
            },
        };
        let topics = TopicFilter::new(requested, None);
        return subscribe(&state, &req, query_cursor.as_deref(), scope, Some(topics)).await;
    }
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "Anonymous subscriptions are not allowed",
    ))
}
