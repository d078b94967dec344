//! The router and its middleware: every route of the API, the JSON 404/405 answers, and the
//! per-IP rate limits.

use std::net::SocketAddr;

use axum::Extension;
use axum::Router;
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::trace::TraceLayer;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{ApiDoc, Failure, Served};
use crate::error::ApiError;
use crate::routes::{account, events, health, help, lifecycle, messages, metrics, stream};
use crate::state::AppState;

/// The full router over a state, and the OpenAPI document of its API.
pub fn router(state: AppState) -> Router {
    let api = OpenApiRouter::new()
        .routes(routes!(health::health_v1))
        .routes(routes!(help::create))
        .routes(routes!(help::status))
        .routes(routes!(help::timeout))
        .routes(routes!(messages::send))
        .routes(routes!(messages::list))
        .routes(routes!(lifecycle::key_exchange))
        .routes(routes!(lifecycle::close))
        .routes(routes!(lifecycle::acknowledge))
        .routes(routes!(lifecycle::approve))
        .routes(routes!(lifecycle::rate))
        .routes(routes!(events::pending))
        .routes(routes!(events::ack))
        .routes(routes!(stream::stream))
        .routes(routes!(account::whoami))
        .routes(routes!(account::experts))
        .routes(routes!(account::list))
        .routes(routes!(account::by_ref))
        .routes(routes!(account::publish_keys))
        .routes(routes!(account::enroll_device));
    let (api, api_document) = api.split_for_parts();
    let api = api
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), ip_limits));

    let (router, document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(health::health_api))
        .routes(routes!(metrics::metrics))
        .routes(routes!(openapi_json))
        .routes(routes!(stream::mercure_subscribe))
        .merge(crate::web::routes(state.clone()))
        .split_for_parts();
    let document = document.nest("/api/v1", api_document);
    router
        .nest("/api/v1", api)
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(Extension(Served::new(document)))
        .layer(middleware::map_response(super::edge::json_errors))
        .layer(middleware::map_response(super::edge::private_by_default))
        .layer(middleware::from_fn(super::edge::request_limits))
        .layer(TraceLayer::new_for_http().make_span_with(super::edge::request_span))
        .layer(middleware::from_fn(super::edge::request_id))
        .with_state(state)
}

/// `GET /api/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API",
            content_type = "application/json", body = Object),
        Failure,
    ),
)]
async fn openapi_json(Extension(document): Extension<Served>) -> Served {
    document
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
