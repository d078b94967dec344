//! The guard's own answers: JSON bodies in PROTOCOL A's error shape, and the response body type
//! that carries either those or a streamed upstream body.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Either, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

/// A response body: the upstream's, streamed as it arrives, or one of the guard's own (whole,
/// or streamed by the MCP endpoint).
pub type ProxyBody = Either<Incoming, OwnBody>;

/// The body of a response the guard makes itself.
pub type OwnBody = BoxBody<Bytes, Infallible>;

/// A whole body of the guard's own.
pub fn own_body(bytes: Bytes) -> ProxyBody {
    Either::Right(Full::new(bytes).boxed())
}

/// A request the guard answers itself instead of forwarding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The status.
    pub status: StatusCode,
    /// The JSON body, `{"error": …}` plus members.
    pub body: Value,
}

impl Refusal {
    /// `{"error": message}` with `status`.
    pub fn new(status: StatusCode, message: &str) -> Self {
        Self {
            status,
            body: json!({ "error": message }),
        }
    }

    /// Adds a member to the body.
    pub fn with(mut self, name: &str, value: Value) -> Self {
        if let Value::Object(map) = &mut self.body {
            map.insert(name.to_owned(), value);
        }
        self
    }

    /// 413, the server's own sentence.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large (max 1MB)",
        )
    }

    /// The response.
    pub fn into_response(self) -> Response<ProxyBody> {
        json_response(self.status, &self.body)
    }
}

/// A JSON response of the guard.
pub fn json_response(status: StatusCode, body: &Value) -> Response<ProxyBody> {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    json_bytes_response(status, Bytes::from(bytes))
}

/// A response of the guard with a JSON body already serialised.
pub(crate) fn json_bytes_response(status: StatusCode, body: Bytes) -> Response<ProxyBody> {
    let mut response = Response::new(own_body(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
