//! The agent's request on its way in: refusing what a web page could send, reading the body
//! under the limit, the headers sent upstream, the upstream target and the deadline.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HOST, HeaderMap};
use hyper::http::uri::{Parts as UriParts, PathAndQuery};
use hyper::{StatusCode, Uri};

use super::Guard;
use crate::inspect;
use crate::response::Refusal;
use crate::{hop, inject};

/// The header of a client key bound to a device token (PROTOCOL D).
const DEVICE_TOKEN_HEADER: hyper::header::HeaderName =
    hyper::header::HeaderName::from_static("x-device-token");
/// Paths whose responses are event streams: no total timeout.
const STREAM_PATHS: [&str; 2] = ["/api/v1/events/stream", "/.well-known/mercure"];
/// The longest long-poll the server honours, plus slack.
const MAX_WAIT_SECS: u64 = 60;

impl Guard {
    /// The headers sent upstream: hop-by-hop headers, `Host` and `Content-Length` dropped, the
    /// API key checked and injected, the device token added when one is configured.
    pub(super) fn outgoing_headers(&self, headers: &mut HeaderMap) -> Result<(), Refusal> {
        let inner = &*self.inner;
        hop::strip(headers);
        headers.remove(HOST);
        headers.remove(CONTENT_LENGTH);
        inject::inject_header(&inner.config.api_key, headers)?;
        if let Some(token) = &inner.config.device_token {
            headers.insert(DEVICE_TOKEN_HEADER, token.header_value().clone());
        }
        Ok(())
    }

    /// Refuses what a web page could send: anything with an `Origin` header (browsers add it to
    /// cross-site and script requests; agents do not), and a `Host` that is not the guard's own
    /// (DNS rebinding), unless a non-loopback listen address was explicitly allowed.
    pub(super) fn refuse_browsers(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let forbidden = |why: &str| {
            Refusal::new(
                StatusCode::FORBIDDEN,
                "Browser requests are refused by the guard",
            )
            .with("details", serde_json::Value::from(why))
        };
        if headers.contains_key(hyper::header::ORIGIN) {
            return Err(forbidden("requests with an Origin header are not accepted"));
        }
        // Two Host headers could pass the check with one and reach a proxy with the other.
        if headers.get_all(HOST).iter().nth(1).is_some() {
            return Err(forbidden("more than one Host header"));
        }
        if self.inner.config.allow_non_loopback {
            return Ok(());
        }
        let Some(host) = headers.get(HOST) else {
            return Ok(());
        };
        let host = host.to_str().unwrap_or_default();
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        // A loopback address or the guard's own listen address; parsed, not formatted, so the
        // check allocates nothing.
        let listen = self.inner.config.listen.ip();
        let loopback = name == "localhost"
            || name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback() || ip == listen);
        if loopback {
            Ok(())
        } else {
            Err(forbidden("the Host is not a loopback name"))
        }
    }

    /// Streams have no deadline; a long-poll gets its wait on top of the upstream timeout.
    pub(super) fn deadline(&self, path: &str, query: Option<&str>) -> Option<Duration> {
        if STREAM_PATHS.contains(&path) {
            return None;
        }
        let wait = inspect::query_param(query, "wait")
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
            .min(MAX_WAIT_SECS);
        Some(self.inner.config.limits.upstream_timeout + Duration::from_secs(wait))
    }

    /// The upstream's scheme and authority, its path prefix, then the path and query exactly as
    /// the agent sent them.
    pub(super) fn upstream_uri(&self, uri: &Uri) -> Result<Uri, Refusal> {
        let inner = &*self.inner;
        let sent = uri.path_and_query().map_or("/", PathAndQuery::as_str);
        let path_and_query = if inner.prefix.is_empty() {
            uri.path_and_query()
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/"))
        } else {
            PathAndQuery::try_from(format!("{}{sent}", inner.prefix))
                .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "Invalid request target"))?
        };
        let mut parts = UriParts::default();
        parts.scheme = Some(inner.scheme.clone());
        parts.authority = Some(inner.authority.clone());
        parts.path_and_query = Some(path_and_query);
        Uri::from_parts(parts)
            .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "Invalid request target"))
    }
}

/// Reads the whole body under `limit` within `deadline`: a declared or actual (chunked) excess
/// is 413, a body still unfinished at the deadline 408.
pub(super) async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, Refusal> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(Refusal::too_large());
    }
    let read = tokio::time::timeout(deadline, Limited::new(body, limit).collect())
        .await
        .map_err(|_| {
            Refusal::new(
                StatusCode::REQUEST_TIMEOUT,
                "The request body was not received in time",
            )
        })?;
    match read {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(Refusal::too_large()),
        Err(_) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "Could not read the request body",
        )),
    }
}
