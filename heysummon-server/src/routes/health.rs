//! `GET /health`, `/api/health`, `/api/v1/health`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use heysummon_sdk::wire::HealthResponse;

use crate::app::openapi::Failure;
use crate::clock::timestamp;
use crate::state::AppState;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The answer of every health endpoint: 200 `ok` when the store answers, else 503 `error`.
/// `/api/v1/health` also says how the server is reached (`connectivity`).
async fn check(state: &AppState, connectivity: Option<&str>) -> Response {
    let at = timestamp(state.clock.now());
    match state.store.ping().await {
        Ok(()) => Json(HealthResponse {
            status: "ok".into(),
            version: Some(VERSION.into()),
            timestamp: Some(at),
            connectivity: connectivity.map(str::to_owned),
        })
        .into_response(),
        Err(error) => {
            tracing::error!(%error, "health check: store unreachable");
            let body = HealthResponse {
                status: "error".into(),
                version: None,
                timestamp: Some(at),
                connectivity: None,
            };
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// `GET /health`.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "The server and its store answer", body = HealthResponse),
        (status = 503, description = "The store does not answer", body = HealthResponse),
        Failure,
    ),
)]
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    check(&state, None).await
}

/// `GET /api/health`, the same answer as `/health`.
#[utoipa::path(get, path = "/api/health", tag = "operations",
    responses(
        (status = 200, description = "The server and its store answer", body = HealthResponse),
        (status = 503, description = "The store does not answer", body = HealthResponse),
        Failure,
    ),
)]
pub(crate) async fn health_api(State(state): State<AppState>) -> Response {
    check(&state, None).await
}

/// `GET /api/v1/health`.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "The server and its store answer", body = HealthResponse),
        (status = 503, description = "The store does not answer", body = HealthResponse),
        Failure,
    ),
)]
pub(crate) async fn health_v1(State(state): State<AppState>) -> Response {
    check(&state, Some("direct")).await
}
