//! Answering from Discord: interactions are verified and buttons decide.

use heysummon_sdk::AskOptions;
use heysummon_sdk::wire::ApprovalDecision;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::chats::{now_secs, wait};
use crate::session::Session;
use crate::setup::{self, Fakes, PATIENCE};

#[tokio::test]
async fn discord_interactions_are_verified_and_buttons_decide() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    let channel = session
        .add_id(json!({ "kind": "discord", "botToken": "d-token", "channelId": "4242", "publicKey": fakes.discord_app.public_key_hex() }))
        .await;
    let url = app.url(&format!("/api/channels/discord/{channel}/interactions"));
    let post = |body: Value, valid: bool| {
        let text = body.to_string();
        let ts = now_secs().to_string();
        let mut request = app
            .http
            .post(&url)
            .header("content-type", "application/json");
        for (name, value) in fakes.discord_app.signed_headers(&ts, &text) {
            let value = if valid { value } else { "00".repeat(64) };
            request = request.header(name, value);
        }
        async move {
            let response = request.body(text).send().await.unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    assert_eq!(post(fakes.discord_app.ping(), false).await.0, 401);
    assert_eq!(
        post(fakes.discord_app.ping(), true).await,
        (StatusCode::OK, json!({ "type": 1 }))
    );

    let code = session.connect_code(&channel).await;
    let (_, linked) = post(
        fakes.discord_app.command_connect("i-1", "D_ADA", &code),
        true,
    )
    .await;
    assert!(
        linked["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Connected"),
        "{linked}"
    );

    let agent = setup::plain_agent(&app);
    let approval = agent
        .submit_approval("Ship v2?", &AskOptions::default())
        .await
        .unwrap();
    let sent = fakes
        .discord
        .wait_for("POST /channels/4242/messages", 1, PATIENCE)
        .await[0]
        .json();
    let approve = sent["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, stranger) = post(
        fakes.discord_app.component("i-2", "D_EVE", "m-1", &approve),
        true,
    )
    .await;
    assert!(
        stranger["data"]["content"]
            .as_str()
            .unwrap()
            .contains("not linked"),
        "{stranger}"
    );
    let (_, updated) = post(
        fakes.discord_app.component("i-3", "D_ADA", "m-1", &approve),
        true,
    )
    .await;
    assert_eq!(updated["type"], 7, "{updated}");
    assert!(
        updated["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Approved by Alice")
    );
    assert_eq!(updated["data"]["components"], json!([]));
    assert_eq!(
        approval.decision(wait()).await.unwrap().decision,
        ApprovalDecision::Approved
    );
    // The same interaction again: handled once.
    let (_, again) = post(
        fakes.discord_app.component("i-3", "D_ADA", "m-1", &approve),
        true,
    )
    .await;
    assert!(
        again["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Already handled")
    );

    // Reply on a question opens a modal; submitting it answers the agent.
    let question = agent
        .submit("Which datacenter?", &AskOptions::default())
        .await
        .unwrap();
    let sent = fakes
        .discord
        .wait_for("POST /channels/4242/messages", 2, PATIENCE)
        .await;
    let reply = sent[1].json()["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(reply, format!("reply:{}", question.request_id()));
    let (_, modal) = post(
        fakes.discord_app.component("i-4", "D_ADA", "m-2", &reply),
        true,
    )
    .await;
    assert_eq!(modal["type"], 9, "{modal}");
    let submit = json!({
        "id": "i-5", "type": 5, "member": { "user": { "id": "D_ADA" } },
        "data": { "custom_id": modal["data"]["custom_id"], "components": [{ "type": 1,
            "components": [{ "type": 4, "custom_id": "answer", "value": "Frankfurt" }] }] },
    });
    let (_, done) = post(submit, true).await;
    assert!(
        done["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Answer sent"),
        "{done}"
    );
    assert_eq!(question.answer(wait()).await.unwrap().text, "Frankfurt");
}
