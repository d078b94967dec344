//! Every row of PROTOCOL part A's endpoint table with its error paths (exact statuses and
//! `error` sentences), plus B2 (idempotent creation) and B5 (expert keys on `/messages` and
//! `/close`). Body size limits and rate limits are in `limits.rs`.

#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use common::{START_MS, TestApp};
use heysummon_server::provision::ClientOptions;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// `START_MS`, +72 h and +7 days on the wire.
const START: &str = "2026-04-25T19:56:45.123Z";
const START_PLUS_72H: &str = "2026-04-28T19:56:45.123Z";
const START_PLUS_7D: &str = "2026-05-02T19:56:45.123Z";
const HOUR_MS: i64 = 3_600_000;
const FEED: &str = "/api/v1/events/pending";

/// Sends `body` as JSON with `key` in `x-api-key` plus `headers`.
async fn send(
    server: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = server.http.request(method, server.url(path));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// A POST of raw bytes with a chosen content type.
async fn raw_post(server: &TestApp, path: &str, key: &str, content_type: &str) -> StatusCode {
    let body = serde_json::to_vec(&help_body(
        key,
        json!({"from": "consumer", "plaintext": "x"}),
    ));
    let response = (server.http.post(server.url(path)))
        .header("content-type", content_type)
        .header("x-api-key", key)
        .body(body.unwrap())
        .send()
        .await
        .unwrap();
    response.status()
}

/// `call!(server, METHOD path, key[, body] => status)`: asserts the status, returns the body;
/// `-` for the key sends none.
macro_rules! call {
    ($s:expr, $m:ident $path:expr, - => $st:literal) => {
        call!(@ $s, $m, $path, None, None, $st)
    };
    ($s:expr, $m:ident $path:expr, -, $body:expr => $st:literal) => {
        call!(@ $s, $m, $path, None, Some($body), $st)
    };
    ($s:expr, $m:ident $path:expr, $key:expr => $st:literal) => {
        call!(@ $s, $m, $path, Some($key), None, $st)
    };
    ($s:expr, $m:ident $path:expr, $key:expr, $body:expr => $st:literal) => {
        call!(@ $s, $m, $path, Some($key), Some($body), $st)
    };
    (@ $s:expr, $m:ident, $path:expr, $key:expr, $body:expr, $st:literal) => {{
        let (status, body) = send(&$s, Method::$m, &$path, $key, &[], $body).await;
        assert_eq!(status.as_u16(), $st, "{} {}: {body}", stringify!($m), $path);
        body
    }};
}

/// `check!(server, METHOD path, key[, body] => status, "sentence")`: asserts the status and that
/// the body is exactly `{"error": sentence}`.
macro_rules! check {
    ($s:expr, $m:ident $path:expr, - $(, $body:expr)? => $st:literal, $e:expr) => {
        assert_eq!(call!($s, $m $path, - $(, $body)? => $st), error($e))
    };
    ($s:expr, $m:ident $path:expr, $key:expr => $st:literal, $e:expr) => {
        assert_eq!(call!($s, $m $path, $key => $st), error($e))
    };
    ($s:expr, $m:ident $path:expr, $key:expr, $body:expr => $st:literal, $e:expr) => {
        assert_eq!(call!($s, $m $path, $key, $body => $st), error($e))
    };
}

/// `has!(value, {json})`: `value` has every member of the JSON object with the same value.
macro_rules! has {
    ($v:expr, $($json:tt)+) => {
        assert_has(&$v, json!($($json)+))
    };
}

/// `same!(value, {json})`: `value` equals the JSON exactly.
macro_rules! same {
    ($v:expr, $($json:tt)+) => {
        assert_eq!($v, json!($($json)+))
    };
}

fn error(message: &str) -> Value {
    json!({ "error": message })
}

/// A `POST /help` body with placeholder consumer keys, `extra` merged in.
fn help_body(key: &str, extra: Value) -> Value {
    let mut body = json!({"apiKey": key, "signPublicKey": "test-sign-key",
        "encryptPublicKey": "test-encrypt-key", "question": "May I deploy to production?"});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

/// Creates a request, asserting success; returns the response body.
async fn create(server: &TestApp, key: &str, extra: Value) -> Value {
    let body = Some(help_body(key, extra));
    let (status, body) = send(server, Method::POST, "/api/v1/help", None, &[], body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// `POST /help` without a header key, answering `(status, body)`.
async fn help(server: &TestApp, headers: &[(&str, &str)], body: Value) -> (StatusCode, Value) {
    send(
        server,
        Method::POST,
        "/api/v1/help",
        None,
        headers,
        Some(body),
    )
    .await
}

/// The status `GET /help/:id` reports.
async fn status_of(server: &TestApp, id: &str, key: &str) -> Value {
    call!(server, GET format!("/api/v1/help/{id}"), key => 200)["status"].clone()
}

fn id_of(body: &Value) -> String {
    body["requestId"].as_str().unwrap().to_owned()
}

/// An encrypted message body (the server stores ciphertext without reading it).
fn encrypted(from: &str, message_id: &str) -> Value {
    // Well-formed sizes (12-byte iv, 16-byte tag, 64-byte signature); the server cannot and
    // does not check the cryptography itself.
    json!({"from": from, "ciphertext": "Y2lwaGVy", "iv": "aWlpaWlpaWlpaWlp", "authTag": "dHR0dHR0dHR0dHR0dHR0dA==",
           "signature": "c3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzcw==", "messageId": message_id})
}

fn plain(from: &str, text: &str) -> Value {
    json!({"from": from, "plaintext": text})
}

fn ids(list: &Value, member: &str) -> Vec<Value> {
    let items = list.as_array().unwrap();
    items.iter().map(|item| item[member].clone()).collect()
}

/// Asserts that `actual` has every member of `expected` with the same value.
#[track_caller]
fn assert_has(actual: &Value, expected: Value) {
    for (member, value) in expected.as_object().unwrap() {
        assert_eq!(&actual[member], value, "{member} in {actual}");
    }
}

fn options(inactive: bool, device_token: Option<&str>) -> ClientOptions {
    ClientOptions {
        inactive,
        device_token: device_token.map(str::to_owned),
        ..ClientOptions::default()
    }
}

fn is_ref_code(code: &str) -> bool {
    let rest = code.strip_prefix("HS-").unwrap_or("");
    rest.len() == 8
        && rest
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[tokio::test]
async fn create_help_answers_the_protocol_shape() {
    let server = common::spawn().await;
    let c = server.client_key.as_str();
    assert_eq!(server.clock.now(), START_MS);
    let body = create(&server, c, json!({})).await;
    assert_eq!(body.as_object().unwrap().len(), 4, "{body}");
    assert!(!id_of(&body).is_empty());
    assert!(is_ref_code(body["refCode"].as_str().unwrap()), "{body}");
    has!(body, {"status": "pending", "expiresAt": START_PLUS_72H});

    let note = create(&server, c, json!({"responseRequired": false})).await;
    assert_eq!(note.as_object().unwrap().len(), 5, "{note}");
    has!(note, {"responseRequired": false, "status": "pending"});
    assert_eq!(note["expiresAt"], START_PLUS_7D);
    assert_ne!(note["refCode"], body["refCode"]);

    // Legacy `publicKey` alone is enough; `null` optional members count as absent.
    let legacy = json!({"apiKey": c, "publicKey": "-----BEGIN PUBLIC KEY-----",
                        "question": null, "messages": null, "requiresApproval": null});
    let (status, body) = help(&server, &[], legacy).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn create_help_rejects_bad_input() {
    let server = common::spawn().await;
    let c = server.client_key.as_str();
    let status = raw_post(&server, "/api/v1/help", c, "text/plain").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = (server.http.post(server.url("/api/v1/help")))
        .header("content-type", "application/json")
        .body("{bad")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "Malformed JSON body");

    // Missing apiKey and wrong types (the size limits are in limits.rs).
    let invalid = [
        json!({"signPublicKey": "s", "encryptPublicKey": "e", "question": "q"}),
        json!({"apiKey": 5, "signPublicKey": "s", "encryptPublicKey": "e"}),
        help_body(c, json!({"question": 5})),
        help_body(c, json!({"messages": "not an array"})),
        help_body(c, json!({"requiresApproval": "yes"})),
        help_body(c, json!({"messageCount": -1})),
    ];
    for body in invalid {
        let answer = call!(server, POST "/api/v1/help", -, body => 400);
        assert_eq!(answer["error"], "Validation failed", "{answer}");
    }
    let no_keys = json!({"apiKey": c, "question": "q", "signPublicKey": "only one"});
    let msg = "Missing required encryption keys";
    check!(server, POST "/api/v1/help", -, no_keys => 400, msg);

    let (_, inactive) = server
        .client_key_for(&server.expert_id, options(true, None))
        .await;
    for bad in ["hs_cli_unknown", inactive.as_str()] {
        let body = help_body(bad, json!({}));
        check!(server, POST "/api/v1/help", -, body => 401, "Invalid or inactive API key");
    }
    // The header is ignored for auth here.
    let body = help_body("hs_cli_unknown", json!({}));
    let (status, _) = help(&server, &[("x-api-key", c)], body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn device_tokens_bind_a_key() {
    let server = common::spawn().await;
    let options = options(false, Some("device-token-1"));
    let (_, bound) = server.client_key_for(&server.expert_id, options).await;
    let msg = "Invalid or missing device token";
    check!(server, POST "/api/v1/help", -, help_body(&bound, json!({})) => 403, msg);
    let body = help_body(&bound, json!({}));
    let (status, answer) = help(&server, &[("x-device-token", "other")], body.clone()).await;
    assert_eq!((status, answer), (StatusCode::FORBIDDEN, error(msg)));
    let right = ("x-device-token", "device-token-1");
    let (status, created) = help(&server, &[right], body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    // The binding holds on header-authenticated endpoints too.
    let path = format!("/api/v1/help/{}", id_of(&created));
    check!(server, GET path, &bound => 403, msg);
    let (status, _) = send(&server, Method::GET, &path, Some(&bound), &[right], None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn message_count_keeps_the_last_messages() {
    let server = common::spawn().await;
    let messages: Vec<Value> = (1..=5)
        .map(|i| json!({"role": "user", "content": format!("m{i}")}))
        .collect();
    for (count, kept) in [(json!(2), &messages[3..]), (json!(null), &messages[..])] {
        let extra = json!({"messages": messages, "messageCount": count});
        let id = id_of(&create(&server, &server.client_key, extra).await);
        let stored = server.store.request(&id).await.unwrap().unwrap();
        let stored: Value = serde_json::from_str(stored.messages_json.as_deref().unwrap()).unwrap();
        assert_eq!(stored, json!(kept));
    }
}

#[tokio::test]
async fn idempotency_key_replays_the_original_response() {
    let server = common::spawn().await;
    let body = help_body(&server.client_key, json!({}));
    let header = [("Idempotency-Key", "retry-1")];
    let (s1, first) = help(&server, &header, body.clone()).await;
    server.clock.advance(1000);
    let (s2, again) = help(&server, &header, body.clone()).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{again}");
    assert_eq!(first, again);
    let events = call!(server, GET FEED, &server.expert_key => 200)["events"].clone();
    assert_eq!(ids(&events, "requestId"), [first["requestId"].clone()]);

    // Another client (same expert) with the same key gets its own request.
    let (_, sibling) = server
        .client_key_for(&server.expert_id, options(false, None))
        .await;
    let (status, other) = help(&server, &header, help_body(&sibling, json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(other["requestId"], first["requestId"]);
}

#[tokio::test]
async fn help_status_and_timeout() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let created = create(&server, c, json!({})).await;
    let id = id_of(&created);
    let path = format!("/api/v1/help/{id}");
    check!(server, GET path, - => 401, "Missing x-api-key header");
    check!(server, GET path, "hs_cli_nope" => 401, "Invalid or inactive API key");
    check!(server, GET "/api/v1/help/nope", c => 404, "Request not found");
    let bob = server.tenant("Bob").await;
    check!(server, GET path, &bob.client_key => 404, "Request not found");

    let expected = json!({"requestId": id, "refCode": created["refCode"], "status": "pending",
                          "createdAt": START, "expiresAt": START_PLUS_72H});
    assert_eq!(call!(server, GET path, c => 200), expected);

    let timeout = format!("{path}/timeout");
    let body = call!(server, POST timeout, c, json!({}) => 200);
    has!(body, {"ok": true, "timeoutFallback": "proceed_cautiously"});
    assert!(
        !body["fallbackInstruction"].as_str().unwrap().is_empty(),
        "{body}"
    );
    let body = call!(server, POST timeout, c, json!({}) => 200);
    same!(body, {"ok": true, "alreadyTimedOut": true});
    check!(server, POST "/api/v1/help/nope/timeout", c, json!({}) => 404, "Request not found");

    server.clock.advance(5000);
    let id2 = server.ask_ok(c, "second").await;
    server.answer(e, &id, "Yes, go ahead").await;
    server.answer(e, &id2, "No").await;
    let body = call!(server, GET path, c => 200);
    assert_eq!(body["status"], "responded");
    assert_eq!(body["respondedAt"], "2026-04-25T19:56:50.123Z");
    assert_eq!(body["response"], "Yes, go ahead");
    let body = call!(server, POST format!("/api/v1/help/{id2}/timeout"), c, json!({}) => 200);
    same!(body, {"ok": true, "status": "responded"});
}

#[tokio::test]
async fn send_message_rules() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let id = server.ask_ok(c, "q").await;
    let path = format!("/api/v1/message/{id}");
    let msg = "API key role (consumer) does not match from (expert)";
    check!(server, POST path, c, plain("expert", "x") => 403, msg);
    let msg = "API key role (expert) does not match from (consumer)";
    check!(server, POST path, e, plain("consumer", "x") => 403, msg);
    let msg = "from + (plaintext | ciphertext+iv+authTag+signature+messageId) required";
    check!(server, POST path, c, json!({"from": "consumer"}) => 400, msg);
    check!(server, POST path, c, json!({"from": "consumer", "ciphertext": "x"}) => 400, msg);
    let body = call!(server, POST path, c, json!({"plaintext": "x"}) => 400);
    assert_eq!(body["error"], "Validation failed");
    check!(server, POST path, -, plain("expert", "x") => 401, "Missing x-api-key header");
    check!(server, POST path, "hs_exp_nope", plain("expert", "x") => 401, "Invalid API key");
    let status = raw_post(&server, &path, c, "text/plain").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let bob = server.tenant("Bob").await;
    let msg = "Request not found or not assigned to this expert";
    check!(server, POST path, &bob.expert_key, encrypted("expert", "m0") => 403, msg);
    let msg = "Request not found or not owned by this client";
    check!(server, POST path, &bob.client_key, encrypted("consumer", "m0") => 403, msg);

    let body = json!({"from": "consumer", "plaintext": "ok", "approvalDecision": "approved"});
    let msg = "approvalDecision is only accepted from the expert";
    check!(server, POST path, c, body => 403, msg);
    let card = plain("consumer", "my card is 4111 1111 1111 1111");
    let body = call!(server, POST path, c, card => 422);
    assert_eq!(body["error"], "Content blocked by safety filter");
    assert!(
        ids(&body["flags"], "type").contains(&json!("credit_card")),
        "{body}"
    );

    let msg = "Expert must exchange keys first (POST /key-exchange)";
    check!(server, POST path, e, encrypted("expert", "e1") => 400, msg);
    let keys = common::exchange_keys();
    call!(server, POST format!("/api/v1/key-exchange/{id}"), e, keys => 200);
    let body = call!(server, POST path, e, encrypted("expert", "e1") => 200);
    let expected = json!({"success": true, "messageId": "e1", "createdAt": START});
    assert_eq!(body, expected);
    let list = format!("/api/v1/messages/{id}");
    let before = call!(server, GET list, c => 200)["messages"].clone();
    let body = call!(server, POST path, e, encrypted("expert", "e1") => 200);
    same!(body, {"success": true, "messageId": "e1", "duplicate": true});
    assert_eq!(call!(server, GET list, c => 200)["messages"], before);
    // Dedupe is per request: the same id elsewhere is a new message.
    let id2 = server.ask_ok(c, "q2").await;
    let path2 = format!("/api/v1/message/{id2}");
    let body = call!(server, POST path2, c, encrypted("consumer", "e1") => 200);
    assert_eq!(body, expected);
}

#[tokio::test]
async fn malformed_encrypted_members_are_refused() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let id = server.ask_ok(c, "q").await;
    let keys = common::exchange_keys();
    call!(server, POST format!("/api/v1/key-exchange/{id}"), e, keys => 200);
    let path = format!("/api/v1/message/{id}");
    // An encrypted message can never take the shape of an approval marker or a plaintext item.
    for (member, value) in [
        ("iv", ""),
        ("authTag", ""),
        ("signature", ""),
        ("iv", "plaintext"),
        ("ciphertext", "%%%"),
    ] {
        let mut body = encrypted("consumer", "bad");
        body[member] = json!(value);
        let answer = call!(server, POST path, c, body => 400);
        assert_eq!(answer["error"], "Validation failed", "{member}={value}");
    }
}

#[tokio::test]
async fn messages_to_notifications_and_closed_requests_are_refused() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let note = id_of(&create(&server, c, json!({"responseRequired": false})).await);
    let path = format!("/api/v1/message/{note}");
    for (key, from) in [(e, "expert"), (c, "consumer")] {
        let body = call!(server, POST path, key, plain(from, "x") => 409);
        assert_eq!(body["code"], "NO_RESPONSE_REQUIRED");
    }
    let id = server.ask_ok(c, "q").await;
    call!(server, POST format!("/api/v1/close/{id}"), c, json!({}) => 200);
    let path = format!("/api/v1/message/{id}");
    let closed = "Request is closed or expired";
    check!(server, POST path, c, plain("consumer", "x") => 400, closed);
    check!(server, POST path, c, encrypted("consumer", "c1") => 400, closed);
    check!(server, POST path, e, plain("expert", "x") => 400, closed);
    // Expiry is enforced lazily.
    let id = server.ask_ok(c, "q").await;
    server.clock.advance(72 * HOUR_MS);
    check!(server, POST format!("/api/v1/message/{id}"), e, plain("expert", "late") => 400, closed);
    assert_eq!(status_of(&server, &id, c).await, "expired");
}

#[tokio::test]
async fn messages_list_items_and_keys() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let created = create(&server, c, json!({"requiresApproval": true})).await;
    let id = id_of(&created);
    let list = format!("/api/v1/messages/{id}");
    let expected = json!({"requestId": id, "refCode": created["refCode"], "status": "pending",
        "consumerSignPubKey": "test-sign-key", "consumerEncryptPubKey": "test-encrypt-key",
        "expertSignPubKey": null, "expertEncryptPubKey": null, "messages": [],
        "expiresAt": START_PLUS_72H});
    assert_eq!(call!(server, GET list, c => 200), expected);
    let bob = server.tenant("Bob").await;
    check!(server, GET list, &bob.client_key => 404, "Request not found");
    check!(server, GET list, &bob.expert_key => 404, "Request not found");
    check!(server, GET list, - => 401, "Missing x-api-key header");

    // B5: the assigned expert reads, which moves the request to reviewing.
    assert_eq!(call!(server, GET list, e => 200)["status"], "reviewing");
    assert_eq!(status_of(&server, &id, c).await, "reviewing");

    let message = json!({"from": "consumer", "plaintext": "héllo", "messageId": "c-1"});
    call!(server, POST format!("/api/v1/message/{id}"), c, message => 200);
    server.clock.advance(1);
    call!(server, POST format!("/api/v1/approve/{id}"), e, json!({"decision": "approved"}) => 200);
    let body = call!(server, GET list, c => 200);
    assert_eq!(body["status"], "responded");
    let items = body["messages"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{body}");
    let item = &items[0];
    has!(item, {"from": "consumer", "messageId": "c-1"});
    let encoded = base64::engine::general_purpose::STANDARD.encode("héllo");
    has!(item, {"ciphertext": encoded, "plaintext": "héllo"});
    let markers = [&item["iv"], &item["authTag"], &item["signature"]];
    assert_eq!(markers, [&json!("plaintext"); 3]);
    assert!(
        item["id"].is_string() && item["createdAt"] == START,
        "{item}"
    );
    let item = &items[1];
    has!(item, {"from": "expert", "ciphertext": "approved"});
    assert_eq!(
        [&item["iv"], &item["authTag"], &item["signature"]],
        [&json!(""); 3]
    );
    assert!(
        item["messageId"].is_string() && item["id"].is_string(),
        "{item}"
    );
    assert_eq!(item["createdAt"], "2026-04-25T19:56:45.124Z");
}

#[tokio::test]
async fn key_exchange_rules() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let id = server.ask_ok(c, "q").await;
    let path = format!("/api/v1/key-exchange/{id}");
    let keys = common::exchange_keys();
    check!(server, POST path, c, keys.clone() => 401, "Invalid or inactive expert key");
    check!(server, POST path, -, keys.clone() => 401, "Missing x-api-key header");
    let bob = server.tenant("Bob").await;
    check!(server, POST path, &bob.expert_key, keys.clone() => 404, "Request not found");
    let body = call!(server, POST path, e, json!({"signPublicKey": "s"}) => 400);
    assert_eq!(body["error"], "Validation failed");

    let body = call!(server, POST path, e, keys.clone() => 200);
    same!(body, {"success": true, "status": "active"});
    let listed = call!(server, GET format!("/api/v1/messages/{id}"), c => 200);
    assert_eq!(listed["expertSignPubKey"], keys["signPublicKey"]);
    assert_eq!(listed["expertEncryptPubKey"], keys["encryptPublicKey"]);
    assert_eq!(listed["status"], "active");
    let msg = "Expert keys already exchanged for this request";
    check!(server, POST path, e, keys.clone() => 400, msg);

    let id = server.ask_ok(c, "q").await;
    call!(server, POST format!("/api/v1/close/{id}"), c, json!({}) => 200);
    let msg = "Request is already closed or expired";
    check!(server, POST format!("/api/v1/key-exchange/{id}"), e, keys => 400, msg);
}

#[tokio::test]
async fn close_and_acknowledge() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let id = server.ask_ok(c, "q").await;
    let path = format!("/api/v1/close/{id}");
    let bob = server.tenant("Bob").await;
    check!(server, POST path, &bob.client_key, json!({}) => 404, "Request not found");
    check!(server, POST path, &bob.expert_key, json!({}) => 404, "Request not found");
    let closed = json!({"success": true, "status": "closed", "previousStatus": "pending",
                        "closedAt": START});
    assert_eq!(call!(server, POST path, c, json!({}) => 200), closed);
    server.clock.advance(1000);
    let body = call!(server, POST path, c, json!({}) => 200);
    let again = json!({"success": true, "status": "closed", "previousStatus": "closed",
                       "closedAt": START});
    assert_eq!(body, again);

    // B5: the assigned expert closes too.
    let id = server.ask_ok(c, "q").await;
    let body = call!(server, POST format!("/api/v1/close/{id}"), e, json!({}) => 200);
    has!(body, {"status": "closed", "previousStatus": "pending"});

    let note = id_of(&create(&server, c, json!({"responseRequired": false})).await);
    let body = call!(server, POST format!("/api/v1/close/{note}"), c, json!({}) => 409);
    assert_eq!(body["code"], "NOT_APPLICABLE");
    let ack = format!("/api/v1/acknowledge/{note}");
    // The creator or the assigned expert (the dashboard) acknowledges; nobody else.
    check!(server, POST ack, &bob.client_key, json!({}) => 404, "Request not found");
    check!(server, POST ack, &bob.expert_key, json!({}) => 404, "Request not found");
    let acknowledged = json!({"success": true, "status": "acknowledged",
                              "acknowledgedAt": "2026-04-25T19:56:46.123Z"});
    assert_eq!(call!(server, POST ack, c, json!({}) => 200), acknowledged);
    assert_eq!(status_of(&server, &note, c).await, "acknowledged");
    // Closing an acknowledged notification is a harmless no-op.
    let body = call!(server, POST format!("/api/v1/close/{note}"), c, json!({}) => 200);
    assert_eq!(body["status"], "acknowledged");
    let id = server.ask_ok(c, "q").await;
    let body = call!(server, POST format!("/api/v1/acknowledge/{id}"), c, json!({}) => 409);
    assert_eq!(body["code"], "NOT_APPLICABLE");
}

#[tokio::test]
async fn approve_rules() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let created = create(&server, c, json!({"requiresApproval": true})).await;
    let id = id_of(&created);
    let path = format!("/api/v1/approve/{id}");
    let approved = json!({"decision": "approved"});
    let denied = json!({"decision": "denied"});
    check!(server, POST path, c, approved.clone() => 401, "Invalid or inactive expert key");
    let bob = server.tenant("Bob").await;
    check!(server, POST path, &bob.expert_key, approved.clone() => 404, "Request not found");
    let body = call!(server, POST path, e, json!({"decision": "maybe"}) => 400);
    assert_eq!(body["error"], "Validation failed");
    let body = call!(server, POST path, e, approved.clone() => 200);
    let expected = json!({"success": true, "decision": "approved", "refCode": created["refCode"]});
    assert_eq!(body, expected);
    let body = call!(server, GET format!("/api/v1/help/{id}"), c => 200);
    has!(body, {"approvalDecision": "approved", "status": "responded"});
    let body = call!(server, POST path, e, denied.clone() => 409);
    same!(body, {"error": "Decision already made", "decision": "approved"});

    let id = server.ask_ok(c, "q").await;
    let msg = "This request does not require approval";
    check!(server, POST format!("/api/v1/approve/{id}"), e, approved.clone() => 400, msg);
    let late = id_of(&create(&server, c, json!({"requiresApproval": true})).await);
    server.clock.advance(73 * HOUR_MS);
    let msg = "Request is closed or expired";
    check!(server, POST format!("/api/v1/approve/{late}"), e, denied => 400, msg);
    let body = call!(server, GET format!("/api/v1/help/{late}"), c => 200);
    assert_eq!(body["status"], "expired");
    assert!(body.get("approvalDecision").is_none(), "{body}");
}

#[tokio::test]
async fn rate_rules() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let id = server.ask_ok(c, "q").await;
    let path = format!("/api/v1/rate/{id}");
    let msg = "Only answered requests can be rated";
    check!(server, POST path, c, json!({"rating": 5}) => 400, msg);
    check!(server, POST path, e, json!({"rating": 5}) => 401, "Invalid or inactive API key");
    server.answer(e, &id, "done").await;
    let msg = "Rating must be an integer from 1 to 5";
    check!(server, POST path, c, json!({"rating": 0}) => 400, msg);
    check!(server, POST path, c, json!({"rating": 6}) => 400, msg);
    for rating in [json!(-1), json!("5"), json!(2.5), json!(null)] {
        let body = call!(server, POST path, c, json!({"rating": rating}) => 400);
        assert_eq!(body["error"], "Validation failed");
    }
    let long = json!({"rating": 4, "feedback": "f".repeat(2001)});
    check!(server, POST path, c, long => 400, "Feedback must be at most 2000 characters");
    let body =
        call!(server, POST path, c, json!({"rating": 4, "feedback": "f".repeat(2000)}) => 200);
    same!(body, {"success": true, "rating": 4, "ratedAt": START});
    let body = call!(server, POST path, c, json!({"rating": 2}) => 409);
    same!(body, {"error": "Request already rated", "existingRating": 4});
    for rating in 1..=5 {
        let id = server.ask_ok(c, "q").await;
        server.answer(e, &id, "a").await;
        let body =
            call!(server, POST format!("/api/v1/rate/{id}"), c, json!({"rating": rating}) => 200);
        assert_eq!(body["rating"], rating);
    }
}

#[tokio::test]
async fn expert_event_feed() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let first = create(&server, c, json!({"requiresApproval": true})).await;
    server.clock.advance(1);
    let second = json!(server.ask_ok(c, "second").await);
    server.clock.advance(1);
    let note = create(&server, c, json!({"responseRequired": false})).await["requestId"].clone();
    let events = call!(server, GET FEED, e => 200)["events"].clone();
    let order = [first["requestId"].clone(), second.clone(), note.clone()];
    assert_eq!(ids(&events, "requestId"), order);
    assert_eq!(
        ids(&events, "type"),
        ["new_request", "new_request", "new_notification"]
    );
    let event = &events[0];
    assert_eq!(event["refCode"], first["refCode"]);
    assert_eq!(event["question"], "May I deploy to production?");
    has!(event, {"requiresApproval": true, "escalated": false});
    assert_eq!(event["messageCount"], 0);
    assert_eq!(event["consumerSignPubKey"], "test-sign-key");
    assert_eq!(event["consumerEncryptPubKey"], "test-encrypt-key");
    has!(event, {"createdAt": START, "expiresAt": START_PLUS_72H});
    // The consumer's feed is separate and empty.
    same!(call!(server, GET FEED, c => 200), {"events": []});

    let ack = format!("/api/v1/events/ack/{}", second.as_str().unwrap());
    let body = call!(server, POST ack, e, json!({}) => 200);
    same!(body, {"ok": true, "deliveredAt": "2026-04-25T19:56:45.125Z"});
    let events = call!(server, GET FEED, e => 200)["events"].clone();
    assert_eq!(
        ids(&events, "requestId"),
        [first["requestId"].clone(), note]
    );
    check!(server, POST "/api/v1/events/ack/nope", e, json!({}) => 404, "Request not found");
    let bob = server.tenant("Bob").await;
    check!(server, POST ack, &bob.expert_key, json!({}) => 404, "Request not found");
    same!(call!(server, GET FEED, &bob.expert_key => 200), {"events": []});

    check!(server, GET FEED, - => 401, "Missing x-api-key header");
    check!(server, GET FEED, "hs_cli_unknown" => 401, "Invalid API key");
    check!(server, POST ack, "hs_exp_unknown", json!({}) => 401, "Invalid API key");
}

/// PROTOCOL lists `approvalDecision` among the members of the expert's `new_request` event and
/// of each `GET /requests` item (`null` until decided).
#[tokio::test]
async fn expert_listings_carry_every_protocol_member() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    create(&server, c, json!({"requiresApproval": true})).await;
    let body = call!(server, GET FEED, e => 200);
    let event = body["events"][0].as_object().unwrap();
    let members = "type requestId refCode question requiresApproval approvalDecision messageCount \
                   consumerSignPubKey consumerEncryptPubKey escalated createdAt expiresAt";
    let missing: Vec<&str> = members
        .split_whitespace()
        .filter(|m| !event.contains_key(*m))
        .collect();
    let body = call!(server, GET "/api/v1/requests", e => 200);
    let item = body["requests"][0].as_object().unwrap();
    let members = "id refCode status requiresApproval approvalDecision responseRequired expiresAt \
                   messageCount createdAt";
    let missing_in_list: Vec<&str> = members
        .split_whitespace()
        .filter(|m| !item.contains_key(*m))
        .collect();
    assert_eq!(
        (missing, missing_in_list),
        (vec![], vec![]),
        "{event:?} {item:?}"
    );
}

#[tokio::test]
async fn consumer_event_feed() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let created = create(&server, c, json!({})).await;
    let id = id_of(&created);
    server.clock.advance(1000);
    server.answer(e, &id, "first").await;
    let expected = json!({"type": "new_message", "requestId": id, "refCode": created["refCode"],
        "from": "expert", "messageCount": 1, "respondedAt": "2026-04-25T19:56:46.123Z",
        "latestMessageAt": "2026-04-25T19:56:46.123Z"});
    same!(call!(server, GET FEED, c => 200), {"events": [expected]});
    let ack = format!("/api/v1/events/ack/{id}");
    call!(server, POST ack, c, json!({}) => 200);
    same!(call!(server, GET FEED, c => 200), {"events": []});
    server.clock.advance(1000);
    server.answer(e, &id, "second").await;
    let events = call!(server, GET FEED, c => 200)["events"].clone();
    assert_eq!(ids(&events, "type"), ["new_message"]);
    assert_eq!(events[0]["messageCount"], 2);
    assert_eq!(events[0]["latestMessageAt"], "2026-04-25T19:56:47.123Z");
    assert_eq!(events[0]["respondedAt"], "2026-04-25T19:56:46.123Z");
    call!(server, POST ack, c, json!({}) => 200);

    let note = create(&server, c, json!({"responseRequired": false})).await;
    let note_id = id_of(&note);
    server.clock.advance(1000);
    call!(server, POST format!("/api/v1/acknowledge/{note_id}"), c, json!({}) => 200);
    let expected = json!({"type": "notification_acknowledged", "requestId": note_id,
        "refCode": note["refCode"], "acknowledgedAt": "2026-04-25T19:56:48.123Z"});
    same!(call!(server, GET FEED, c => 200), {"events": [expected]});
    call!(server, POST format!("/api/v1/events/ack/{note_id}"), c, json!({}) => 200);

    let late = create(&server, c, json!({"responseRequired": false})).await;
    server.clock.advance(7 * 24 * HOUR_MS);
    // The background sweeper (not running in the harness) makes expiry visible to feeds.
    heysummon_server::sweeper::sweep_once(&server.state)
        .await
        .unwrap();
    let events = call!(server, GET FEED, c => 200)["events"].clone();
    assert_eq!(ids(&events, "type"), ["notification_expired"]);
    assert_eq!(events[0]["requestId"], late["requestId"]);
}

/// An expert message stored in the same millisecond as the consumer's ack is still new.
#[tokio::test]
async fn consumer_feed_keeps_a_message_from_the_ack_millisecond() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let id = server.ask_ok(c, "q").await;
    server.answer(e, &id, "first").await;
    call!(server, POST format!("/api/v1/events/ack/{id}"), c, json!({}) => 200);
    server.answer(e, &id, "second").await;
    let events = call!(server, GET FEED, c => 200)["events"].clone();
    assert_eq!(ids(&events, "type"), ["new_message"]);
}

