//! What reaches each kind of channel (PROTOCOL F3): a plaintext question escaped for the
//! channel's markup; a sealed question in no form at all (asserted on the bytes the fakes
//! received).

use heysummon_sdk::AskOptions;
use serde_json::Value;

use crate::session::Session;
use crate::setup::{self, Fakes, PATIENCE};

/// A question that tries every markup of every channel.
const HOSTILE: &str =
    "<b>bold</b> & *star* _under_ [link](http://evil.example) @everyone <!channel> <@U1|x>";

#[tokio::test]
async fn a_plaintext_question_reaches_every_kind_escaped_for_its_markup() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    session.add_every_kind(&fakes).await;
    let request_id = app.ask_ok(&app.client_key, HOSTILE).await;

    let telegram = &fakes.telegram.wait_for("sendMessage", 1, PATIENCE).await[0];
    let sent = telegram.json();
    assert_eq!(sent["parse_mode"], "HTML");
    let text = sent["text"].as_str().unwrap();
    assert!(
        text.contains("&lt;b&gt;bold&lt;/b&gt; &amp; *star*"),
        "{text}"
    );
    assert!(!text.contains("<b>bold"), "{text}");
    assert!(
        text.contains(&format!("/#/requests/{request_id}")),
        "{text}"
    );
    assert_eq!(telegram.token.as_deref(), Some("123:tg-token"));

    let slack = fakes.slack.wait_for("chat.postMessage", 1, PATIENCE).await[0].json();
    for block in slack["blocks"].as_array().unwrap() {
        // The question is only ever plain text; mrkdwn parts carry nothing of it.
        if block["text"]["type"] == "mrkdwn" {
            let mrkdwn = block["text"]["text"].as_str().unwrap();
            assert!(
                !mrkdwn.contains("<!channel>") && !mrkdwn.contains("<@U1"),
                "{mrkdwn}"
            );
        }
    }
    let plain: Vec<&Value> = slack["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["text"]["type"] == "plain_text")
        .collect();
    assert_eq!(plain.len(), 1, "{slack}");
    // Plain text, with the link broken so no client makes it clickable.
    let shown = plain[0]["text"]["text"].as_str().unwrap();
    assert!(
        shown.starts_with(
            "<b>bold</b> & *star* _under_ [link](http:\u{200B}//evil.\u{200B}example)"
        ),
        "{shown}"
    );
    assert!(!slack["text"].as_str().unwrap().contains("<!channel>"));

    let discord = fakes
        .discord
        .wait_for("POST /channels/4242/messages", 1, PATIENCE)
        .await[0]
        .json();
    let content = discord["content"].as_str().unwrap();
    assert!(
        content.contains("\\[link\\]\\(http\\:\u{200B}//evil"),
        "{content}"
    );
    assert!(!content.contains("@everyone"), "{content}");
    assert_eq!(discord["allowed_mentions"]["parse"], serde_json::json!([]));

    let mail = &fakes.smtp.wait_for(1, PATIENCE).await[0];
    assert_eq!(mail.to, vec!["ada@example.com".to_owned()]);
    let html = mail.html_body().unwrap();
    assert!(
        html.contains("&lt;b&gt;bold&lt;/b&gt; &amp;amp;")
            || html.contains("&lt;b&gt;bold&lt;/b&gt; &amp;"),
        "{html}"
    );
    assert!(!html.contains("<b>bold"), "{html}");
    let text = mail.text_body().unwrap();
    assert!(
        text.contains("<b>bold</b> & *star*") && !text.contains("http://evil"),
        "{text}"
    );

    let delivery = &fakes.webhook.wait_for(1, PATIENCE).await[0];
    assert!(delivery.signature_valid);
    let body = delivery.json();
    assert_eq!(body["type"], "request.created");
    assert_eq!(body["data"]["question"], HOSTILE);
    assert_eq!(body["data"]["requestId"], request_id.as_str());
    assert_eq!(body["data"]["kind"], "question");
    assert_eq!(body["data"]["clientKeyName"], "Alice's agent");
}

#[tokio::test]
async fn a_sealed_question_never_leaves_the_server_in_any_form() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    session.add_every_kind(&fakes).await;
    let agent = setup::sealing_agent(&app).await;
    let asked = agent
        .submit(
            "The launch code is QZXW-TOPSECRET, may I use it?",
            &AskOptions::default(),
        )
        .await
        .unwrap();
    let ref_code = asked.ref_code().to_string();

    let mut received: Vec<(String, Vec<u8>)> = Vec::new();
    for call in fakes.telegram.wait_for("sendMessage", 1, PATIENCE).await {
        received.push(("telegram".into(), call.body.to_vec()));
    }
    for call in fakes.slack.wait_for("chat.postMessage", 1, PATIENCE).await {
        received.push(("slack".into(), call.body.to_vec()));
    }
    for call in fakes
        .discord
        .wait_for("POST /channels/4242/messages", 1, PATIENCE)
        .await
    {
        received.push(("discord".into(), call.body.to_vec()));
    }
    for mail in fakes.smtp.wait_for(1, PATIENCE).await {
        let decoded = format!(
            "{}{}",
            mail.text_body().unwrap_or_default(),
            mail.html_body().unwrap_or_default()
        );
        received.push(("email (raw)".into(), mail.data.clone().into_bytes()));
        received.push(("email (decoded)".into(), decoded.into_bytes()));
    }
    for delivery in fakes.webhook.wait_for(1, PATIENCE).await {
        assert_eq!(delivery.json()["data"]["sealed"], true);
        assert!(delivery.json()["data"].get("question").is_none());
        received.push(("webhook".into(), delivery.body.into_bytes()));
    }
    assert_eq!(received.len(), 6);
    for (kind, bytes) in &received {
        let text = String::from_utf8_lossy(bytes);
        for secret in ["QZXW", "TOPSECRET", "launch code"] {
            assert!(!text.contains(secret), "{kind} received {secret:?}: {text}");
        }
        if !kind.starts_with("email (raw)") {
            assert!(
                text.contains(&ref_code),
                "{kind} lacks the reference code: {text}"
            );
        }
    }
    // Nor does the database hold it.
    assert!(!app.database_contains(b"TOPSECRET").await);
}

#[tokio::test]
async fn a_channel_gets_only_its_own_experts_requests() {
    let fakes = Fakes::start().await;
    let app = setup::spawn(&fakes, |_| {}).await;
    let session = Session::new(&app).await;
    session
        .add_id(serde_json::json!({ "kind": "webhook", "url": fakes.webhook.url(), "secret": fakes.webhook_secret }))
        .await;
    let bob = app.tenant("Bob").await;
    app.ask_ok(&bob.client_key, "Bob's private question").await;
    let mine = app.ask_ok(&app.client_key, "Alice's question").await;
    let delivered = fakes.webhook.wait_for(1, PATIENCE).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let all = fakes.webhook.deliveries();
    assert_eq!(
        all.len(),
        1,
        "{:?}",
        all.iter().map(|d| &d.body).collect::<Vec<_>>()
    );
    assert_eq!(delivered[0].json()["data"]["requestId"], mine.as_str());
    assert!(!all[0].body.contains("Bob"));
}
