//! Webhook channels: a JSON POST signed per Standard Webhooks (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`, secret `whsec_…`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};
use sha2::Sha256;

use super::content::{Notice, Occasion};
use super::outbound::{Answer, Outbound, SendError, exchange};
use super::spec::Stored;
use super::transport::Sent;
use crate::clock::timestamp;

const PREFIX: &str = "whsec_";

/// A new secret: `whsec_` and 32 random bytes in base64.
pub(crate) fn new_secret() -> String {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    format!("{PREFIX}{}", BASE64.encode(key))
}

/// Checks a given secret: `whsec_` and 24 to 64 bytes in base64.
pub(crate) fn check_secret(secret: &str) -> Result<String, String> {
    let key = secret
        .strip_prefix(PREFIX)
        .and_then(|b64| BASE64.decode(b64).ok())
        .filter(|key| (24..=64).contains(&key.len()));
    match key {
        Some(_) => Ok(secret.to_owned()),
        None => Err("secret must be whsec_ followed by 24 to 64 bytes in base64".to_owned()),
    }
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub(crate) fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = secret
        .strip_prefix(PREFIX)
        .and_then(|b64| BASE64.decode(b64).ok())
        .unwrap_or_default();
    // HMAC takes keys of any length: this cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&key) else {
        return String::new();
    };
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// The JSON a webhook receives.
pub(crate) fn body(notice: &Notice) -> Value {
    let event = match notice.occasion {
        Occasion::New if notice.kind == "notification" => "notification.created",
        Occasion::New => "request.created",
        Occasion::Reminder => "request.reminder",
        Occasion::Update => "request.updated",
        Occasion::Test => "channel.test",
    };
    let mut data = json!({
        "requestId": notice.request_id,
        "refCode": notice.ref_code,
        "kind": notice.kind,
        "clientKeyName": notice.key_name,
        "status": notice.status.as_str(),
        "sealed": notice.sealed,
        "url": notice.link,
    });
    if let Some(question) = &notice.question {
        data["question"] = json!(question);
    }
    if let Some(decision) = notice.decision {
        data["approvalDecision"] = json!(decision.as_str());
    }
    json!({ "type": event, "timestamp": timestamp(notice.created_at), "data": data })
}

/// Delivers one notice.
pub(crate) async fn send(
    out: &Outbound,
    stored: &Stored,
    notice: &Notice,
    now_secs: i64,
) -> Result<Sent, SendError> {
    let url = reqwest::Url::parse(stored.setting("url"))
        .map_err(|_| SendError::new("the webhook URL is not valid"))?;
    out.check_webhook(&url)?;
    let payload = serde_json::to_vec(&body(notice)).unwrap_or_default();
    let id = format!("msg_{}", notice.delivery_id);
    let signed = signature(stored.secret("secret"), &id, now_secs, &payload);
    let Answer {
        status,
        retry_after,
        ..
    } = exchange(
        out.webhooks()?
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", now_secs.to_string())
            .header("webhook-signature", signed)
            .body(payload),
    )
    .await?;
    if status.is_success() {
        Ok(Sent::default())
    } else {
        Err(SendError::answered(
            status,
            format!("the webhook answered {status}"),
            retry_after,
        ))
    }
}
