//! The upstream side: one pooled keep-alive HTTP/1.1 client, over TLS for an `https://`
//! upstream (rustls, the guard's [`Trust`]), as a tower [`Service`] over buffered requests, with
//! a per-request deadline for the response head.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower::Service;

use crate::config::Limits;
use crate::tls::Trust;

/// How long the upstream may take to answer with its response head; `None` for streams,
/// which have no total timeout. Carried as a request extension; absent means no deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline(pub Option<Duration>);

/// Why the upstream did not answer.
#[derive(Debug)]
pub enum UpstreamError {
    /// No connection could be opened (refused, unreachable, connect timeout).
    Connect,
    /// The TLS handshake failed: most often the server's certificate was not trusted or not
    /// issued for the upstream's name. The reason is rustls's.
    Tls(String),
    /// No response head within the deadline.
    Timeout,
    /// The connection failed otherwise.
    Failed(String),
}

/// The pooled upstream client. Cheap to clone (the pool is shared); never adds
/// `Connection: close`, so connections are reused (TLS sessions included: one handshake per
/// pooled connection).
#[derive(Clone, Debug)]
pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Upstream {
    /// A client with the connect timeout of `limits`, verifying `https://` servers with
    /// `trust` (plain `http://` passes through without TLS; the configuration decides which
    /// upstreams may be plain).
    pub fn new(limits: &Limits, trust: &Trust) -> Self {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(limits.connect_timeout));
        http.enforce_http(false);
        let connector = HttpsConnector::from((http, trust.client_config()));
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .build(connector);
        Self { client }
    }
}

impl Service<Request<Bytes>> for Upstream {
    type Response = Response<Incoming>;
    type Error = UpstreamError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Incoming>, UpstreamError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), UpstreamError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let deadline = request.extensions().get::<Deadline>().and_then(|d| d.0);
        let response = self.client.request(request.map(Full::new));
        Box::pin(async move {
            let result = match deadline {
                Some(limit) => tokio::time::timeout(limit, response)
                    .await
                    .map_err(|_| UpstreamError::Timeout)?,
                None => response.await,
            };
            result.map_err(|error| match tls_error(&error) {
                Some(reason) => UpstreamError::Tls(reason),
                None if error.is_connect() => UpstreamError::Connect,
                None => UpstreamError::Failed(error.to_string()),
            })
        })
    }
}

/// rustls's reason, when `error` is a failed TLS handshake. The connector wraps rustls's error
/// in `io::Error`s, whose `source()` skips the error they wrap, so those are opened by hand.
fn tls_error(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        next = match current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}