#[tokio::test]
async fn whoami_and_experts() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let me = call!(server, GET "/api/v1/whoami", c => 200);
    has!(me, {"keyId": server.client_key_id, "keyName": "Alice's agent"});
    let alice = json!({"id": server.expert_id, "name": "Alice", "isActive": true});
    assert_eq!(me["expert"], alice);
    assert!(me["owner"]["id"].is_string(), "{me}");
    assert_eq!(me["owner"]["name"], "Alice");
    check!(server, GET "/api/v1/whoami", e => 401, "Invalid or inactive API key");
    check!(server, GET "/api/v1/whoami", - => 401, "Missing x-api-key header");

    let bob = server.tenant("Bob").await;
    let experts = call!(server, GET "/api/v1/experts", c => 200)["experts"].clone();
    assert_eq!(experts.as_array().unwrap().len(), 1, "{experts}");
    assert_eq!(experts[0]["id"], alice["id"]);
    has!(experts[0], {"name": "Alice", "isActive": true});
    let experts = call!(server, GET "/api/v1/experts", &bob.client_key => 200)["experts"].clone();
    assert_eq!(ids(&experts, "id"), [json!(bob.expert_id)]);
    check!(server, GET "/api/v1/experts", e => 401, "Invalid or inactive API key");
}

#[tokio::test]
async fn request_lookups() {
    let server = common::spawn().await;
    let (c, e) = (server.client_key.as_str(), server.expert_key.as_str());
    let bob = server.tenant("Bob").await;
    let first = create(&server, c, json!({})).await;
    server.clock.advance(1);
    let second = create(&server, c, json!({})).await;
    server.clock.advance(1);
    let third = create(&server, c, json!({})).await;
    let code = first["refCode"].as_str().unwrap();
    let lower = format!("/api/v1/requests/by-ref/{}", code.to_ascii_lowercase());
    let expected = json!({"requestId": first["requestId"], "refCode": code, "status": "pending"});
    assert_eq!(call!(server, GET lower, c => 200), expected);
    assert_eq!(call!(server, GET lower, e => 200), expected);
    check!(server, GET lower, &bob.client_key => 404, "Request not found");
    check!(server, GET lower, &bob.expert_key => 404, "Request not found");
    check!(server, GET "/api/v1/requests/by-ref/HS-ZZZZZZZZ", c => 404, "Request not found");
    check!(server, GET "/api/v1/requests/by-ref/nonsense", c => 404, "Request not found");

    call!(server, POST format!("/api/v1/close/{}", id_of(&second)), c, json!({}) => 200);
    let listed = call!(server, GET "/api/v1/requests", e => 200)["requests"].clone();
    let newest_first = [&third, &second, &first].map(|r| r["requestId"].clone());
    assert_eq!(ids(&listed, "id"), newest_first);
    let summary = listed[2].as_object().unwrap();
    let expected = json!({"refCode": code, "status": "pending", "requiresApproval": false,
        "responseRequired": true, "expiresAt": START_PLUS_72H, "messageCount": 0,
        "createdAt": START});
    for (member, value) in expected.as_object().unwrap() {
        assert_eq!(&summary[member], value, "{member}");
    }
    let closed = call!(server, GET "/api/v1/requests?status=closed", e => 200)["requests"].clone();
    assert_eq!(ids(&closed, "id"), [second["requestId"].clone()]);
    let none = call!(server, GET "/api/v1/requests", &bob.expert_key => 200);
    same!(none, {"requests": []});
    check!(server, GET "/api/v1/requests", c => 401, "Invalid API key");
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods() {
    let server = common::spawn().await;
    let c = server.client_key.as_str();
    for path in ["/api/v1/whatever", "/api/v1/help/x/y/z", "/api/v1/"] {
        check!(server, GET path, c => 404, "Not found");
    }
    check!(server, DELETE "/api/v1/help", c => 405, "Method not allowed");
    check!(server, GET "/api/v1/help", c => 405, "Method not allowed");
    check!(server, PUT "/api/v1/message/x", c, json!({}) => 405, "Method not allowed");
    check!(server, POST "/api/v1/whoami", c, json!({}) => 405, "Method not allowed");
}
