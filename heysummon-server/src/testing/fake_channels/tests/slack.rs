use serde_json::json;

use super::{WAIT, post_json};
use crate::testing::fake_channels::{
    Failure, FakeSlack, block_action_payload, command_body, form_body, slack_signature,
    view_submission_payload,
};

const TOKEN: &str = "Bearer xoxb-test";

#[tokio::test]
async fn post_update_ephemeral_and_modal() {
    let fake = FakeSlack::start().await;
    let url = |method: &str| format!("{}/{method}", fake.api_base());
    let post = json!({ "channel": "C123", "text": "Question", "blocks": [] });

    let (status, _, first) = post_json(&url("chat.postMessage"), Some(TOKEN), &post).await;
    assert_eq!(status, 200);
    assert_eq!(first["ok"], true);
    assert_eq!(first["channel"], "C123");
    assert_eq!(first["ts"], "1700000000.000100");
    let (_, _, second) = post_json(&url("chat.postMessage"), Some(TOKEN), &post).await;
    assert_eq!(second["ts"], "1700000000.000101");

    let update = json!({ "channel": "C123", "ts": "1700000000.000100", "text": "Answered" });
    let (_, _, updated) = post_json(&url("chat.update"), Some(TOKEN), &update).await;
    assert_eq!(updated["ok"], true);
    let unknown = json!({ "channel": "C123", "ts": "1.2", "text": "x" });
    let (_, _, refused) = post_json(&url("chat.update"), Some(TOKEN), &unknown).await;
    assert_eq!(
        refused,
        json!({ "ok": false, "error": "message_not_found" })
    );

    let ephemeral = json!({ "channel": "C123", "user": "U1", "text": "Linked" });
    let (_, _, said) = post_json(&url("chat.postEphemeral"), Some(TOKEN), &ephemeral).await;
    assert_eq!(said["ok"], true);

    let view = json!({
        "trigger_id": "trig", "view": { "type": "modal", "callback_id": "heysummon_reply",
        "private_metadata": "req_1", "blocks": [] },
    });
    let (_, _, opened) = post_json(&url("views.open"), Some(TOKEN), &view).await;
    assert_eq!(opened["ok"], true);
    assert_eq!(opened["view"]["private_metadata"], "req_1");

    let calls = fake.wait_for("chat.postMessage", 2, WAIT).await;
    assert_eq!(calls[0].token.as_deref(), Some("xoxb-test"));
    assert_eq!(calls[1].json()["text"], "Question");
    assert_eq!(fake.calls().len(), 6);
}

#[tokio::test]
async fn refuses_without_a_token() {
    let fake = FakeSlack::start().await;
    let url = format!("{}/chat.postMessage", fake.api_base());
    let post = json!({ "channel": "C1", "text": "x" });
    let (status, _, answer) = post_json(&url, None, &post).await;
    assert_eq!(status, 200);
    assert_eq!(answer, json!({ "ok": false, "error": "not_authed" }));
    let (_, _, answer) = post_json(&url, Some("Bearer t"), &json!({ "channel": "C1" })).await;
    assert_eq!(answer["error"], "no_text");
    assert!(fake.calls_of("chat.postMessage").iter().all(|c| c.failed));
}

#[tokio::test]
async fn rate_limited_then_recovers() {
    let fake = FakeSlack::start().await;
    fake.fail_next(
        2,
        Failure::RateLimited {
            retry_after_secs: 30,
        },
    );
    fake.fail_next(1, Failure::ApiError("channel_not_found".to_owned()));
    let url = format!("{}/chat.postMessage", fake.api_base());
    let post = json!({ "channel": "C1", "text": "x" });
    for _ in 0..2 {
        let (status, headers, _) = post_json(&url, Some(TOKEN), &post).await;
        assert_eq!(status, 429);
        assert_eq!(headers["retry-after"], "30");
    }
    let (status, _, answer) = post_json(&url, Some(TOKEN), &post).await;
    assert_eq!(
        (status, answer["error"].clone()),
        (200, json!("channel_not_found"))
    );
    let (_, _, answer) = post_json(&url, Some(TOKEN), &post).await;
    assert_eq!(answer["ok"], true);
    let calls = fake.wait_for("chat.postMessage", 4, WAIT).await;
    assert_eq!(calls.iter().filter(|c| c.failed).count(), 3);
}

#[test]
fn signature_matches_slacks_documented_example() {
    let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&\
                channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&\
                user_name=roadrunner&command=%2Fwebhook-collect&text=&\
                response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F\
                397700885554%2F96rGlfmibIGlgcZRskXaIFfN&\
                trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    assert_eq!(
        slack_signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body),
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    );
}

#[test]
fn payloads_and_form_bodies() {
    let action = block_action_payload("U1", "C1", "1700000000.000100", "approve", "req_1", "t1");
    assert_eq!(action["type"], "block_actions");
    assert_eq!(action["user"]["id"], "U1");
    assert_eq!(action["container"]["message_ts"], "1700000000.000100");
    assert_eq!(action["channel"]["id"], "C1");
    assert_eq!(action["actions"][0]["action_id"], "approve");
    assert_eq!(action["actions"][0]["value"], "req_1");
    assert_eq!(action["trigger_id"], "t1");

    let submission = view_submission_payload("U1", "req_1", "Yes & <no>");
    assert_eq!(submission["view"]["callback_id"], "heysummon_reply");
    assert_eq!(submission["view"]["private_metadata"], "req_1");
    assert_eq!(
        submission["view"]["state"]["values"]["answer"]["answer"]["value"],
        "Yes & <no>"
    );

    let body = form_body(&submission);
    assert!(body.starts_with("payload="));
    let (key, value) = form_urlencoded::parse(body.as_bytes()).next().unwrap();
    assert_eq!(key, "payload");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&value).unwrap(),
        submission
    );

    let command = command_body("U1", "C1", "connect ABC123");
    let fields: std::collections::HashMap<_, _> = form_urlencoded::parse(command.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(fields["command"], "/heysummon");
    assert_eq!(fields["text"], "connect ABC123");
    assert_eq!(fields["user_id"], "U1");
}
