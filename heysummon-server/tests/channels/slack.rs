//! Answering from Slack: buttons and the Reply modal reach the agent; forged, stale and
//! replayed calls do nothing.

use heysummon_sdk::AskOptions;
use heysummon_sdk::wire::ApprovalDecision;
use heysummon_server::testing::fake_channels::{
    block_action_payload, command_body, form_body, view_submission_payload,
};
use serde_json::json;

use crate::chats::{now_secs, slack_post, wait};
use crate::session::Session;
use crate::setup::{self, Fakes, PATIENCE, SLACK_SECRET};

#[tokio::test]
async fn slack_buttons_and_the_reply_modal_reach_the_agent_and_forgeries_do_nothing() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    let channel = session
        .add_id(json!({ "kind": "slack", "botToken": "xoxb-1", "channel": "C0PAGER", "signingSecret": SLACK_SECRET }))
        .await;
    let code = session.connect_code(&channel).await;
    let (status, said) = slack_post(
        &app,
        &channel,
        "commands",
        &command_body("U_ADA", "C0PAGER", &format!("connect {code}")),
        now_secs(),
        SLACK_SECRET,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        said["text"].as_str().unwrap().starts_with("Connected"),
        "{said}"
    );

    let agent = setup::plain_agent(&app);
    let approval = agent
        .submit_approval("Rotate the database password?", &AskOptions::default())
        .await
        .unwrap();
    let posted = fakes.slack.wait_for("chat.postMessage", 1, PATIENCE).await[0].json();
    let id = approval.request_id().to_string();
    let approve = form_body(&block_action_payload(
        "U_ADA",
        "C0PAGER",
        "1700000000.000100",
        "approve",
        &id,
        "trigger-1",
    ));

    // Forged (another secret) and stale (10 minutes old) calls are refused.
    assert_eq!(
        slack_post(
            &app,
            &channel,
            "interactions",
            &approve,
            now_secs(),
            "not-the-secret"
        )
        .await
        .0,
        401
    );
    assert_eq!(
        slack_post(
            &app,
            &channel,
            "interactions",
            &approve,
            now_secs() - 600,
            SLACK_SECRET
        )
        .await
        .0,
        401
    );
    // A user who is not linked is told so, privately; nothing is decided.
    let stranger = form_body(&block_action_payload(
        "U_EVE",
        "C0PAGER",
        "1700000000.000100",
        "approve",
        &id,
        "trigger-2",
    ));
    assert_eq!(
        slack_post(
            &app,
            &channel,
            "interactions",
            &stranger,
            now_secs(),
            SLACK_SECRET
        )
        .await
        .0,
        200
    );
    let ephemeral = fakes
        .slack
        .wait_for("chat.postEphemeral", 1, PATIENCE)
        .await;
    assert!(
        ephemeral[0].json()["text"]
            .as_str()
            .unwrap()
            .contains("not linked")
    );

    let ts = now_secs();
    assert_eq!(
        slack_post(&app, &channel, "interactions", &approve, ts, SLACK_SECRET)
            .await
            .0,
        200
    );
    assert_eq!(
        approval.decision(wait()).await.unwrap().decision,
        ApprovalDecision::Approved
    );
    // The same signed request again (a replay within the window): handled once.
    assert_eq!(
        slack_post(&app, &channel, "interactions", &approve, ts, SLACK_SECRET)
            .await
            .0,
        200
    );
    let updates = fakes.slack.wait_for("chat.update", 1, PATIENCE).await;
    let update = updates[0].json();
    assert!(update["ts"].is_string(), "{update}");
    assert_eq!(update["channel"], posted["channel"]);
    assert!(update.to_string().contains("Approved by Alice"), "{update}");
    assert_eq!(
        fakes.slack.calls_of("chat.postEphemeral").len(),
        2,
        "one answer for the approval, none for the replay"
    );

    // Deny on another approval.
    let second = agent
        .submit_approval("Delete the staging bucket?", &AskOptions::default())
        .await
        .unwrap();
    fakes.slack.wait_for("chat.postMessage", 2, PATIENCE).await;
    let deny = form_body(&block_action_payload(
        "U_ADA",
        "C0PAGER",
        "1700000000.000200",
        "deny",
        second.request_id().as_ref(),
        "trigger-3",
    ));
    assert_eq!(
        slack_post(
            &app,
            &channel,
            "interactions",
            &deny,
            now_secs(),
            SLACK_SECRET
        )
        .await
        .0,
        200
    );
    assert_eq!(
        second.decision(wait()).await.unwrap().decision,
        ApprovalDecision::Denied
    );

    // Reply opens a modal; submitting it answers the question.
    let question = agent
        .submit("Which region?", &AskOptions::default())
        .await
        .unwrap();
    fakes.slack.wait_for("chat.postMessage", 3, PATIENCE).await;
    let qid = question.request_id().to_string();
    let reply = form_body(&block_action_payload(
        "U_ADA",
        "C0PAGER",
        "1700000000.000300",
        "reply",
        &qid,
        "trigger-4",
    ));
    assert_eq!(
        slack_post(
            &app,
            &channel,
            "interactions",
            &reply,
            now_secs(),
            SLACK_SECRET
        )
        .await
        .0,
        200
    );
    let opened = fakes.slack.wait_for("views.open", 1, PATIENCE).await[0].json();
    assert_eq!(opened["trigger_id"], "trigger-4");
    assert_eq!(opened["view"]["private_metadata"], qid.as_str());
    let submit = form_body(&view_submission_payload("U_ADA", &qid, "eu-west-1"));
    let (status, body) = slack_post(
        &app,
        &channel,
        "interactions",
        &submit,
        now_secs(),
        SLACK_SECRET,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(question.answer(wait()).await.unwrap().text, "eu-west-1");
}
