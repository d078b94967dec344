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

use std::cell::RefCell;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use heysummon_sdk::signing::{
    ApiKeyHash, HEADER_API_KEY, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
    Nonce, RequestParts, RequestSigner,
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
    /// An `x-api-key` value expected on most requests and the hash the canonical text needs for
    /// it, computed once.
    known_key: Option<(Vec<u8>, ApiKeyHash)>,
}

impl SignRequestLayer {
    /// A layer signing with `signer`'s device key.
    pub fn new(signer: RequestSigner) -> Self {
        // A device id is 64 lowercase hex digits, always a valid header value.
        let device = HeaderValue::from_str(signer.device_id())
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        Self {
            signer: Arc::new(Signer {
                signer,
                device,
                known_key: None,
            }),
        }
    }

    /// A layer that hashes `api_key` once, for a caller (such as the guard) that sets the same
    /// `x-api-key` on every request. Requests carrying another value (or none) are still signed
    /// correctly, hashing their own value.
    pub fn with_known_api_key(signer: RequestSigner, api_key: &str) -> Self {
        let mut layer = Self::new(signer);
        if let Some(inner) = Arc::get_mut(&mut layer.signer) {
            inner.known_key = Some((api_key.as_bytes().to_vec(), ApiKeyHash::of(api_key)));
        }
        layer
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
        let header = request.headers().get(HEADER_API_KEY);
        let api_key = header.and_then(|v| v.to_str().ok()).unwrap_or("");
        let parts = RequestParts {
            method: request.method().as_str(),
            path_and_query,
            body: request.body(),
            api_key,
        };
        let now_ms = unix_now_ms();
        let nonce = next_nonce();
        let signed = match &self.known_key {
            Some((known, hash)) if known.as_slice() == api_key.as_bytes() => self
                .signer
                .sign_at_with_key_hash(&parts, hash, now_ms, nonce),
            _ => self.signer.sign_at(&parts, now_ms, nonce),
        };
        let mut nonce_hex = [0u8; 32];
        let mut signature = [0u8; 88];
        let nonce_hex = hex::encode_to_slice(signed.nonce.as_bytes(), &mut nonce_hex)
            .ok()
            .map(|()| &nonce_hex[..]);
        let signature = BASE64
            .encode_slice(signed.signature, &mut signature)
            .ok()
            .map(|len| &signature[..len]);
        let headers = request.headers_mut();
        headers.insert(
            HeaderName::from_static(HEADER_TIMESTAMP),
            HeaderValue::from(signed.timestamp_ms),
        );
        insert(headers, HEADER_NONCE, nonce_hex);
        insert(headers, HEADER_SIGNATURE, signature);
        headers.insert(HeaderName::from_static(HEADER_DEVICE), self.device.clone());
    }
}

/// Milliseconds since the Unix epoch (0 before it, which the server refuses as stale).
fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// How many nonces one read of the operating system's CSPRNG provides.
const NONCE_BATCH: usize = 64;

thread_local! {
    /// Fresh nonces of this thread, taken from the end; refilled when empty. A nonce is public
    /// once sent, and each is handed out once, so keeping a few ready only saves system calls.
    static NONCES: RefCell<Vec<Nonce>> = const { RefCell::new(Vec::new()) };
}

/// A fresh random nonce, from a per-thread batch (one `getrandom` per [`NONCE_BATCH`]
/// requests instead of one per request).
fn next_nonce() -> Nonce {
    NONCES.with_borrow_mut(|nonces| {
        if let Some(nonce) = nonces.pop() {
            return nonce;
        }
        nonces.extend_from_slice(&Nonce::random_batch::<NONCE_BATCH>());
        nonces.pop().unwrap_or_else(Nonce::random)
    })
}

/// Hex and base64 are always valid header values; should one ever not be, the header is left
/// out and the server refuses the request as unsigned (it fails closed).
fn insert(headers: &mut HeaderMap, name: &'static str, value: Option<&[u8]>) {
    if let Some(value) = value.and_then(|v| HeaderValue::from_bytes(v).ok()) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use heysummon_sdk::keys::SigningKeyPair;
    use heysummon_sdk::signing::{MemoryNonceStore, SignatureHeaders, VerifyWindow, verify};

    fn signed(layer: &SignRequestLayer, api_key: Option<&str>) -> Request<Bytes> {
        let mut builder = Request::post("http://127.0.0.1:1/api/v1/help?x=1");
        if let Some(key) = api_key {
            builder = builder.header(HEADER_API_KEY, key);
        }
        let mut request = builder.body(Bytes::from_static(b"{\"q\":1}")).unwrap();
        layer.signer.sign(&mut request);
        request
    }

    #[test]
    fn known_and_other_keys_both_verify_and_nonces_differ() {
        let signer = RequestSigner::new(SigningKeyPair::generate());
        let public = signer.public_key();
        let layer = SignRequestLayer::with_known_api_key(signer, "hs_cli_guard0001");
        let mut nonces = MemoryNonceStore::new();
        let mut seen = std::collections::HashSet::new();
        for api_key in [Some("hs_cli_guard0001"), Some("hs_cli_other"), None] {
            for _ in 0..NONCE_BATCH + 1 {
                let request = signed(&layer, api_key);
                let headers = SignatureHeaders::from_lookup(|name| {
                    request.headers().get(name)?.to_str().ok()
                })
                .unwrap()
                .unwrap();
                assert!(seen.insert(*headers.nonce.as_bytes()));
                let parts = RequestParts {
                    method: "POST",
                    path_and_query: "/api/v1/help?x=1",
                    body: request.body(),
                    api_key: api_key.unwrap_or(""),
                };
                verify(
                    &headers,
                    &public,
                    &parts,
                    headers.timestamp_ms,
                    VerifyWindow::default(),
                    &mut nonces,
                )
                .unwrap();
            }
        }
    }
}
