//! `GET /metrics`: the server's metrics in Prometheus' text format. With `metrics_token` set,
//! only a scraper presenting `Authorization: Bearer <token>` may read them.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ApiResult};
use crate::ids::hash_secret;
use crate::state::AppState;

/// The content type of Prometheus' text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security((), ("metricsToken" = [])),
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String), crate::app::openapi::Failure),
)]
pub(crate) async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(expected) = &state.config.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // Compared as hashes, in constant time: neither the length nor a prefix leaks.
        let matches = presented.is_some_and(|token| {
            bool::from(hash_secret(token).ct_eq(&hash_secret(expected.expose())))
        });
        if !matches {
            let mut refusal =
                ApiError::unauthorized("Missing or invalid metrics token").into_response();
            refusal
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return Ok(refusal);
        }
    }
    let waiting = state.store.waiting_count(state.clock.now()).await?;
    let text = crate::telemetry::render(waiting).ok_or_else(|| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Metrics are not recorded")
    })?;
    Ok(([(header::CONTENT_TYPE, TEXT_FORMAT)], text).into_response())
}
