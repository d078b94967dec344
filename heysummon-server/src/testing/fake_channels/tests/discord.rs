use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::json;

use super::{WAIT, post_json};
use crate::testing::fake_channels::{DiscordApp, Failure, FakeDiscord};

const TOKEN: &str = "Bot bot-token";

#[tokio::test]
async fn create_and_edit_messages() {
    let fake = FakeDiscord::start().await;
    let url = format!("{}/channels/C1/messages", fake.api_base());
    let post = json!({ "content": "Question", "allowed_mentions": { "parse": [] } });

    let (status, _, first) = post_json(&url, Some(TOKEN), &post).await;
    assert_eq!(status, 200);
    assert_eq!(first["channel_id"], "C1");
    let (_, _, second) = post_json(&url, Some(TOKEN), &post).await;
    let (a, b) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );
    assert!(b.parse::<u64>().unwrap() > a.parse::<u64>().unwrap());

    let edit = json!({ "content": "Answered", "components": [] });
    let response = reqwest::Client::new()
        .patch(format!("{url}/{a}"))
        .header("authorization", TOKEN)
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let unknown = reqwest::Client::new()
        .patch(format!("{url}/999"))
        .header("authorization", TOKEN)
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let posts = fake.wait_for("POST /channels/C1/messages", 2, WAIT).await;
    assert_eq!(posts[0].token.as_deref(), Some("bot-token"));
    assert_eq!(posts[0].json()["content"], "Question");
    let edits = fake.calls_of(&format!("PATCH /channels/C1/messages/{a}"));
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0].json()["content"], "Answered");
}

#[tokio::test]
async fn refuses_without_a_bot_token_or_content() {
    let fake = FakeDiscord::start().await;
    let url = format!("{}/channels/C1/messages", fake.api_base());
    let (status, _, _) = post_json(&url, None, &json!({ "content": "x" })).await;
    assert_eq!(status, 401);
    let (status, _, _) = post_json(&url, Some("Bearer x"), &json!({ "content": "x" })).await;
    assert_eq!(status, 401);
    let (status, _, answer) = post_json(&url, Some(TOKEN), &json!({ "content": "" })).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(50006)));
    let long = "x".repeat(2001);
    let (status, _, _) = post_json(&url, Some(TOKEN), &json!({ "content": long })).await;
    assert_eq!(status, 400);
    assert_eq!(fake.calls().len(), 4);
    assert!(fake.calls().iter().all(|c| c.failed));
}

#[tokio::test]
async fn rate_limited_with_header_and_body() {
    let fake = FakeDiscord::start().await;
    fake.fail_next(
        1,
        Failure::RateLimited {
            retry_after_secs: 2,
        },
    );
    fake.fail_next(1, Failure::Status(503));
    let url = format!("{}/channels/C1/messages", fake.api_base());
    let post = json!({ "content": "x" });
    let (status, headers, answer) = post_json(&url, Some(TOKEN), &post).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "2");
    assert_eq!(answer["retry_after"], 2);
    assert_eq!(answer["global"], false);
    let (status, _, _) = post_json(&url, Some(TOKEN), &post).await;
    assert_eq!(status, 503);
    let (status, _, _) = post_json(&url, Some(TOKEN), &post).await;
    assert_eq!(status, 200);
    let calls = fake.wait_for("POST /channels/C1/messages", 3, WAIT).await;
    assert_eq!(
        calls.iter().map(|c| c.failed).collect::<Vec<_>>(),
        [true, true, false]
    );
}

#[test]
fn the_app_signs_timestamp_then_body() {
    let app = DiscordApp::new();
    let key_bytes: [u8; 32] = hex::decode(app.public_key_hex())
        .unwrap()
        .try_into()
        .unwrap();
    let key = VerifyingKey::from_bytes(&key_bytes).unwrap();
    let body = app.ping().to_string();
    let signature = app.sign("1700000000", &body);
    let bytes: [u8; 64] = hex::decode(&signature).unwrap().try_into().unwrap();
    let message = format!("1700000000{body}");
    key.verify(message.as_bytes(), &Signature::from_bytes(&bytes))
        .unwrap();
    let tampered = format!("1700000001{body}");
    assert!(
        key.verify(tampered.as_bytes(), &Signature::from_bytes(&bytes))
            .is_err()
    );
    let headers = app.signed_headers("1700000000", &body);
    assert_eq!(headers[0], ("x-signature-ed25519", signature));
    assert_eq!(
        headers[1],
        ("x-signature-timestamp", "1700000000".to_owned())
    );
    assert_ne!(DiscordApp::new().public_key_hex(), app.public_key_hex());
}

#[test]
fn interactions_have_discords_shape() {
    let app = DiscordApp::new();
    assert_eq!(app.ping()["type"], 1);

    let press = app.component("i1", "U1", "M1", "approve:req_1");
    assert_eq!(press["type"], 3);
    assert_eq!(press["id"], "i1");
    assert_eq!(press["member"]["user"]["id"], "U1");
    assert_eq!(press["message"]["id"], "M1");
    assert_eq!(
        press["data"],
        json!({ "custom_id": "approve:req_1", "component_type": 2 })
    );

    let command = app.command_connect("i2", "U2", "ABC123");
    assert_eq!(command["type"], 2);
    assert_eq!(command["member"]["user"]["id"], "U2");
    assert_eq!(command["data"]["name"], "heysummon");
    assert_eq!(
        command["data"]["options"],
        json!([{ "name": "code", "type": 3, "value": "ABC123" }])
    );
}
