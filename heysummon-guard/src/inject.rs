//! API key injection: the agent need not know the key; the guard sets its own on every request
//! and refuses, locally, any request that carries a different one.
//!
//! The key travels in the `x-api-key` header (which the signature covers) and, for
//! `POST /api/v1/help`, where the v1 API authenticates by the body, in the `apiKey` member too.

use hyper::StatusCode;
use hyper::header::{HeaderMap, HeaderName};
use serde_json::{Map, Value};

use crate::apikey::ApiKey;
use crate::response::Refusal;

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

fn mismatch() -> Refusal {
    Refusal::new(
        StatusCode::FORBIDDEN,
        "This guard holds the API key: the request carried a different one",
    )
    .with("code", Value::from("API_KEY_MISMATCH"))
}

/// Refuses a request whose `x-api-key` header(s) differ from `key`, else sets the header to it.
pub fn inject_header(key: &ApiKey, headers: &mut HeaderMap) -> Result<(), Refusal> {
    if headers
        .get_all(&X_API_KEY)
        .iter()
        .any(|presented| !key.matches(presented.as_bytes()))
    {
        return Err(mismatch());
    }
    headers.insert(X_API_KEY, key.header_value().clone());
    Ok(())
}

/// For a `POST /api/v1/help` body: refuses a different `apiKey`, else sets it. Returns whether
/// the body changed (and so must be serialised again).
pub fn inject_body(key: &ApiKey, body: &mut Map<String, Value>) -> Result<bool, Refusal> {
    match body.get("apiKey") {
        Some(Value::String(presented)) if key.matches(presented.as_bytes()) => Ok(false),
        None | Some(Value::Null) => {
            body.insert("apiKey".into(), Value::String(key.expose().to_owned()));
            Ok(true)
        }
        Some(_) => Err(mismatch()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hyper::header::HeaderValue;
    use serde_json::json;

    fn key() -> ApiKey {
        ApiKey::new("hs_cli_guard0001").unwrap()
    }

    #[test]
    fn header_absent_or_equal_is_set_different_is_refused() {
        let mut headers = HeaderMap::new();
        inject_header(&key(), &mut headers).unwrap();
        assert_eq!(headers["x-api-key"], "hs_cli_guard0001");
        inject_header(&key(), &mut headers).unwrap();
        headers.append("x-api-key", HeaderValue::from_static("hs_cli_other"));
        let refusal = inject_header(&key(), &mut headers).unwrap_err();
        assert_eq!(refusal.status, StatusCode::FORBIDDEN);
        assert!(!refusal.body.to_string().contains("hs_cli"));
    }

    #[test]
    fn body_member() {
        let mut body = json!({"question": "q"}).as_object().unwrap().clone();
        assert!(inject_body(&key(), &mut body).unwrap());
        assert_eq!(body["apiKey"], "hs_cli_guard0001");
        assert!(!inject_body(&key(), &mut body).unwrap());
        body.insert("apiKey".into(), json!("hs_cli_other"));
        assert!(inject_body(&key(), &mut body).is_err());
        body.insert("apiKey".into(), json!(7));
        assert!(inject_body(&key(), &mut body).is_err());
    }
}
