//! The request-body step of the pipeline: which requests the guard must look into, and what it
//! does to them before they are signed.
//!
//! - `POST /api/v1/help`: parse the JSON object, refuse a different `apiKey`, scan every
//!   plaintext field, set `apiKey` to the guard's key;
//! - `POST /api/v1/message/:id`: parse, scan `plaintext`;
//! - everything else passes untouched (the body is not parsed).
//!
//! This is where later transformations of the same bodies belong (sealing a plaintext question
//! to the expert's pinned key, encrypting follow-up messages): they run after the safety scan
//! and before signing, on the parsed body.

use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderMap};
use hyper::{Method, StatusCode};
use serde_json::{Map, Value};

use crate::apikey::ApiKey;
use crate::config::SafetyMode;
use crate::inject;
use crate::response::Refusal;
use crate::safety;

/// The requests whose bodies the guard inspects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST /api/v1/help`.
    Help,
    /// `POST /api/v1/message/:id`.
    Message,
    /// Anything else: forwarded as it is.
    Other,
}

impl Route {
    /// Classifies a request by method and path (without the query).
    pub fn of(method: &Method, path: &str) -> Self {
        if method != Method::POST {
            return Self::Other;
        }
        if path == "/api/v1/help" {
            return Self::Help;
        }
        match path.strip_prefix("/api/v1/message/") {
            Some(id) if !id.is_empty() && !id.contains('/') => Self::Message,
            _ => Self::Other,
        }
    }
}

/// The value of `name=` in a query string, as sent.
pub fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// Whether a path could reach a route other than the one it spells (percent-encoding, empty or
/// dot segments); such paths are refused so that no body escapes inspection.
pub fn ambiguous_path(path: &str) -> bool {
    path.contains('%')
        || path.contains("//")
        || path.contains("/./")
        || path.contains("/../")
        || path.ends_with("/.")
        || path.ends_with("/..")
}

/// A body after inspection: the bytes to forward, and for the inspected routes the JSON object
/// they hold (so that later steps need not parse them again).
#[derive(Debug)]
pub struct Prepared {
    /// The bytes to sign and forward.
    pub body: Bytes,
    /// The parsed object, for `POST /help` and `POST /message`.
    pub object: Option<Map<String, Value>>,
}

/// Inspects and, where needed, rewrites the body of `route`.
pub fn prepare(
    route: Route,
    headers: &HeaderMap,
    body: Bytes,
    key: &ApiKey,
    mode: SafetyMode,
) -> Result<Prepared, Refusal> {
    match route {
        Route::Other => Ok(Prepared { body, object: None }),
        Route::Help => {
            let mut object = parse_object(headers, &body)?;
            let changed = inject::inject_body(key, &mut object)?;
            safety::enforce(mode, &safety::scan_help(&object), "help")?;
            let body = if changed {
                serde_json::to_vec(&object)
                    .map(Bytes::from)
                    .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "Validation failed"))?
            } else {
                body
            };
            Ok(Prepared {
                body,
                object: Some(object),
            })
        }
        Route::Message => {
            let object = parse_object(headers, &body)?;
            safety::enforce(mode, &safety::scan_message(&object), "message")?;
            Ok(Prepared {
                body,
                object: Some(object),
            })
        }
    }
}

/// The body as a JSON object, with the server's 415 and 400 answers (an empty body is `{}`).
pub(crate) fn parse_object(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, Refusal> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("application/json"));
    if !is_json {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        ));
    }
    let bytes: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(Refusal::new(StatusCode::BAD_REQUEST, "Validation failed")
            .with("details", Value::from("the body must be a JSON object"))),
        Err(_) => Err(Refusal::new(StatusCode::BAD_REQUEST, "Malformed JSON body")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(Route::of(&Method::POST, "/api/v1/help"), Route::Help);
        assert_eq!(Route::of(&Method::GET, "/api/v1/help"), Route::Other);
        assert_eq!(
            Route::of(&Method::POST, "/api/v1/message/abc"),
            Route::Message
        );
        assert_eq!(Route::of(&Method::POST, "/api/v1/message/"), Route::Other);
        assert_eq!(
            Route::of(&Method::POST, "/api/v1/help/x/timeout"),
            Route::Other
        );
        assert!(ambiguous_path("/api/v1/%68elp"));
        assert!(ambiguous_path("/api/v1//help"));
        assert!(!ambiguous_path("/api/v1/help"));
    }
}
