//! The proxy: one request from the agent through the pipeline to the server and back.
//!
//! Pipeline, in order: the guard's own `GET /health`; path check; body read under the limit
//! (413, not forwarded); hop-by-hop headers dropped; API key checked and injected
//! ([`crate::inject`]); body inspection, content safety and rewriting for `POST /help` and
//! `POST /message` ([`crate::inspect`], the place for later transformations); the upstream URI;
//! signing ([`SignRequestLayer`]); the pooled upstream client ([`Upstream`]). The response is
//! streamed back with its hop-by-hop headers dropped.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use heysummon_sdk::keys::SigningKeyPair;
use heysummon_sdk::keystore::KeyStore;
use heysummon_sdk::signing::RequestSigner;
use heysummon_sdk::wire::RequestId;
use http_body_util::{BodyExt as _, Either, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderMap, HeaderValue};
use hyper::http::uri::{Parts as UriParts, PathAndQuery};
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use serde_json::json;
use tower::Service as _;

use crate::ask::Deadlines;
use crate::ask_api;
use crate::config::Config;
use crate::e2e::{self, E2e};
use crate::error::Error;
use crate::inspect::{self, Route};
use crate::response::json_response;
use crate::response::{ProxyBody, Refusal};
use crate::sign::{SignRequest, SignRequestLayer};
use crate::upstream::{Deadline, Upstream, UpstreamError};
use crate::{hop, inject};

/// The header of a client key bound to a device token (PROTOCOL D).
const DEVICE_TOKEN_HEADER: hyper::header::HeaderName =
    hyper::header::HeaderName::from_static("x-device-token");
/// The largest `GET /messages` answer the guard reads to decrypt (the server's requests are
/// capped at 1 MiB each; a conversation may hold several).
const MAX_LISTING_BYTES: usize = 16 * 1024 * 1024;
/// Paths whose responses are event streams: no total timeout.
const STREAM_PATHS: [&str; 2] = ["/api/v1/events/stream", "/.well-known/mercure"];
/// The longest long-poll the server honours, plus slack.
const MAX_WAIT_SECS: u64 = 60;

/// The guard: configuration, device key, upstream pool. Cheap to clone.
///
/// A guard's connection pools (the upstream pool and its SDK client's) belong to the tokio
/// runtime that first uses them: a guard serving on several runtimes (one per thread) needs one
/// `Guard` per runtime, made with [`Guard::new_sharing`] or [`Guard::with_shared`] so that they
/// share the state that must be shared ([`GuardShared`]).
#[derive(Clone, Debug)]
pub struct Guard {
    inner: Arc<Inner>,
}

/// What the guards serving the same agents share: the local ask API's state (the callers'
/// `timeoutSeconds` deadlines) and the key store (per-request keys, expert pins). Cheap to
/// clone; the clones share.
///
/// Guards that do not share it do not know each other's requests: a `GET /v1/ask/:id` answered
/// by another guard would ignore the caller's `timeoutSeconds`, and with an in-memory key store
/// would not find the request at all.
#[derive(Clone, Debug)]
pub struct GuardShared {
    deadlines: Deadlines,
    key_store: Arc<dyn KeyStore>,
}

impl GuardShared {
    /// Fresh shared state, over the key store `config` names ([`e2e::open_key_store`]).
    ///
    /// # Errors
    /// [`Error::Config`] when the key store cannot be opened.
    pub fn new(config: &Config) -> Result<Self, Error> {
        Ok(Self::with_key_store(e2e::open_key_store(config)?))
    }

    /// Fresh shared state over `key_store`.
    pub fn with_key_store(key_store: Arc<dyn KeyStore>) -> Self {
        Self {
            deadlines: Deadlines::new(),
            key_store,
        }
    }

    /// The shared key store.
    pub fn key_store(&self) -> &Arc<dyn KeyStore> {
        &self.key_store
    }
}

#[derive(Debug)]
struct Inner {
    config: Config,
    /// Kept to make sibling guards ([`Guard::new_sharing`]).
    device_key: SigningKeyPair,
    signer: RequestSigner,
    service: SignRequest<Upstream>,
    /// Scheme, authority and path prefix of the upstream.
    scheme: hyper::http::uri::Scheme,
    authority: hyper::http::uri::Authority,
    prefix: String,
    health: Bytes,
    /// Sealing, decrypting and waiting for agents without cryptography.
    e2e: E2e,
    /// State shared with sibling guards, the local ask API's among it.
    shared: GuardShared,
}

