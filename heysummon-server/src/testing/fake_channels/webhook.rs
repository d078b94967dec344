//! A Standard Webhooks consumer: records each `POST` it receives as a [`Delivery`] and checks
//! its signature (`webhook-signature: v1,{base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")}`,
//! several space-separated signatures allowed, the key the base64 after `whsec_`).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{Failure, Serving, status_code, wait_until};

/// One `POST` the receiver got.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// `webhook-id` (empty when missing).
    pub id: String,
    /// `webhook-timestamp` (empty when missing).
    pub timestamp: String,
    /// The body.
    pub body: String,
    /// Whether one of the `webhook-signature` entries is the right `v1` signature.
    pub signature_valid: bool,
    /// The request's headers.
    pub headers: HeaderMap,
    /// Whether the receiver answered it with a planned [`Failure`].
    pub failed: bool,
}

impl Delivery {
    /// The body as JSON. Panics when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| {
            panic!(
                "the webhook delivery {} is not JSON ({error}): {}",
                self.id, self.body
            )
        })
    }
}

/// A running webhook receiver. Dropping it stops it.
#[derive(Debug)]
pub struct WebhookReceiver {
    serving: Serving,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    key: Vec<u8>,
    state: Mutex<Received>,
}

#[derive(Debug, Default)]
struct Received {
    deliveries: Vec<Delivery>,
    plan: Vec<Failure>,
}

impl WebhookReceiver {
    /// Starts a receiver on 127.0.0.1 (a free port) checking signatures with `secret`
    /// (`whsec_{base64}`; the prefix may be left out). Panics when the secret is not base64.
    pub async fn start(secret: &str) -> Self {
        let shared = Arc::new(Shared {
            key: secret_key(secret),
            state: Mutex::default(),
        });
        let router = Router::new()
            .route("/webhook", post(receive))
            .with_state(shared.clone());
        Self {
            serving: Serving::start(router, "webhook receiver").await,
            shared,
        }
    }

    /// `http://127.0.0.1:PORT/webhook`: the channel's `url`.
    pub fn url(&self) -> String {
        format!("http://{}/webhook", self.serving.addr)
    }

    /// Answers the next `times` deliveries with `failure` (after any failures already
    /// planned): [`Failure::Status`] and [`Failure::ApiError`] a status with a short text,
    /// [`Failure::RateLimited`] a 429 with `Retry-After`.
    pub fn fail_next(&self, times: usize, failure: Failure) {
        self.received()
            .plan
            .extend(std::iter::repeat_n(failure, times));
    }

    /// Every delivery, oldest first (failed ones included).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.received().deliveries.clone()
    }

    /// Waits until `count` deliveries (failed ones included) have arrived and returns them
    /// all; panics, listing what did arrive, after `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Delivery> {
        wait_until(
            timeout,
            || {
                let deliveries = self.deliveries();
                (deliveries.len() >= count).then_some(deliveries)
            },
            || {
                let arrived: Vec<String> = self
                    .deliveries()
                    .iter()
                    .map(|d| format!("\n  {} (failed: {}): {}", d.id, d.failed, d.body))
                    .collect();
                format!(
                    "webhook receiver: {count} deliveries within {timeout:?}; {} arrived:{}",
                    arrived.len(),
                    arrived.concat()
                )
            },
        )
        .await
    }

    fn received(&self) -> MutexGuard<'_, Received> {
        self.shared
            .state
            .lock()
            .expect("the webhook receiver's state")
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (id, timestamp) = (text("webhook-id"), text("webhook-timestamp"));
    let body = String::from_utf8_lossy(&body).into_owned();
    let expected = sign(&shared.key, &id, &timestamp, &body);
    let signature_valid = text("webhook-signature")
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .any(|given| bool::from(given.ct_eq(&expected)));
    let failure = {
        let mut received = shared.state.lock().expect("the webhook receiver's state");
        let failure = (!received.plan.is_empty()).then(|| received.plan.remove(0));
        received.deliveries.push(Delivery {
            id,
            timestamp,
            body,
            signature_valid,
            headers,
            failed: failure.is_some(),
        });
        failure
    };
    match failure {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(Failure::Status(status)) => (status_code(status), "fake failure").into_response(),
        Some(Failure::ApiError(text)) => (StatusCode::BAD_REQUEST, text).into_response(),
        Some(Failure::RateLimited { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after_secs.to_string())],
            "slow down",
        )
            .into_response(),
        Some(Failure::Hang(duration)) => {
            tokio::time::sleep(duration).await;
            (StatusCode::INTERNAL_SERVER_ERROR, "fake failure").into_response()
        }
    }
}

/// The key of a `whsec_{base64}` secret (the prefix may be left out).
fn secret_key(secret: &str) -> Vec<u8> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    STANDARD
        .decode(encoded)
        .unwrap_or_else(|error| panic!("the webhook secret {secret:?} is not base64: {error}"))
}

/// The raw HMAC-SHA256 of `{id}.{timestamp}.{body}`.
fn sign(key: &[u8], id: &str, timestamp: &str, body: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A new secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_webhook_secret() -> String {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    format!("whsec_{}", STANDARD.encode(key))
}

/// The `webhook-signature` entry `v1,{base64}` a sender with `secret` (`whsec_{base64}`)
/// puts on the message `id` sent at `timestamp` with `body`. Panics when the secret is not
/// base64.
pub fn webhook_signature(secret: &str, id: &str, timestamp: &str, body: &str) -> String {
    let mac = sign(&secret_key(secret), id, timestamp, body);
    format!("v1,{}", STANDARD.encode(mac))
}
