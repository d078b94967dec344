//! PROTOCOL B4, signed requests: device enrollment, the signature check, the timestamp window,
//! the persistent nonce store, and `require_signed_requests`. Requests are signed by hand with
//! the SDK's `RequestSigner` at the test server's manual clock and sent with the exact bytes that
//! were signed.

#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use common::TestApp;
use common::signed::{Req, Resp, help_body};
use heysummon_sdk::keys::{EncryptionKeyPair, SigningKeyPair};
use heysummon_sdk::signing::{
    HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, Nonce, RequestSigner,
};
use heysummon_server::provision::ClientOptions;
use reqwest::StatusCode;
use serde_json::json;

async fn send(server: &TestApp, req: &Req) -> Resp {
    req.send(server).await
}

fn new_device() -> RequestSigner {
    RequestSigner::new(SigningKeyPair::generate())
}

/// Asserts a 200.
fn assert_ok(resp: &Resp) {
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text);
}

/// Asserts a 401 `{"error","code"}` with `code`, not mentioning any of `secrets`.
fn assert_rejected(resp: &Resp, code: &str, secrets: &[&str]) {
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text);
    assert_eq!(resp.body["code"], code, "{}", resp.text);
    let object = resp.body.as_object().unwrap();
    assert!(
        object["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{}",
        resp.text
    );
    assert!(
        object
            .keys()
            .all(|k| ["error", "code", "hint"].contains(&k.as_str())),
        "unexpected members: {}",
        resp.text
    );
    for secret in secrets {
        assert!(!resp.text.contains(secret), "secret leaked: {}", resp.text);
    }
}

/// Enrolls `device` on `key` with an unsigned request (allowed while the key has none).
async fn enroll_first(server: &TestApp, key: &str, device: &RequestSigner) {
    let resp = send(server, &Req::enroll(key, device)).await;
    assert_ok(&resp);
    assert_eq!(resp.body["deviceId"], device.device_id());
    assert!(resp.body["enrolledAt"].is_string(), "{}", resp.text);
}

#[tokio::test]
async fn enrolled_key_must_sign_and_signed_requests_succeed() {
    let server = common::spawn().await;
    let key = server.client_key.clone();
    let before = server.ask_ok(&key, "asked before enrollment").await;
    let device = new_device();
    enroll_first(&server, &key, &device).await;

    // Unsigned requests with the key are refused now, on every kind of endpoint.
    let help = format!("/api/v1/help/{before}");
    let resp = send(&server, &Req::get(&help, &key)).await;
    assert_rejected(&resp, "SIGNATURE_REQUIRED", &[&key]);
    let resp = send(&server, &Req::ask(&key, "unsigned")).await;
    assert_rejected(&resp, "SIGNATURE_REQUIRED", &[&key]);
    let (status, body) = server.ask(&key, "unsigned, no header").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "SIGNATURE_REQUIRED");
    let resp = send(&server, &Req::get("/api/v1/whoami", &key)).await;
    assert_rejected(&resp, "SIGNATURE_REQUIRED", &[&key]);

    // Signed: GET /help/:id, GET with a query, POST /help, POST /message.
    let resp = send(
        &server,
        &Req::get(&help, &key).signed(&device, server.clock.now()),
    )
    .await;
    assert_ok(&resp);
    assert_eq!(resp.body["requestId"], before.as_str());
    assert_eq!(resp.body["status"], "pending");
    let with_query = format!("/api/v1/messages/{before}?view=all&x=%20y");
    let resp = send(
        &server,
        &Req::get(&with_query, &key).signed(&device, server.clock.now()),
    )
    .await;
    assert_ok(&resp);

    let resp = send(
        &server,
        &Req::ask(&key, "signed question").signed(&device, server.clock.now()),
    )
    .await;
    assert_ok(&resp);
    let created = resp.body["requestId"].as_str().unwrap().to_owned();
    assert_eq!(resp.body["status"], "pending");
    let resp = send(
        &server,
        &Req::get(format!("/api/v1/help/{created}"), &key).signed(&device, server.clock.now()),
    )
    .await;
    assert_ok(&resp);
    assert_eq!(resp.body["status"], "pending");

    let message = json!({"from": "consumer", "plaintext": "more context"});
    let path = format!("/api/v1/message/{created}");
    let resp = send(
        &server,
        &Req::post(&path, &key, &message).signed(&device, server.clock.now()),
    )
    .await;
    assert_ok(&resp);

    // Experts never sign; other tenants without devices are unaffected.
    let (status, list) = server.get("/api/v1/requests", &server.expert_key).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["requests"].as_array().unwrap().len(), 2);
    let other = server.tenant("Bob").await;
    server.ask_ok(&other.client_key, "bob asks unsigned").await;
}

