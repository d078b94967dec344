//! Slack channels through the Web API: Block Kit messages with Approve / Deny / Reply buttons
//! (the question in a plain-text block, so no mrkdwn of its own can form), edited after a
//! decision, and the calls an inbound interaction answers with.

use serde_json::{Value, json};

use super::content::{Notice, Occasion, slack};
use super::outbound::{Answer, Outbound, SendError, exchange};
use super::spec::Stored;
use super::transport::Sent;

/// The message's blocks and its plain-text fallback.
pub(crate) fn message(notice: &Notice) -> (String, Value) {
    let headline = notice.headline();
    let mut blocks = vec![json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": format!("*{}*", slack(&headline)) },
    })];
    match notice.chat_question() {
        Some(question) => blocks.push(json!({
            "type": "section",
            "text": { "type": "plain_text", "text": question, "emoji": false },
        })),
        None if notice.sealed => blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "plain_text", "text": Notice::SEALED_LINE }],
        })),
        None => {}
    }
    if notice.occasion == Occasion::Update {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": format!("*{}*", slack(&notice.outcome())) },
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": format!("<{}|Open in HeySummon>", notice.link) }],
    }));
    let button = |label: &str, action: &str, style: Option<&str>| {
        let mut button = json!({
            "type": "button",
            "text": { "type": "plain_text", "text": label },
            "action_id": action,
            "value": notice.request_id,
        });
        if let Some(style) = style {
            button["style"] = json!(style);
        }
        button
    };
    if notice.wants_decision() {
        blocks.push(json!({ "type": "actions", "elements": [
            button("Approve", "approve", Some("primary")),
            button("Deny", "deny", Some("danger")),
        ]}));
    } else if notice.takes_reply() {
        blocks.push(json!({ "type": "actions", "elements": [button("Reply", "reply", None)] }));
    }
    (slack(&headline), Value::Array(blocks))
}

/// Sends the notice (or updates the message whose `ts` is `edit`).
pub(crate) async fn send(
    out: &Outbound,
    api_base: &str,
    stored: &Stored,
    notice: &Notice,
    edit: Option<&str>,
) -> Result<Sent, SendError> {
    let (text, blocks) = message(notice);
    let channel = stored.setting("channel");
    let mut body =
        json!({ "channel": channel, "text": text, "blocks": blocks, "unfurl_links": false });
    let method = match edit {
        Some(ts) => {
            body["ts"] = json!(ts);
            "chat.update"
        }
        None => "chat.postMessage",
    };
    let answer = call(out, api_base, stored.secret("botToken"), method, &body).await?;
    Ok(Sent {
        external_id: answer["ts"].as_str().map(str::to_owned),
    })
}

/// The modal the Reply button opens.
pub(crate) fn reply_modal(request_id: &str, ref_code: &str) -> Value {
    json!({
        "type": "modal",
        "callback_id": "heysummon_reply",
        "private_metadata": request_id,
        "title": { "type": "plain_text", "text": "Answer" },
        "submit": { "type": "plain_text", "text": "Send" },
        "close": { "type": "plain_text", "text": "Cancel" },
        "blocks": [{
            "type": "input",
            "block_id": "answer",
            "label": { "type": "plain_text", "text": format!("Your answer to {ref_code}") },
            "element": { "type": "plain_text_input", "action_id": "answer", "multiline": true },
        }],
    })
}

/// Calls a Web API method; its answer, or Slack's error (with `Retry-After` on 429).
pub(crate) async fn call(
    out: &Outbound,
    api_base: &str,
    token: &str,
    method: &str,
    body: &Value,
) -> Result<Value, SendError> {
    let Answer {
        status,
        retry_after,
        json: answer,
    } = exchange(
        out.api()?
            .post(format!("{api_base}/{method}"))
            .bearer_auth(token)
            .json(body),
    )
    .await?;
    if status.is_success() && answer["ok"] == json!(true) {
        return Ok(answer);
    }
    let error = answer["error"].as_str().unwrap_or("no error given");
    let mut failure = SendError::answered(
        status,
        format!("Slack {method} answered {status}: {error}"),
        retry_after,
    );
    // Slack refuses with HTTP 200 and `ok: false`; only its own troubles are worth a retry.
    if status.is_success() {
        failure.permanent = !matches!(
            error,
            "ratelimited"
                | "internal_error"
                | "fatal_error"
                | "service_unavailable"
                | "request_timeout"
        );
    }
    Err(failure)
}
