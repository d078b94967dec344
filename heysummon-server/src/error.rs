//! The HTTP error of every route: a status, a PROTOCOL error body and optional headers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use heysummon_sdk::wire::ErrorBody;

use crate::store::StoreError;

/// An error answer. Bodies are `{"error": "<sentence>"}` with optional `code`, `hint` and extra
/// members; they never contain a key, a token or message content.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: ErrorBody,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status and a sentence.
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody::new(error),
            retry_after: None,
        }
    }

    /// Adds a machine code.
    #[must_use]
    pub fn code(mut self, code: &str) -> Self {
        self.body = self.body.with_code(code);
        self
    }

    /// Adds a hint.
    #[must_use]
    pub fn hint(mut self, hint: &str) -> Self {
        self.body = self.body.with_hint(hint);
        self
    }

    /// Adds a member.
    #[must_use]
    pub fn member(mut self, name: &str, value: serde_json::Value) -> Self {
        self.body = self.body.with_member(name, value);
        self
    }

    /// 400 with a sentence.
    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error)
    }

    /// 401 with a sentence.
    pub fn unauthorized(error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, error)
    }

    /// 403 with a sentence.
    pub fn forbidden(error: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, error)
    }

    /// 404 with a sentence.
    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error)
    }

    /// 409 with a sentence.
    pub fn conflict(error: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, error)
    }

    /// 429 with `Retry-After: 60`.
    pub fn too_many_requests(error: impl Into<String>) -> Self {
        Self {
            retry_after: Some(60),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, error)
        }
    }

    /// 500; the cause is logged, not sent.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong")
    }

    /// The 413 of the 1 MiB body limit.
    pub fn body_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large (max 1MB)",
        )
    }
}

impl From<StoreError> for ApiError {
    /// A store failure is the server's, never the caller's: 503 with `Retry-After: 1` when the
    /// database is unavailable for now (busy, restarting), else 500. The cause is logged, not
    /// sent.
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "store failure");
        match error {
            StoreError::Unavailable(_) => Self {
                retry_after: Some(1),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service temporarily unavailable",
                )
            },
            _ => Self::internal(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The result of a route.
pub type ApiResult<T> = Result<T, ApiError>;
