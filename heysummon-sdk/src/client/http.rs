//! Reading HTTP answers: bodies within limits, error answers, `Retry-After`, and turning reqwest
//! failures into [`Error`]s. Knows nothing of the API's endpoints.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::Error;
use crate::error::NetworkErrorKind;
use crate::wire::{ErrorBody, Timestamp};

/// The largest body we read: the server caps requests at 1 MiB, and its answers are smaller.
pub(crate) const MAX_BODY: usize = 1024 * 1024;
/// The largest error body we read.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;

/// A success body as `T`, or the error the server answered.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, Error> {
    if !response.status().is_success() {
        return Err(http_error(response).await);
    }
    let body = read_limited(response, MAX_BODY).await?;
    serde_json::from_slice(&body).map_err(|e| describe_json_error("the answer", &e))
}

/// An [`Error::Http`] from an error answer, with its parsed body and `Retry-After`.
async fn http_error(response: reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    // An unreadable or non-JSON body leaves just the status.
    let body = read_limited(response, MAX_ERROR_BODY).await.ok();
    http_error_from(status, retry_after, body.as_deref())
}

/// An [`Error::Http`] from its parts.
pub(crate) fn http_error_from(
    status: u16,
    retry_after: Option<Duration>,
    body: Option<&[u8]>,
) -> Error {
    let body = body
        .and_then(|bytes| serde_json::from_slice::<ErrorBody>(bytes).ok())
        .map(Box::new);
    Error::Http {
        status,
        body,
        retry_after,
    }
}

/// Reads a body, refusing one larger than `limit`.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(from_reqwest)? {
        if body.len() + chunk.len() > limit {
            return Err(Error::Protocol(format!("answer larger than {limit} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Says what was wrong with a JSON body without quoting it (it may hold the expert's answer).
pub(crate) fn describe_json_error(what: &str, error: &serde_json::Error) -> Error {
    Error::Protocol(format!(
        "{what} is not the expected JSON ({:?} error at line {}, column {})",
        error.classify(),
        error.line(),
        error.column()
    ))
}

/// The `Retry-After` of an answer.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, Timestamp::now()))
}

/// `Retry-After` is either delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let ahead_ms = at.timestamp_millis().saturating_sub(now.unix_millis());
    Some(Duration::from_millis(u64::try_from(ahead_ms).unwrap_or(0)))
}

/// Classifies a reqwest failure.
pub(crate) fn from_reqwest(error: reqwest::Error) -> Error {
    if error.is_builder() {
        return Error::config("cannot build the request").because(error);
    }
    Error::Network {
        kind: network_kind(&error),
        source: Box::new(error),
    }
}

pub(crate) fn network_kind(error: &reqwest::Error) -> NetworkErrorKind {
    if error.is_connect() {
        NetworkErrorKind::Connect
    } else if error.is_timeout() {
        NetworkErrorKind::Timeout
    } else if error.is_body() || error.is_decode() {
        NetworkErrorKind::Interrupted
    } else {
        NetworkErrorKind::Other
    }
}

/// A network error of `kind` whose cause is only a sentence (no underlying error to chain).
pub(super) fn network(kind: NetworkErrorKind, message: &'static str) -> Error {
    Error::Network {
        kind,
        source: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::HelpStatusResponse;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = Timestamp::parse("2026-04-25T19:56:45.000Z").unwrap();
        assert_eq!(parse_retry_after("60", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sat, 25 Apr 2026 19:57:45 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Sat, 25 Apr 2026 19:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn http_errors_carry_status_and_body() {
        let error = http_error_from(
            404,
            None,
            Some(br#"{"error":"Request not found","code":"NOT_FOUND"}"#),
        );
        assert_eq!(error.http_status(), Some(404));
        assert_eq!(error.code(), Some("NOT_FOUND"));
        assert!(!error.is_retryable());
        assert_eq!(error.to_string(), "HTTP 404: Request not found (NOT_FOUND)");

        let limited = http_error_from(429, Some(Duration::from_secs(60)), Some(b"<html>"));
        assert!(limited.is_retryable());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(60)));
        assert_eq!(limited.to_string(), "HTTP 429");
        assert!(http_error_from(503, None, None).is_retryable());
        assert!(!http_error_from(401, None, None).is_retryable());
    }

    #[test]
    fn json_errors_do_not_quote_the_body() {
        let secret = r#"{"requestId":"r","refCode":"HS-AAAAAAAA","status":987654321,"response":"the launch code is 0000"}"#;
        let error = serde_json::from_str::<HelpStatusResponse>(secret).unwrap_err();
        let described = describe_json_error("the answer", &error).to_string();
        assert!(!described.contains("launch code"), "{described}");
        assert!(!described.contains("987654321"), "{described}");
    }
}