#[tokio::test]
async fn altered_requests_are_invalid_and_do_not_burn_nonces() {
    let server = common::spawn().await;
    let key = server.client_key.clone();
    let first = server.ask_ok(&key, "first").await;
    let second = server.ask_ok(&key, "second").await;
    let device = new_device();
    enroll_first(&server, &key, &device).await;

    // Body altered after signing.
    let mut req = Req::ask(&key, "the signed question").signed(&device, server.clock.now());
    req.body = serde_json::to_vec(&help_body(&key, "a different question")).unwrap();
    assert_rejected(&send(&server, &req).await, "SIGNATURE_INVALID", &[&key]);
    // One byte of whitespace is an alteration too.
    let mut req = Req::ask(&key, "the signed question").signed(&device, server.clock.now());
    req.body.push(b' ');
    assert_rejected(&send(&server, &req).await, "SIGNATURE_INVALID", &[&key]);

    // Another path, another query, a query added.
    let mut req =
        Req::get(format!("/api/v1/help/{first}"), &key).signed(&device, server.clock.now());
    req.path = format!("/api/v1/help/{second}");
    assert_rejected(&send(&server, &req).await, "SIGNATURE_INVALID", &[&key]);
    let mut req =
        Req::get(format!("/api/v1/help/{first}?a=1"), &key).signed(&device, server.clock.now());
    req.path = format!("/api/v1/help/{first}?a=2");
    assert_rejected(&send(&server, &req).await, "SIGNATURE_INVALID", &[&key]);
    let mut req =
        Req::get(format!("/api/v1/help/{first}"), &key).signed(&device, server.clock.now());
    req.path = format!("/api/v1/help/{first}?wait=0");
    assert_rejected(&send(&server, &req).await, "SIGNATURE_INVALID", &[&key]);

    // The signature covers the x-api-key header: signed without it, sent with it (the key in
    // the body authenticates POST /help, the header value is still covered).
    let mut req = Req::ask(&key, "header").signed(&device, server.clock.now());
    req.key = None;
    assert_rejected(&send(&server, &req).await, "SIGNATURE_INVALID", &[&key]);

    // The timestamp header changed by a millisecond.
    let now = server.clock.now();
    let req = Req::get(format!("/api/v1/help/{first}"), &key)
        .signed_at(&device, now, Nonce::random())
        .set_header(HEADER_TIMESTAMP, (now - 1).to_string());
    assert_rejected(&send(&server, &req).await, "SIGNATURE_INVALID", &[&key]);

    // A forged request does not burn its nonce: the genuine one with that nonce still passes.
    let nonce = Nonce::random();
    let genuine = Req::get(format!("/api/v1/help/{first}"), &key).signed_at(&device, now, nonce);
    let mut forged = genuine.clone();
    forged.path = format!("/api/v1/help/{second}");
    assert_rejected(&send(&server, &forged).await, "SIGNATURE_INVALID", &[&key]);
    assert_ok(&send(&server, &genuine).await);
}

