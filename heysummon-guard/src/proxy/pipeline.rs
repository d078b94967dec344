//! The pipeline of one request, in order: the guard's own `GET /health`, browser refusal, the
//! local ask API, path check, body read, outgoing headers, body inspection and the agents' end-to-end
//! help, the upstream call; then the way back ([`Guard::pass_back`]).

use heysummon_sdk::wire::RequestId;
use http_body_util::Either;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode, Version};
use tower::Service as _;

use super::Guard;
use super::passthrough::{Inspect, upstream_refusal};
use super::request::read_body;
use crate::ask_api;
use crate::inject;
use crate::inspect::{self, Route};
use crate::response::{ProxyBody, Refusal, json_bytes_response, json_response};
use crate::upstream::Deadline;

impl Guard {
    /// One request through the pipeline; a refusal is answered by [`Guard::handle`].
    pub(super) async fn forward(
        &self,
        request: Request<Incoming>,
    ) -> Result<Response<ProxyBody>, Refusal> {
        let inner = &*self.inner;
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path();
        // Before everything, `/health` included: it names the device and the upstream, which
        // a web page must not learn.
        self.refuse_browsers(&parts.headers)?;
        if path == "/health" && matches!(parts.method, Method::GET | Method::HEAD) {
            return Ok(self.health());
        }
        if path == "/v1/ask" || path.starts_with("/v1/ask/") {
            return self.local_ask(parts, body).await;
        }
        if path == "/mcp" {
            return self.mcp(parts, body).await;
        }
        if inspect::ambiguous_path(path) {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "Unsupported path: percent-encoded characters, empty or dot segments",
            ));
        }
        let route = Route::of(&parts.method, path);
        let deadline = self.deadline(path, parts.uri.query());
        let limits = &inner.config.limits;
        let body = read_body(
            &parts.headers,
            body,
            limits.max_body_bytes,
            limits.body_read_timeout,
        )
        .await?;
        self.outgoing_headers(&mut parts.headers)?;
        let inspect::Prepared { body, object } = inspect::prepare(
            route,
            &parts.headers,
            body,
            &inner.config.api_key,
            inner.config.safety,
        )?;
        // Agents without cryptography: the guard seals, encrypts and decrypts for them.
        let listing = match (route, &object) {
            (Route::Help, Some(object)) => {
                let asker = inner.e2e.asker();
                if let Some(answer) = ask_api::create_help(asker, &parts.headers, object).await? {
                    return Ok(json_response(StatusCode::OK, &answer));
                }
                None
            }
            (Route::Message, Some(object)) => {
                let id = parts.uri.path().trim_start_matches("/api/v1/message/");
                if let Some(answer) = inner.e2e.send(&RequestId::new(id), object).await? {
                    return Ok(json_response(StatusCode::OK, &answer));
                }
                None
            }
            (Route::Other, _) if parts.method == Method::GET => {
                let path = parts.uri.path();
                let id_after = |prefix: &str| {
                    path.strip_prefix(prefix)
                        .filter(|id| !id.is_empty() && !id.contains('/'))
                        .map(RequestId::new)
                };
                if let Some(id) = id_after("/api/v1/messages/") {
                    inner.e2e.lookup(&id)?.map(Inspect::Listing)
                } else if let Some(id) = id_after("/api/v1/help/") {
                    // A request the guard made: its decision is checked before the agent sees it.
                    inner.e2e.lookup(&id)?.map(Inspect::Status)
                } else {
                    None
                }
            }
            _ => None,
        };
        if listing.is_some() {
            // The guard must read the answer to open or check it.
            parts.headers.remove(hyper::header::ACCEPT_ENCODING);
        }
        parts.uri = self.upstream_uri(&parts.uri)?;
        parts.version = Version::HTTP_11;
        parts.extensions = hyper::http::Extensions::new();
        parts.extensions.insert(Deadline(deadline));
        let mut service = inner.service.clone();
        let response = service
            .call(Request::from_parts(parts, body))
            .await
            .map_err(upstream_refusal)?;
        self.pass_back(response, listing).await
    }

    /// The local ask API (`POST /v1/ask`, `GET /v1/ask/:requestId`), answered by the guard.
    async fn local_ask(
        &self,
        parts: hyper::http::request::Parts,
        body: Incoming,
    ) -> Result<Response<ProxyBody>, Refusal> {
        let inner = &*self.inner;
        let started = tokio::time::Instant::now();
        let mut headers = parts.headers.clone();
        inject::inject_header(&inner.config.api_key, &mut headers)?;
        let rest = parts.uri.path().trim_start_matches("/v1/ask");
        let answer = match (&parts.method, rest.strip_prefix('/')) {
            (&Method::POST, None) => {
                let limits = &inner.config.limits;
                let (max, deadline) = (limits.max_body_bytes, limits.body_read_timeout);
                let body = read_body(&parts.headers, body, max, deadline).await?;
                ask_api::ask(inner.e2e.asker(), &parts.headers, &body, started).await?
            }
            (&Method::GET, Some(id)) if !id.is_empty() && !id.contains('/') => {
                ask_api::resume(inner.e2e.asker(), id, parts.uri.query(), started).await?
            }
            (_, Some(id)) if id.is_empty() || id.contains('/') => {
                return Err(Refusal::new(StatusCode::NOT_FOUND, "Not found"));
            }
            _ => {
                return Err(Refusal::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Method not allowed",
                ));
            }
        };
        Ok(json_response(StatusCode::OK, &answer))
    }

    /// The MCP endpoint (streamable HTTP), its body read under the guard's limits first.
    async fn mcp(
        &self,
        parts: hyper::http::request::Parts,
        body: Incoming,
    ) -> Result<Response<ProxyBody>, Refusal> {
        let limits = &self.inner.config.limits;
        let (max, deadline) = (limits.max_body_bytes, limits.body_read_timeout);
        let body = read_body(&parts.headers, body, max, deadline).await?;
        let response = self
            .inner
            .mcp
            .handle(Request::from_parts(parts, body))
            .await;
        Ok(response.map(Either::Right))
    }

    fn health(&self) -> Response<ProxyBody> {
        json_bytes_response(StatusCode::OK, self.inner.health.clone())
    }
}
