//! The edge every request passes first: limits on the request target and the headers, answered
//! in the API's JSON error shape, and a last pass that turns any error the framework produced
//! as text (a query string or a path that does not parse, …) into that shape too, so a client
//! never has to parse anything but `{"error": …}`.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Longest request target (path and query) served, bytes.
pub(super) const MAX_TARGET_BYTES: usize = 8 * 1024;
/// Most request headers served.
pub(super) const MAX_HEADERS: usize = 100;
/// Largest total size of the request headers served, bytes.
pub(super) const MAX_HEADER_BYTES: usize = 32 * 1024;
/// How much of a framework error's text is kept as `details`.
const MAX_DETAILS_BYTES: usize = 1024;

/// The header carrying a request's id, on the request (as the server set it) and the response.
pub(super) const REQUEST_ID_HEADER: &str = "x-request-id";

/// Gives every request an id of the server's own (a client's `x-request-id` is replaced: it
/// would let anyone write into the logs), sent back on the response; [`request_span`] carries it
/// into every log line the request causes.
pub(super) async fn request_id(mut request: Request, next: Next) -> Response {
    let id = crate::ids::new_id();
    let value = HeaderValue::from_str(&id).ok();
    if let Some(value) = &value {
        request
            .headers_mut()
            .insert(REQUEST_ID_HEADER, value.clone());
    }
    let mut response = next.run(request).await;
    if let Some(value) = value {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// The tracing span of one HTTP request: its id, method and path (never the query, which may
/// carry a token).
pub(super) fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        request_id = id,
        method = %request.method(),
        path = request.uri().path(),
    )
}

/// Refuses a request target or headers beyond the limits, with JSON 414 and 431.
pub(super) async fn request_limits(request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if target > MAX_TARGET_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "Request target too long (max 8KB)",
        )
        .into_response();
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Too many or too large request headers (max 100 headers, 32KB)",
        )
        .into_response();
    }
    next.run(request).await
}

/// Rewrites an error response that is not JSON into the API's error shape, keeping its status,
/// its `Retry-After` and `Allow` headers, and its text as `details`.
pub(super) async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_DETAILS_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let mut error = ApiError::new(status, status.canonical_reason().unwrap_or("Error"));
    if !text.is_empty() {
        error = error.member("details", serde_json::Value::String(text));
    }
    let mut rewritten = error.into_response();
    for name in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(value) = parts.headers.get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

/// A plain-text response, as the framework's rejections are, for tests of [`json_errors`].
#[cfg(test)]
fn text_response(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(axum::body::Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Every answer that does not say otherwise (the dashboard's versioned assets and pages do) is
/// private and never stored: API answers carry keys, CSRF tokens, questions and answers. And no
/// answer is content-sniffed.
pub(super) async fn private_by_default(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if !headers.contains_key(header::X_CONTENT_TYPE_OPTIONS) {
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn text_errors_become_json_and_keep_their_status() {
        let response = json_errors(text_response(
            StatusCode::BAD_REQUEST,
            "Failed to deserialize query string",
        ))
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(body["error"], "Bad Request");
        assert_eq!(body["details"], "Failed to deserialize query string");
    }

    #[tokio::test]
    async fn successes_pass_untouched() {
        let response = json_errors(text_response(StatusCode::OK, "ok")).await;
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap_or_default();
        assert_eq!(&bytes[..], b"ok");
    }
}
