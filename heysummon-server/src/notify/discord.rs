//! Discord channels through the bot API: messages with Approve / Deny (or Reply) buttons, with
//! every markdown character of the request escaped and no mention allowed, edited after a
//! decision; and the Ed25519 check Discord requires of every interaction it sends us.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::{Value, json};

use super::content::{Notice, Occasion, discord};
use super::outbound::{Answer, Outbound, SendError, exchange, seconds_duration};
use super::spec::Stored;
use super::transport::Sent;

/// Longest content Discord takes.
const MAX_CONTENT_CHARS: usize = 2000;

/// Checks an application public key: 32 bytes in hex.
pub(crate) fn check_public_key(hex_key: &str) -> Result<String, String> {
    let key = hex_key.trim().to_ascii_lowercase();
    parse_key(&key)
        .map(|_| key)
        .ok_or_else(|| "publicKey must be the application's Ed25519 public key in hex".to_owned())
}

fn parse_key(hex_key: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(hex_key).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// Whether `signature` (hex) is the application's signature over `timestamp || body`.
pub(crate) fn verify(public_key: &str, signature: &str, timestamp: &str, body: &[u8]) -> bool {
    let Some(key) = parse_key(public_key) else {
        return false;
    };
    let Some(signature) = hex::decode(signature)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
    else {
        return false;
    };
    let mut signed = Vec::with_capacity(timestamp.len() + body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.extend_from_slice(body);
    key.verify(&signed, &signature).is_ok()
}

/// The message content, in Discord markdown.
pub(crate) fn content(notice: &Notice) -> String {
    let mut content = format!("**{}**\n", discord(&notice.headline()));
    match notice.chat_question() {
        Some(question) => {
            for line in discord(&question).lines() {
                content.push_str(&format!("> {line}\n"));
            }
        }
        None if notice.sealed => content.push_str(&format!("*{}*\n", discord(Notice::SEALED_LINE))),
        None => {}
    }
    if notice.occasion == Occasion::Update {
        content.push_str(&format!("**{}**\n", discord(&notice.outcome())));
    }
    let link = format!("[Open in HeySummon](<{}>)", notice.link);
    let room = MAX_CONTENT_CHARS.saturating_sub(link.chars().count() + 2);
    if content.chars().count() > room {
        content = content.chars().take(room.saturating_sub(1)).collect();
        content.push_str("…\n");
    }
    content.push_str(&link);
    content
}

/// The buttons of a notice, if it takes any.
pub(crate) fn components(notice: &Notice) -> Value {
    let button = |label: &str, style: u8, action: &str| {
        json!({ "type": 2, "style": style, "label": label,
                "custom_id": format!("{action}:{}", notice.request_id) })
    };
    if notice.wants_decision() {
        json!([{ "type": 1, "components": [button("Approve", 3, "approve"), button("Deny", 4, "deny")] }])
    } else if notice.takes_reply() {
        json!([{ "type": 1, "components": [button("Reply", 1, "reply")] }])
    } else {
        json!([])
    }
}

/// Sends the notice (or edits the message `edit`).
pub(crate) async fn send(
    out: &Outbound,
    api_base: &str,
    stored: &Stored,
    notice: &Notice,
    edit: Option<&str>,
) -> Result<Sent, SendError> {
    let channel = stored.setting("channelId");
    let body = json!({
        "content": content(notice),
        "allowed_mentions": { "parse": [] },
        "components": components(notice),
    });
    let request = match edit {
        Some(message) => out
            .api()?
            .patch(format!("{api_base}/channels/{channel}/messages/{message}")),
        None => out
            .api()?
            .post(format!("{api_base}/channels/{channel}/messages")),
    };
    let Answer {
        status,
        retry_after: header_wait,
        json: answer,
    } = exchange(
        request
            .header(
                "authorization",
                format!("Bot {}", stored.secret("botToken")),
            )
            .json(&body),
    )
    .await?;
    if status.is_success() {
        return Ok(Sent {
            external_id: answer["id"].as_str().map(str::to_owned),
        });
    }
    let message = answer["message"].as_str().unwrap_or("no message");
    Err(SendError::answered(
        status,
        format!("Discord answered {status}: {message}"),
        header_wait.or_else(|| answer["retry_after"].as_f64().and_then(seconds_duration)),
    ))
}