impl Guard {
    /// A guard signing with `device_key`, keeping per-request keys in
    /// [`Config::key_store_dir`].
    ///
    /// # Errors
    /// [`Error::Config`] when the key store cannot be opened.
    pub fn new(config: Config, device_key: SigningKeyPair) -> Result<Self, Error> {
        let shared = GuardShared::new(&config)?;
        Self::with_shared(config, device_key, shared)
    }

    /// A guard with its own connection pools that shares `shared` (the ask API's deadlines, the
    /// key store) with the other guards made with it: one per runtime of a multi-threaded
    /// server.
    ///
    /// # Errors
    /// [`Error::Config`] when the SDK client cannot be made.
    pub fn with_shared(
        config: Config,
        device_key: SigningKeyPair,
        shared: GuardShared,
    ) -> Result<Self, Error> {
        let e2e = E2e::with_key_store(
            &config,
            device_key.clone(),
            shared.key_store.clone(),
            shared.deadlines.clone(),
        )?;
        let signer = RequestSigner::new(device_key.clone());
        let service = tower::Layer::layer(
            &SignRequestLayer::with_known_api_key(signer.clone(), config.api_key.expose()),
            Upstream::new(&config.limits),
        );
        let upstream = config.upstream.clone().into_parts();
        let scheme = upstream.scheme.unwrap_or(hyper::http::uri::Scheme::HTTP);
        let authority = upstream
            .authority
            .unwrap_or_else(|| hyper::http::uri::Authority::from_static("127.0.0.1"));
        let prefix = upstream
            .path_and_query
            .map(|pq| pq.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let health = json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "upstream": config.upstream.to_string(),
            "deviceId": signer.device_id(),
        });
        let health = Bytes::from(serde_json::to_vec(&health).unwrap_or_default());
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                device_key,
                signer,
                service,
                scheme,
                authority,
                prefix,
                health,
                e2e,
                shared,
            }),
        })
    }

    /// A sibling guard: the same configuration, device key and [`GuardShared`] state, with
    /// connection pools of its own (for another runtime).
    ///
    /// # Errors
    /// [`Error::Config`] when the SDK client cannot be made.
    pub fn new_sharing(&self) -> Result<Self, Error> {
        Self::with_shared(
            self.inner.config.clone(),
            self.inner.device_key.clone(),
            self.inner.shared.clone(),
        )
    }

    /// The state this guard shares with its siblings.
    pub fn shared(&self) -> &GuardShared {
        &self.inner.shared
    }

    /// The end-to-end helper (the guard's SDK client and key store).
    pub fn e2e(&self) -> &E2e {
        &self.inner.e2e
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The request signer (device key).
    pub fn signer(&self) -> &RequestSigner {
        &self.inner.signer
    }

    /// The unsigned upstream client.
    pub(crate) fn upstream(&self) -> Upstream {
        self.inner.service.get_ref().clone()
    }

    /// The signing upstream client.
    pub(crate) fn signing_upstream(&self) -> SignRequest<Upstream> {
        self.inner.service.clone()
    }

    /// Answers one request of an agent. Never fails: refusals and upstream failures are JSON
    /// error responses. Cancel-safe (dropping it abandons the upstream request).
    pub async fn handle(&self, request: Request<Incoming>) -> Response<ProxyBody> {
        let method = request.method().clone();
        let started = std::time::Instant::now();
        let response = match self.forward(request).await {
            Ok(response) => response,
            Err(refusal) => refusal.into_response(),
        };
        tracing::debug!(%method, status = response.status().as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "proxied");
        response
    }

    async fn forward(&self, request: Request<Incoming>) -> Result<Response<ProxyBody>, Refusal> {
        let inner = &*self.inner;
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path();
        if path == "/health" && matches!(parts.method, Method::GET | Method::HEAD) {
            return Ok(self.health());
        }
        self.refuse_browsers(&parts.headers)?;
        if path == "/v1/ask" || path.starts_with("/v1/ask/") {
            return self.local_ask(parts, body).await;
        }
        if inspect::ambiguous_path(path) {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "Unsupported path: percent-encoded characters, empty or dot segments",
            ));
        }
        let route = Route::of(&parts.method, path);
        let deadline = self.deadline(path, parts.uri.query());
        let body = read_body(&parts.headers, body, inner.config.limits.max_body_bytes).await?;
        hop::strip(&mut parts.headers);
        parts.headers.remove(HOST);
        parts.headers.remove(CONTENT_LENGTH);
        inject::inject_header(&inner.config.api_key, &mut parts.headers)?;
        if let Some(token) = &inner.config.device_token {
            parts
                .headers
                .insert(DEVICE_TOKEN_HEADER, token.header_value().clone());
        }
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
                match parts
                    .uri
                    .path()
                    .strip_prefix("/api/v1/messages/")
                    .filter(|id| !id.is_empty() && !id.contains('/'))
                {
                    Some(id) => inner.e2e.lookup(&RequestId::new(id))?,
                    None => None,
                }
            }
            _ => None,
        };
        if listing.is_some() {
            // The guard must read the listing to open it.
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
        let (mut parts, body) = response.into_parts();
        hop::strip(&mut parts.headers);
        if let Some(conversation) = listing.filter(|_| parts.status == StatusCode::OK) {
            let read = Limited::new(body, MAX_LISTING_BYTES).collect();
            let listed = tokio::time::timeout(inner.config.limits.upstream_timeout, read)
                .await
                .map_err(|_| upstream_refusal(UpstreamError::Timeout))?
                .map_err(|_| {
                    Refusal::new(
                        StatusCode::BAD_GATEWAY,
                        "The HeySummon server's answer could not be read",
                    )
                })?
                .to_bytes();
            // Never pass on a listing the guard could not authenticate: its `plaintext` members
            // would look like the guard's own.
            let opened = inner
                .e2e
                .open_listing(&conversation, &listed)
                .ok_or_else(|| {
                    Refusal::new(
                        StatusCode::BAD_GATEWAY,
                        "message could not be authenticated",
                    )
                })?;
            parts.headers.remove(CONTENT_LENGTH);
            return Ok(Response::from_parts(
                parts,
                Either::Right(Full::new(opened)),
            ));
        }
        Ok(Response::from_parts(parts, Either::Left(body)))
    }

    /// Refuses what a web page could send: anything with an `Origin` header (browsers add it to
    /// cross-site and script requests; agents do not), and a `Host` that is not the guard's own
    /// (DNS rebinding), unless a non-loopback listen address was explicitly allowed.
    fn refuse_browsers(&self, headers: &HeaderMap) -> Result<(), Refusal> {
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
                let limit = inner.config.limits.max_body_bytes;
                let body = read_body(&parts.headers, body, limit).await?;
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

    fn health(&self) -> Response<ProxyBody> {
        let mut response = Response::new(Either::Right(Full::new(self.inner.health.clone())));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }

    /// Streams have no deadline; a long-poll gets its wait on top of the upstream timeout.
    fn deadline(&self, path: &str, query: Option<&str>) -> Option<Duration> {
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
    fn upstream_uri(&self, uri: &Uri) -> Result<Uri, Refusal> {
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

/// Reads the whole body under `limit`: a declared or actual (chunked) excess is 413.
async fn read_body(headers: &HeaderMap, body: Incoming, limit: usize) -> Result<Bytes, Refusal> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(Refusal::too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(Refusal::too_large()),
        Err(_) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "Could not read the request body",
        )),
    }
}

fn upstream_refusal(error: UpstreamError) -> Refusal {
    match error {
        UpstreamError::Connect => Refusal::new(
            StatusCode::BAD_GATEWAY,
            "Could not connect to the HeySummon server",
        ),
        UpstreamError::Timeout => Refusal::new(
            StatusCode::GATEWAY_TIMEOUT,
            "The HeySummon server did not answer in time",
        ),
        UpstreamError::Failed(reason) => {
            tracing::warn!(%reason, "upstream request failed");
            Refusal::new(
                StatusCode::BAD_GATEWAY,
                "The connection to the HeySummon server failed",
            )
        }
    }
}
