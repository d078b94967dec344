//! `GET /health`, `/api/health`, `/api/v1/health`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::clock::timestamp;
use crate::state::AppState;

const VERSION: &str = env!("CARGO_PKG_VERSION");

async fn check(state: &AppState) -> Result<String, Response> {
    let at = timestamp(state.clock.now()).to_string();
    match state.store.ping().await {
        Ok(()) => Ok(at),
        Err(error) => {
            tracing::error!(%error, "health check: store unreachable");
            Err((
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "error", "timestamp": at})),
            )
                .into_response())
        }
    }
}

/// `GET /health` and `GET /api/health`.
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    match check(&state).await {
        Ok(at) => {
            axum::Json(json!({"status": "ok", "version": VERSION, "timestamp": at})).into_response()
        }
        Err(response) => response,
    }
}

/// `GET /api/v1/health`.
pub(crate) async fn health_v1(State(state): State<AppState>) -> Response {
    match check(&state).await {
        Ok(at) => axum::Json(json!({
            "status": "ok",
            "version": VERSION,
            "connectivity": "direct",
            "timestamp": at,
        }))
        .into_response(),
        Err(response) => response,
    }
}