#[tokio::test]
async fn replays_are_refused_even_after_a_restart() {
    let server = common::spawn().await;
    let key = server.client_key.clone();
    let id = server.ask_ok(&key, "replay target").await;
    let device = new_device();
    enroll_first(&server, &key, &device).await;

    let get = Req::get(format!("/api/v1/help/{id}"), &key).signed(&device, server.clock.now());
    assert_ok(&send(&server, &get).await);
    assert_rejected(&send(&server, &get).await, "SIGNATURE_REPLAYED", &[&key]);

    // A replayed POST /help creates nothing.
    let post = Req::ask(&key, "only once").signed(&device, server.clock.now());
    assert_ok(&send(&server, &post).await);
    assert_rejected(&send(&server, &post).await, "SIGNATURE_REPLAYED", &[&key]);
    let (_, list) = server.get("/api/v1/requests", &server.expert_key).await;
    assert_eq!(list["requests"].as_array().unwrap().len(), 2, "{list}");

    // The nonce belongs to the device, whatever request it signs.
    let now = server.clock.now();
    let nonce = Nonce::random();
    let whoami = Req::get("/api/v1/whoami", &key).signed_at(&device, now, nonce);
    assert_ok(&send(&server, &whoami).await);
    let other = Req::get(format!("/api/v1/help/{id}"), &key).signed_at(&device, now, nonce);
    assert_rejected(&send(&server, &other).await, "SIGNATURE_REPLAYED", &[&key]);

    // The nonce store and the enrollment survive a restart.
    let server = server.restart().await;
    for req in [&get, &post, &whoami] {
        assert_rejected(&send(&server, req).await, "SIGNATURE_REPLAYED", &[&key]);
    }
    let resp = send(&server, &Req::get(format!("/api/v1/help/{id}"), &key)).await;
    assert_rejected(&resp, "SIGNATURE_REQUIRED", &[&key]);
    let fresh = Req::get(format!("/api/v1/help/{id}"), &key).signed(&device, server.clock.now());
    assert_ok(&send(&server, &fresh).await);

    // Once the window has passed, a replay is refused for its age.
    server.clock.advance(300_001);
    assert_rejected(&send(&server, &get).await, "SIGNATURE_EXPIRED", &[&key]);
}

#[tokio::test]
async fn timestamps_outside_the_window_are_expired() {
    let server = common::spawn().await;
    let key = server.client_key.clone();
    let id = server.ask_ok(&key, "window").await;
    let device = new_device();
    enroll_first(&server, &key, &device).await;
    let path = format!("/api/v1/help/{id}");
    let at = |offset_ms: i64| {
        Req::get(&path, &key).signed_at(&device, server.clock.now() + offset_ms, Nonce::random())
    };

    assert_rejected(
        &send(&server, &at(-301_000)).await,
        "SIGNATURE_EXPIRED",
        &[&key],
    );
    assert_rejected(
        &send(&server, &at(31_000)).await,
        "SIGNATURE_EXPIRED",
        &[&key],
    );
    // The edges are inside: at most 300 s old, at most 30 s ahead.
    assert_ok(&send(&server, &at(-300_000)).await);
    assert_ok(&send(&server, &at(30_000)).await);
    assert_rejected(
        &send(&server, &at(-300_001)).await,
        "SIGNATURE_EXPIRED",
        &[&key],
    );
    assert_rejected(
        &send(&server, &at(30_001)).await,
        "SIGNATURE_EXPIRED",
        &[&key],
    );

    // A request signed 30 s ahead stays unreplayable while it is inside the window.
    let ahead = at(30_000);
    assert_ok(&send(&server, &ahead).await);
    server.clock.advance(200_000);
    assert_rejected(&send(&server, &ahead).await, "SIGNATURE_REPLAYED", &[&key]);
    server.clock.advance(130_001);
    assert_rejected(&send(&server, &ahead).await, "SIGNATURE_EXPIRED", &[&key]);
}

