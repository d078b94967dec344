use super::WAIT;
use crate::testing::fake_channels::{
    Failure, WebhookReceiver, new_webhook_secret, webhook_signature,
};

/// POSTs a delivery; the status.
async fn deliver(receiver: &WebhookReceiver, id: &str, signature: &str, body: &str) -> u16 {
    reqwest::Client::new()
        .post(receiver.url())
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", "1700000000")
        .header("webhook-signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn signature_matches_the_standard_webhooks_example() {
    assert_eq!(
        webhook_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            r#"{"test": 2432232314}"#,
        ),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
}

#[test]
fn new_secrets_are_32_random_bytes() {
    use base64::Engine;
    let secret = new_webhook_secret();
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert_eq!(key.len(), 32);
    assert_ne!(secret, new_webhook_secret());
}

#[tokio::test]
async fn checks_signatures() {
    let secret = new_webhook_secret();
    let receiver = WebhookReceiver::start(&secret).await;
    let body = r#"{"type":"channel.test","timestamp":"2026-01-01T00:00:00Z","data":{}}"#;
    let good = webhook_signature(&secret, "msg_1", "1700000000", body);

    assert_eq!(deliver(&receiver, "msg_1", &good, body).await, 204);
    // Several signatures, one of them right (key rotation).
    let several = format!("v1,AAAA v2,xyz {good}");
    assert_eq!(deliver(&receiver, "msg_1", &several, body).await, 204);
    // The body changed after signing.
    let tampered = body.replace("channel.test", "request.created");
    deliver(&receiver, "msg_1", &good, &tampered).await;
    // Signed with another secret.
    let foreign = webhook_signature(&new_webhook_secret(), "msg_1", "1700000000", body);
    deliver(&receiver, "msg_1", &foreign, body).await;

    let deliveries = receiver.wait_for(4, WAIT).await;
    let valid: Vec<bool> = deliveries.iter().map(|d| d.signature_valid).collect();
    assert_eq!(valid, [true, true, false, false]);
    assert_eq!(deliveries[0].id, "msg_1");
    assert_eq!(deliveries[0].timestamp, "1700000000");
    assert_eq!(deliveries[0].json()["type"], "channel.test");
    assert_eq!(deliveries[0].headers["content-type"], "application/json");
}

#[tokio::test]
async fn fail_next_then_recovery() {
    let secret = new_webhook_secret();
    let receiver = WebhookReceiver::start(&secret).await;
    receiver.fail_next(1, Failure::Status(503));
    receiver.fail_next(
        1,
        Failure::RateLimited {
            retry_after_secs: 7,
        },
    );
    let body = "{}";
    let signature = webhook_signature(&secret, "msg_2", "1700000000", body);
    assert_eq!(deliver(&receiver, "msg_2", &signature, body).await, 503);
    assert_eq!(deliver(&receiver, "msg_2", &signature, body).await, 429);
    assert_eq!(deliver(&receiver, "msg_2", &signature, body).await, 204);
    let deliveries = receiver.wait_for(3, WAIT).await;
    let failed: Vec<bool> = deliveries.iter().map(|d| d.failed).collect();
    assert_eq!(failed, [true, true, false]);
    assert!(
        deliveries
            .iter()
            .all(|d| d.signature_valid && d.id == "msg_2")
    );
}
