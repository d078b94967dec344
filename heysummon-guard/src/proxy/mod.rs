//! The proxy: one request from the agent through the pipeline to the server and back.
//!
//! Pipeline, in order: the guard's own `GET /health`; path check; body read under the limit
//! (413, not forwarded); hop-by-hop headers dropped; API key checked and injected
//! ([`crate::inject`]); body inspection, content safety and rewriting for `POST /help` and
//! `POST /message` ([`crate::inspect`], the place for later transformations); the upstream URI;
//! signing ([`SignRequestLayer`]); the pooled upstream client ([`Upstream`]). The response is
//! streamed back with its hop-by-hop headers dropped.
//!
//! This file owns the [`Guard`] and its construction; `pipeline.rs` the pipeline itself,
//! `request.rs` the checks and rewrites of the agent's request (browser refusal, body limit,
//! headers, upstream target and deadline), `passthrough.rs` the way back (streamed, or a message
//! listing opened for the agent).

mod passthrough;
mod pipeline;
mod request;

use std::sync::Arc;

use bytes::Bytes;
use heysummon_sdk::keys::SigningKeyPair;
use heysummon_sdk::keystore::KeyStore;
use heysummon_sdk::signing::RequestSigner;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::json;

use crate::ask::Deadlines;
use crate::config::Config;
use crate::e2e::{self, E2e};
use crate::error::Error;
use crate::response::ProxyBody;
use crate::sign::{SignRequest, SignRequestLayer};
use crate::tls::Trust;
use crate::upstream::Upstream;

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
/// `timeoutSeconds` deadlines), the key store (per-request keys, expert pins) and the trust for
/// an `https://` upstream (loaded once). Cheap to clone; the clones share.
///
/// Guards that do not share it do not know each other's requests: a `GET /v1/ask/:id` answered
/// by another guard would ignore the caller's `timeoutSeconds`, and with an in-memory key store
/// would not find the request at all.
#[derive(Clone, Debug)]
pub struct GuardShared {
    deadlines: Deadlines,
    key_store: Arc<dyn KeyStore>,
    trust: Trust,
}

impl GuardShared {
    /// Fresh shared state, over the key store `config` names ([`e2e::open_key_store`]) and
    /// the trust it asks for ([`Trust::load`]).
    ///
    /// # Errors
    /// [`Error::Config`] when the key store cannot be opened or the CA file is not usable;
    /// [`Error::Io`] when the CA file cannot be read.
    pub fn new(config: &Config) -> Result<Self, Error> {
        Ok(Self::with_parts(
            e2e::open_key_store(config)?,
            Trust::load(config)?,
        ))
    }

    /// Fresh shared state over `key_store` and `trust`.
    pub fn with_parts(key_store: Arc<dyn KeyStore>, trust: Trust) -> Self {
        Self {
            deadlines: Deadlines::new(),
            key_store,
            trust,
        }
    }

    /// The shared key store.
    pub fn key_store(&self) -> &Arc<dyn KeyStore> {
        &self.key_store
    }

    /// The shared trust for an `https://` upstream.
    pub fn trust(&self) -> &Trust {
        &self.trust
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
    /// The MCP endpoint, `/mcp`.
    mcp: crate::mcp::HttpService,
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
            &shared.trust,
            shared.deadlines.clone(),
        )?;
        let signer = RequestSigner::new(device_key.clone());
        let service = tower::Layer::layer(
            &SignRequestLayer::with_known_api_key(signer.clone(), config.api_key.expose()),
            Upstream::new(&config.limits, &shared.trust),
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
        let mcp = crate::mcp::HttpService::new(
            e2e.asker().clone(),
            config.mcp_hold,
            config.limits.max_body_bytes,
        );
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
                mcp,
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
}