#[tokio::test]
async fn unknown_devices_and_partial_or_malformed_headers_are_invalid() {
    let server = common::spawn().await;
    let key = server.client_key.clone();
    let id = server.ask_ok(&key, "headers").await;
    let device = new_device();
    enroll_first(&server, &key, &device).await;
    let path = format!("/api/v1/help/{id}");

    // Signed by a device that was never enrolled.
    let stranger = new_device();
    let req = Req::get(&path, &key).signed(&stranger, server.clock.now());
    assert_rejected(&send(&server, &req).await, "SIGNATURE_INVALID", &[&key]);
    // The enrolled device's signature, naming the stranger as the signer.
    let req = Req::get(&path, &key)
        .signed(&device, server.clock.now())
        .set_header(HEADER_DEVICE, stranger.device_id());
    assert_rejected(&send(&server, &req).await, "SIGNATURE_INVALID", &[&key]);

    // Any one of the four headers missing.
    for missing in [
        HEADER_TIMESTAMP,
        HEADER_NONCE,
        HEADER_SIGNATURE,
        HEADER_DEVICE,
    ] {
        let req = Req::get(&path, &key)
            .signed(&device, server.clock.now())
            .without_header(missing);
        let resp = send(&server, &req).await;
        assert_rejected(&resp, "SIGNATURE_INVALID", &[&key]);
    }
    // Only one header present.
    let req = Req::get(&path, &key).set_header(HEADER_NONCE, Nonce::random().to_string());
    assert_rejected(&send(&server, &req).await, "SIGNATURE_INVALID", &[&key]);

    // Malformed values.
    let signed = || Req::get(&path, &key).signed(&device, server.clock.now());
    let nonce_upper = signed();
    let nonce_upper = {
        let value = nonce_upper
            .headers
            .iter()
            .find(|(n, _)| n == HEADER_NONCE)
            .unwrap()
            .1
            .to_uppercase();
        nonce_upper.set_header(HEADER_NONCE, value)
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    for req in [
        nonce_upper,
        signed().set_header(HEADER_NONCE, "00ff"),
        signed().set_header(HEADER_TIMESTAMP, "soon"),
        signed().set_header(HEADER_TIMESTAMP, "-5"),
        signed().set_header(HEADER_SIGNATURE, "not base64!"),
        signed().set_header(HEADER_SIGNATURE, b64.encode([0u8; 64])),
        signed().set_header(HEADER_DEVICE, device.device_id().to_uppercase()),
    ] {
        let resp = send(&server, &req).await;
        assert_rejected(&resp, "SIGNATURE_INVALID", &[&key]);
    }

    // A device of one tenant cannot sign for another tenant's key (which has no devices).
    let other = server.tenant("Bob").await;
    let other_id = server.ask_ok(&other.client_key, "bob").await;
    let req = Req::get(format!("/api/v1/help/{other_id}"), &other.client_key)
        .signed(&device, server.clock.now());
    let resp = send(&server, &req).await;
    assert_rejected(&resp, "SIGNATURE_INVALID", &[&other.client_key, &key]);
}

#[tokio::test]
async fn a_second_device_needs_a_signature_from_the_first() {
    let server = common::spawn().await;
    let key = server.client_key.clone();
    let first = new_device();
    let second = new_device();
    enroll_first(&server, &key, &first).await;

    let resp = send(&server, &Req::enroll(&key, &second)).await;
    assert_rejected(&resp, "SIGNATURE_REQUIRED", &[&key]);
    // Signed by the device being enrolled is not enough.
    let resp = send(
        &server,
        &Req::enroll(&key, &second).signed(&second, server.clock.now()),
    )
    .await;
    assert_rejected(&resp, "SIGNATURE_INVALID", &[&key]);
    let resp = send(
        &server,
        &Req::enroll(&key, &second).signed(&first, server.clock.now()),
    )
    .await;
    assert_ok(&resp);
    assert_eq!(resp.body["deviceId"], second.device_id());

    // Both devices sign now.
    for device in [&first, &second] {
        let resp = send(
            &server,
            &Req::ask(&key, "either").signed(device, server.clock.now()),
        )
        .await;
        assert_ok(&resp);
    }
    // Enrolling an enrolled device again conflicts; a bad key is a 400.
    let resp = send(
        &server,
        &Req::enroll(&key, &first).signed(&second, server.clock.now()),
    )
    .await;
    assert_eq!(resp.status, StatusCode::CONFLICT, "{}", resp.text);
    let x25519 = EncryptionKeyPair::generate().public().to_hex();
    for bad in [x25519.as_str(), "zz", ""] {
        let req = Req::post("/api/v1/devices", &key, &json!({"publicKey": bad}));
        let resp = send(&server, &req.signed(&first, server.clock.now())).await;
        assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{bad}: {}", resp.text);
    }
    // Expert keys enroll no devices.
    let resp = send(&server, &Req::enroll(&server.expert_key, &new_device())).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text);
    assert!(!resp.text.contains(&server.expert_key));
}

