//! The router and its middleware: every route of the API, the JSON 404/405 answers, and the
//! per-IP rate limits.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::routes::{account, events, health, help, lifecycle, messages, metrics, stream};
use crate::state::AppState;

/// The full router over a state.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(health::health_v1))
        .route("/help", post(help::create))
        .route("/help/{id}", get(help::status))
        .route("/help/{id}/timeout", post(help::timeout))
        .route("/message/{id}", post(messages::send))
        .route("/messages/{id}", get(messages::list))
        .route("/key-exchange/{id}", post(lifecycle::key_exchange))
        .route("/close/{id}", post(lifecycle::close))
        .route("/acknowledge/{id}", post(lifecycle::acknowledge))
        .route("/approve/{id}", post(lifecycle::approve))
        .route("/rate/{id}", post(lifecycle::rate))
        .route("/events/pending", get(events::pending))
        .route("/events/ack/{id}", post(events::ack))
        .route("/events/stream", get(stream::stream))
        .route("/whoami", get(account::whoami))
        .route("/experts", get(account::experts))
        .route("/requests", get(account::list))
        .route("/requests/by-ref/{code}", get(account::by_ref))
        .route("/expert/keys", put(account::publish_keys))
        .route("/devices", post(account::enroll_device))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), ip_limits));

    Router::new()
        .route("/health", get(health::health))
        .route("/api/health", get(health::health))
        .route("/metrics", get(metrics::metrics))
        .route("/.well-known/mercure", get(stream::mercure_subscribe))
        .nest("/api/v1", api)
        .merge(crate::web::routes(state.clone()))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::map_response(super::edge::json_errors))
        .layer(middleware::map_response(super::edge::private_by_default))
        .layer(middleware::from_fn(super::edge::request_limits))
        .layer(TraceLayer::new_for_http().make_span_with(super::edge::request_span))
        .layer(middleware::from_fn(super::edge::request_id))
        .with_state(state)
}

async fn not_found() -> Response {
    ApiError::not_found("Not found").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed").into_response()
}

/// The per-IP buckets: `/api/v1/*` and, tighter, `GET /api/v1/help/*`. Loopback callers are
/// exempt unless configured otherwise. The client IP is the TCP peer: forwarded-for headers
/// are not trusted.
async fn ip_limits(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limits = &state.config.rate_limits;
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    // Inside the nested router the URI has lost its `/api/v1` prefix.
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().path(), |OriginalUri(uri)| uri.path());
    let is_poll = req.method() == Method::GET && path.starts_with("/api/v1/help/");
    let over = (is_poll && !state.ip_allows(peer, "poll", limits.help_poll_per_ip))
        || !state.ip_allows(peer, "api", limits.api_per_ip);
    if over {
        crate::telemetry::rate_limited(if is_poll { "poll" } else { "ip" });
        return ApiError::too_many_requests("Too many requests. Please try again later.")
            .into_response();
    }
    next.run(req).await
}
