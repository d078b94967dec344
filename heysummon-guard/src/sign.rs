//! PROTOCOL B4 request signing as a tower [`Layer`]/[`Service`] pair, in the shape of
//! tower-http's `add_authorization`: wrap any service that takes a buffered request
//! (`http::Request<Bytes>`) and every request it sees gets the four signature headers.
//!
//! The signature covers the method, the path and query of the request URI (what an HTTP/1.1
//! client sends on the request line; `/` when the URI has none), the body bytes, and the value
//! of the `x-api-key` header as the request carries it when it reaches this layer (the empty
//! string when absent, as the server computes it). Put any step that changes those — key
//! injection, body rewriting — *before* this layer.
//!
//! ```
//! use bytes::Bytes;
//! use heysummon_guard::sign::SignRequestLayer;
//! use heysummon_sdk::keys::SigningKeyPair;
//! use heysummon_sdk::signing::{HEADER_SIGNATURE, RequestSigner};
//! use tower::{Layer as _, Service as _, ServiceExt as _};
//!
//! # async fn demo() {
//! let layer = SignRequestLayer::new(RequestSigner::new(SigningKeyPair::generate()));
//! let mut service = layer.layer(tower::service_fn(|req: hyper::Request<Bytes>| async move {
//!     Ok::<_, std::convert::Infallible>(req.headers().contains_key(HEADER_SIGNATURE))
//! }));
//! let request = hyper::Request::get("http://127.0.0.1:8080/api/v1/whoami")
//!     .body(Bytes::new())
//!     .unwrap();
//! assert!(service.ready().await.unwrap().call(request).await.unwrap());
//! # }
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use heysummon_sdk::signing::{
    HEADER_API_KEY, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, RequestParts,
    RequestSigner,
};
use hyper::Request;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use tower::{Layer, Service};

/// Signs every request with a device key (PROTOCOL B4). Cheap to clone.
#[derive(Clone, Debug)]
pub struct SignRequestLayer {
    signer: Arc<Signer>,
}

#[derive(Debug)]
struct Signer {
    signer: RequestSigner,
    device: HeaderValue,
}

impl SignRequestLayer {
    /// A layer signing with `signer`'s device key.
    pub fn new(signer: RequestSigner) -> Self {
        // A device id is 64 lowercase hex digits, always a valid header value.
        let device = HeaderValue::from_str(signer.device_id())
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        Self {
            signer: Arc::new(Signer { signer, device }),
        }
    }

    /// The device id this layer signs as.
    pub fn device_id(&self) -> &str {
        self.signer.signer.device_id()
    }
}

impl<S> Layer<S> for SignRequestLayer {
    type Service = SignRequest<S>;

    fn layer(&self, inner: S) -> SignRequest<S> {
        SignRequest {
            inner,
            signer: self.signer.clone(),
        }
    }
}

/// The service of [`SignRequestLayer`].
#[derive(Clone, Debug)]
pub struct SignRequest<S> {
    inner: S,
    signer: Arc<Signer>,
}

impl<S> SignRequest<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S> Service<Request<Bytes>> for SignRequest<S>
where
    S: Service<Request<Bytes>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Bytes>) -> Self::Future {
        self.signer.sign(&mut request);
        self.inner.call(request)
    }
}

impl Signer {
    fn sign(&self, request: &mut Request<Bytes>) {
        let path_and_query = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
        // The server hashes the header as text, and an unreadable header as "".
        let api_key = request
            .headers()
            .get(HEADER_API_KEY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let parts = RequestParts {
            method: request.method().as_str(),
            path_and_query,
            body: request.body(),
            api_key,
        };
        let signed = self.signer.sign(&parts);
        let headers = request.headers_mut();
        insert(headers, HEADER_TIMESTAMP, signed.timestamp_ms.to_string());
        insert(headers, HEADER_NONCE, signed.nonce.to_string());
        insert(headers, HEADER_SIGNATURE, BASE64.encode(signed.signature));
        headers.insert(HeaderName::from_static(HEADER_DEVICE), self.device.clone());
    }
}

/// Digits, hex and base64 are always valid header values; should one ever not be, the header is
/// left out and the server refuses the request as unsigned (it fails closed).
fn insert(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::try_from(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}
