//! The request as routes see it: method, exact path and query, headers, peer address and the
//! body bytes read under the size limit; plus JSON parsing with PROTOCOL's error bodies.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequest, OriginalUri, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A buffered API request. `Debug` shows header names and the body length only: headers and
/// bodies carry keys.
pub struct ApiRequest {
    /// The method.
    pub method: Method,
    /// Path and query exactly as sent (what a signature covers).
    pub path_and_query: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The peer's address, when known.
    pub peer: Option<IpAddr>,
    /// The body.
    pub body: Bytes,
}

impl FromRequest<AppState> for ApiRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.config.max_body_bytes;
        let (parts, body) = req.into_parts();
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(ApiError::body_too_large());
        }
        // Chunked bodies have no declared length: the limit applies while reading. A client
        // that stops sending mid-body is answered 408 (and its connection closed by hyper, as
        // the body was not read to its end).
        let deadline = Duration::from_secs(state.config.http.body_read_timeout_secs);
        let body = tokio::time::timeout(deadline, Limited::new(body, limit).collect())
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "The request body was not received in time",
                )
            })?
            .map_err(|error| {
                if error.is::<http_body_util::LengthLimitError>() {
                    ApiError::body_too_large()
                } else {
                    ApiError::bad_request("Could not read the request body")
                }
            })?
            .to_bytes();
        // Nested routers strip their prefix from `parts.uri`; a signature covers the path and
        // query exactly as the client sent them, which is the original URI.
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |OriginalUri(original)| original);
        let path_and_query = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(Self {
            method: parts.method,
            path_and_query,
            headers: parts.headers,
            peer,
            body,
        })
    }
}

impl std::fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path_and_query", &self.path_and_query)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("peer", &self.peer)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl ApiRequest {
    /// A header as text, when present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `x-api-key` header, when present and non-empty.
    pub fn api_key(&self) -> Option<&str> {
        self.header("x-api-key").filter(|k| !k.is_empty())
    }

    /// 415 unless the content type is JSON.
    pub fn require_json_content_type(&self) -> Result<(), ApiError> {
        // The media type itself, parameters (`; charset=utf-8`) aside: not a substring.
        let is_json = self
            .header(header::CONTENT_TYPE.as_str())
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
        if is_json {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json",
            ))
        }
    }

    /// Parses the body: 400 "Malformed JSON body" for bytes that are not JSON, 400
    /// "Validation failed" (with details naming the member) for JSON of the wrong shape, a top-
    /// level value that is not an object included. An empty body is `{}`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let bytes: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.body
        };
        let invalid = |details: String| {
            ApiError::bad_request("Validation failed")
                .member("details", serde_json::Value::String(details))
        };
        let malformed = |error: serde_json::Error| {
            ApiError::bad_request("Malformed JSON body")
                .member("details", serde_json::Value::String(error.to_string()))
        };
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            use serde_json::error::Category;
            let path = error.path().to_string();
            let error = error.into_inner();
            match error.classify() {
                Category::Syntax | Category::Eof | Category::Io => malformed(error),
                Category::Data if path == "." => invalid(error.to_string()),
                Category::Data => invalid(format!("{path}: {error}")),
            }
        })?;
        deserializer.end().map_err(malformed)?;
        // A struct would also accept a JSON array of its fields in order: only objects are
        // request bodies.
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err(invalid("the body must be a JSON object".into()));
        }
        // No backend stores U+0000 in text (PostgreSQL refuses it): refused alike everywhere.
        if escapes_nul(bytes) {
            return Err(invalid(
                "text must not contain the NUL character (\\u0000)".into(),
            ));
        }
        Ok(value)
    }
}

/// Whether a JSON text (valid, so a NUL can only be written `\u0000`) holds a NUL in a string.
fn escapes_nul(json: &[u8]) -> bool {
    let mut rest = json;
    while let Some(at) = rest.iter().position(|&b| b == b'\\') {
        let escaped = &rest[at + 1..];
        if escaped.len() >= 5 && escaped[0] == b'u' && &escaped[1..5] == b"0000" {
            return true;
        }
        // Skip the escaped character (a backslash included), so `\\u0000` is text.
        rest = escaped.get(1..).unwrap_or_default();
    }
    false
}

/// Whether an address is a loopback address (IPv4, IPv6, or IPv4-mapped IPv6).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escapes_nul;

    #[test]
    fn nul_escapes_are_found_and_escaped_backslashes_are_not() {
        assert!(escapes_nul(br#"{"q":"a\u0000b"}"#));
        assert!(!escapes_nul(br#"{"q":"a\\u0000b"}"#));
        assert!(escapes_nul(br#"{"q":"a\\\u0000b"}"#));
        assert!(!escapes_nul(br#"{"q":"a\u0001b"}"#));
    }
}
