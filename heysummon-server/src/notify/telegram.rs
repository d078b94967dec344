//! Telegram channels through the Bot API: messages in HTML with Approve / Deny buttons, the
//! webhook the server registers (with a secret token) to hear buttons and replies, and the
//! calls an inbound action answers with.

use serde_json::{Value, json};

use super::content::{Notice, html};
use super::outbound::{Answer, Outbound, SendError, exchange, seconds_duration};
use super::spec::Stored;
use super::transport::Sent;

/// The message text, in Telegram's HTML.
pub(crate) fn text(notice: &Notice) -> String {
    let mut text = format!("<b>{}</b>\n", html(&notice.headline()));
    match notice.chat_question() {
        Some(question) => text.push_str(&format!("<blockquote>{}</blockquote>\n", html(&question))),
        None if notice.sealed => text.push_str(&format!("<i>{}</i>\n", Notice::SEALED_LINE)),
        None => {}
    }
    if notice.occasion == super::content::Occasion::Update {
        text.push_str(&format!("<b>{}</b>\n", html(&notice.outcome())));
    } else if notice.takes_reply() && !notice.wants_decision() {
        text.push_str("Reply to this message to answer.\n");
    }
    text.push_str(&format!(
        "<a href=\"{}\">Open in HeySummon</a>",
        html(&notice.link)
    ));
    text
}

/// Sends the notice (or edits the message `edit`).
pub(crate) async fn send(
    out: &Outbound,
    api_base: &str,
    stored: &Stored,
    notice: &Notice,
    edit: Option<&str>,
) -> Result<Sent, SendError> {
    let token = stored.secret("botToken");
    let chat = chat_id(stored.setting("chatId"));
    if let Some(message_id) = edit {
        let mut body = json!({
            "chat_id": chat,
            "message_id": message_id.parse::<i64>().unwrap_or_default(),
            "text": text(notice),
            "parse_mode": "HTML",
            "link_preview_options": { "is_disabled": true },
        });
        if let Some(keyboard) = keyboard(notice) {
            body["reply_markup"] = keyboard;
        }
        match call(out, api_base, token, "editMessageText", &body).await {
            // Already says this (an edit sent twice, after a crash): done.
            Err(error) if error.message.contains("message is not modified") => {}
            other => {
                other?;
            }
        }
        return Ok(Sent {
            external_id: Some(message_id.to_owned()),
        });
    }
    let mut body = json!({
        "chat_id": chat,
        "text": text(notice),
        "parse_mode": "HTML",
        "link_preview_options": { "is_disabled": true },
    });
    if let Some(keyboard) = keyboard(notice) {
        body["reply_markup"] = keyboard;
    }
    let result = call(out, api_base, token, "sendMessage", &body).await?;
    Ok(Sent {
        external_id: result["message_id"].as_i64().map(|id| id.to_string()),
    })
}

/// Approve / Deny, while the approval is undecided.
fn keyboard(notice: &Notice) -> Option<Value> {
    notice.wants_decision().then(|| {
        json!({ "inline_keyboard": [[
            { "text": "Approve", "callback_data": format!("approve:{}", notice.request_id) },
            { "text": "Deny", "callback_data": format!("deny:{}", notice.request_id) },
        ]]})
    })
}

/// A chat id as Telegram takes it: a number, or `@channelname`.
fn chat_id(text: &str) -> Value {
    text.parse::<i64>()
        .map_or_else(|_| json!(text), |id| json!(id))
}

/// Registers the server's webhook for the bot, with the secret token Telegram will send back.
pub(crate) async fn set_webhook(
    out: &Outbound,
    api_base: &str,
    token: &str,
    url: &str,
    secret_token: &str,
) -> Result<(), SendError> {
    let body = json!({
        "url": url,
        "secret_token": secret_token,
        "allowed_updates": ["message", "callback_query"],
    });
    call(out, api_base, token, "setWebhook", &body)
        .await
        .map(|_| ())
}

/// Calls a Bot API method; its `result`, or the API's error (with `retry_after` on 429).
pub(crate) async fn call(
    out: &Outbound,
    api_base: &str,
    token: &str,
    method: &str,
    body: &Value,
) -> Result<Value, SendError> {
    let Answer {
        status,
        json: answer,
        ..
    } = exchange(
        out.api()?
            .post(format!("{api_base}/bot{token}/{method}"))
            .json(body),
    )
    .await?;
    if status.is_success() && answer["ok"] == json!(true) {
        return Ok(answer["result"].clone());
    }
    let description = answer["description"].as_str().unwrap_or("no description");
    Err(SendError::answered(
        status,
        format!("Telegram {method} answered {status}: {description}"),
        answer["parameters"]["retry_after"]
            .as_f64()
            .and_then(seconds_duration),
    ))
}
