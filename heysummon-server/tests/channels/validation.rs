//! Every bad input to the channel API gets a clear JSON error, and nothing is stored.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::session::Session;

use crate::manage::spawn_allowing_private;

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_nothing_is_stored() {
    let app = spawn_allowing_private().await;
    let session = Session::sign_in(&app, &app.expert_id).await;
    let url = "http://127.0.0.1:9/hook";
    let short_secret = format!("whsec_{}", BASE64.encode([7u8; 16]));
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({ "kind": "pager", "url": url }),
            "Invalid channel",
            "kind must be webhook, slack, telegram, discord or email",
        ),
        (json!({ "url": url }), "Validation failed", "kind"),
        (
            json!({ "kind": 7, "url": url }),
            "Validation failed",
            "kind",
        ),
        (
            json!({ "kind": "webhook" }),
            "Invalid channel",
            "url is required",
        ),
        (
            json!({ "kind": "webhook", "url": "" }),
            "Invalid channel",
            "url is required",
        ),
        (
            json!({ "kind": "webhook", "url": "not a url" }),
            "Invalid channel",
            "url is not a valid URL",
        ),
        (
            json!({ "kind": "webhook", "url": 42 }),
            "Invalid channel",
            "invalid type",
        ),
        (
            json!({ "kind": "webhook", "url": url, "chatId": "1" }),
            "Invalid channel",
            "chatId does not apply to a webhook channel",
        ),
        (
            json!({ "kind": "webhook", "url": url, "colour": "red" }),
            "Invalid channel",
            "unknown field `colour`",
        ),
        (
            json!({ "kind": "webhook", "url": url, "secret": short_secret }),
            "Invalid channel",
            "secret must be whsec_ followed by 24 to 64 bytes",
        ),
        (
            json!({ "kind": "webhook", "url": url, "secret": "hunter2" }),
            "Invalid channel",
            "secret must be whsec_",
        ),
        (
            json!({ "kind": "email", "to": "ada@example.com" }),
            "Invalid channel",
            "e-mail is not configured",
        ),
        (
            json!({ "kind": "email", "to": "not an address" }),
            "Invalid channel",
            "to must be an e-mail address",
        ),
        (
            json!({ "kind": "discord", "botToken": "t", "channelId": "4242", "publicKey": "not-hex" }),
            "Invalid channel",
            "publicKey must be the application's Ed25519 public key in hex",
        ),
        (
            json!({ "kind": "discord", "botToken": "t", "channelId": "4242", "publicKey": "abcd" }),
            "Invalid channel",
            "publicKey must be",
        ),
        (
            json!({ "kind": "telegram", "botToken": "123:abc", "chatId": "a b" }),
            "Invalid channel",
            "chatId must be letters",
        ),
        (
            json!({ "kind": "telegram", "botToken": "12/3", "chatId": "1" }),
            "Invalid channel",
            "botToken is not a valid token",
        ),
        (
            json!({ "kind": "slack", "botToken": "x", "channel": "C1" }),
            "Invalid channel",
            "signingSecret is required",
        ),
    ];
    for (body, error, details) in cases {
        let (status, refused) = session.post("/api/channels", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {refused}");
        assert_eq!(refused["error"], error, "{body}: {refused}");
        let given = refused["details"].as_str().unwrap_or_default();
        assert!(
            given.contains(details),
            "{body}: {given:?} does not say {details:?}"
        );
    }
    let (status, refused) = session
        .call_raw(
            Method::POST,
            "/api/channels",
            "application/json",
            "{\"kind\":",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "Malformed JSON body");
    let (status, _) = session
        .call_raw(Method::POST, "/api/channels", "text/plain", "kind=webhook")
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(session.channel_count().await, 0, "nothing was stored");

    // A channel's pause switch takes a boolean and nothing else.
    let id = session.add(json!({ "kind": "webhook", "url": url })).await["channelId"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/channels/{id}");
    for (body, details) in [
        (json!({ "paused": "yes" }), "invalid type"),
        (json!({ "paused": 1 }), "invalid type"),
        (json!({}), "missing field `paused`"),
        (
            json!({ "paused": true, "url": "http://127.0.0.1:10/other" }),
            "unknown field `url`",
        ),
    ] {
        let (status, refused) = session.call(Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {refused}");
        assert_eq!(refused["error"], "Validation failed", "{body}: {refused}");
        let given = refused["details"].as_str().unwrap_or_default();
        assert!(
            given.contains(details),
            "{body}: {given:?} does not say {details:?}"
        );
    }
    let (status, refused) = session
        .call_raw(Method::PATCH, &path, "application/json", "{\"paused\":tru")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "Malformed JSON body");
    let channel = session.channel(&id).await;
    assert_eq!(channel["status"], "active", "{channel}");
    assert_eq!(channel["settings"], json!({ "url": url }));
    assert_eq!(session.channel_count().await, 1);
}