#[tokio::test]
async fn a_device_enrolled_by_provisioning_works_the_same() {
    let server = common::spawn().await;
    let device = new_device();
    let (_, key) = server
        .client_key_for(
            &server.expert_id,
            ClientOptions {
                name: Some("guarded".into()),
                device_key: Some(device.public_key().to_hex()),
                ..ClientOptions::default()
            },
        )
        .await;

    let resp = send(&server, &Req::ask(&key, "unsigned")).await;
    assert_rejected(&resp, "SIGNATURE_REQUIRED", &[&key]);
    let resp = send(
        &server,
        &Req::ask(&key, "signed").signed(&device, server.clock.now()),
    )
    .await;
    assert_ok(&resp);
    let id = resp.body["requestId"].as_str().unwrap().to_owned();
    let get = Req::get(format!("/api/v1/help/{id}"), &key).signed(&device, server.clock.now());
    assert_ok(&send(&server, &get).await);
    assert_rejected(&send(&server, &get).await, "SIGNATURE_REPLAYED", &[&key]);

    // The key has a device, so a second one needs its signature.
    let second = new_device();
    let resp = send(&server, &Req::enroll(&key, &second)).await;
    assert_rejected(&resp, "SIGNATURE_REQUIRED", &[&key]);
    let resp = send(
        &server,
        &Req::enroll(&key, &second).signed(&device, server.clock.now()),
    )
    .await;
    assert_ok(&resp);

    // The device key may also be given as standard base64 or PEM of the DER.
    for pem in [false, true] {
        let signer = new_device();
        let encoded = if pem {
            signer.public_key().to_pem()
        } else {
            signer.public_key().to_base64()
        };
        let (_, other) = server
            .client_key_for(
                &server.expert_id,
                ClientOptions {
                    device_key: Some(encoded),
                    ..ClientOptions::default()
                },
            )
            .await;
        let resp = send(
            &server,
            &Req::ask(&other, "encoded").signed(&signer, server.clock.now()),
        )
        .await;
        assert_ok(&resp);
        let resp = send(&server, &Req::ask(&other, "unsigned")).await;
        assert_rejected(&resp, "SIGNATURE_REQUIRED", &[&other]);
    }
}

#[tokio::test]
async fn require_signed_requests_refuses_unsigned_keys_without_devices() {
    let server = common::spawn_with(|c| c.require_signed_requests = true).await;
    let key = server.client_key.clone();

    let resp = send(&server, &Req::ask(&key, "unsigned")).await;
    assert_rejected(&resp, "SIGNATURE_REQUIRED", &[&key]);
    let resp = send(&server, &Req::get("/api/v1/whoami", &key)).await;
    assert_rejected(&resp, "SIGNATURE_REQUIRED", &[&key]);
    // Signing with a device the key does not have does not help.
    let resp = send(
        &server,
        &Req::ask(&key, "x").signed(&new_device(), server.clock.now()),
    )
    .await;
    assert_rejected(&resp, "SIGNATURE_INVALID", &[&key]);
    // PROTOCOL B4: a key may enroll its first device unsigned, even when signatures are
    // required; after that only the enrolled device can act (or enroll another).
    let first = new_device();
    let resp = send(&server, &Req::enroll(&key, &first)).await;
    assert_ok(&resp);
    let resp = send(&server, &Req::enroll(&key, &new_device())).await;
    assert_rejected(&resp, "SIGNATURE_REQUIRED", &[&key]);
    let resp = send(
        &server,
        &Req::ask(&key, "now signed").signed(&first, server.clock.now()),
    )
    .await;
    assert_ok(&resp);

    let device = new_device();
    let (_, guarded) = server
        .client_key_for(
            &server.expert_id,
            ClientOptions {
                device_key: Some(device.public_key().to_hex()),
                ..ClientOptions::default()
            },
        )
        .await;
    let resp = send(
        &server,
        &Req::ask(&guarded, "signed").signed(&device, server.clock.now()),
    )
    .await;
    assert_ok(&resp);
    let id = resp.body["requestId"].as_str().unwrap().to_owned();

    // Expert keys are not client keys: they are not asked to sign.
    let path = format!("/api/v1/message/{id}");
    let answer = json!({"from": "expert", "plaintext": "go ahead"});
    let (status, body) = server.post(&path, &server.expert_key, answer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
