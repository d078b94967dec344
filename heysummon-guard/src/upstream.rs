//! The upstream side: one pooled keep-alive HTTP/1.1 client, as a tower [`Service`] over
//! buffered requests, with a per-request deadline for the response head.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower::Service;

use crate::config::Limits;

/// How long the upstream may take to answer with its response head; `None` for streams,
/// which have no total timeout. Carried as a request extension; absent means no deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline(pub Option<Duration>);

/// Why the upstream did not answer.
#[derive(Debug)]
pub enum UpstreamError {
    /// No connection could be opened (refused, unreachable, connect timeout).
    Connect,
    /// No response head within the deadline.
    Timeout,
    /// The connection failed otherwise.
    Failed(String),
}

/// The pooled upstream client. Cheap to clone (the pool is shared); never adds
/// `Connection: close`, so connections are reused.
#[derive(Clone, Debug)]
pub struct Upstream {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Upstream {
    /// A client with the connect timeout of `limits`.
    pub fn new(limits: &Limits) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(limits.connect_timeout));
        connector.enforce_http(true);
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
            result.map_err(|error| {
                if error.is_connect() {
                    UpstreamError::Connect
                } else {
                    UpstreamError::Failed(error.to_string())
                }
            })
        })
    }
}
