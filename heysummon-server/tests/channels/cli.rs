//! `heysummon-server channel …` (PROTOCOL F1): the real binary on a database file, its JSON,
//! a test notification reaching a webhook receiver, and its failures.

use heysummon_server::testing::fake_channels::{
    Failure, WebhookReceiver, new_webhook_secret, webhook_signature,
};
use serde_json::{Value, json};

use crate::binary::{run_fails, run_json};
use crate::setup::PATIENCE;

/// A database file with one expert, made with the binary.
struct Db {
    _dir: tempfile::TempDir,
    url: String,
    expert_id: String,
}

impl Db {
    async fn with_expert() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("cli.db").display());
        let added = run_json(&url, false, &["expert", "add", "--name", "Ada"]).await;
        let expert_id = added["expertId"].as_str().unwrap().to_owned();
        Self {
            _dir: dir,
            url,
            expert_id,
        }
    }

    async fn json(&self, args: &[&str]) -> Value {
        run_json(&self.url, true, args).await
    }

    async fn fails(&self, args: &[&str]) -> String {
        run_fails(&self.url, true, args).await
    }

    /// `channel list --json`: the channels.
    async fn channels(&self) -> Vec<Value> {
        let list = self
            .json(&["channel", "list", "--expert", &self.expert_id])
            .await;
        list["channels"].as_array().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_added_listed_tested_paused_resumed_and_removed() {
    let db = Db::with_expert().await;
    // Its own key: the generated secret is checked by hand.
    let receiver = WebhookReceiver::start(&new_webhook_secret()).await;
    let url = receiver.url();

    let added = db
        .json(&[
            "channel",
            "add",
            "--expert",
            &db.expert_id,
            "--kind",
            "webhook",
            "--url",
            &url,
        ])
        .await;
    let members: Vec<&String> = added.as_object().unwrap().keys().collect();
    assert_eq!(members, ["channelId", "secret"], "{added}");
    let id = added["channelId"].as_str().unwrap().to_owned();
    let secret = added["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");

    let channels = db.channels().await;
    assert_eq!(channels.len(), 1, "{channels:?}");
    assert_eq!(channels[0]["channelId"], id.as_str());
    assert_eq!(channels[0]["kind"], "webhook");
    assert_eq!(channels[0]["status"], "active");
    assert_eq!(channels[0]["lastError"], Value::Null);
    assert_eq!(channels[0]["settings"], json!({ "url": url }));
    let listed = serde_json::to_string(&channels).unwrap();
    assert!(
        !listed.contains(secret.strip_prefix("whsec_").unwrap()),
        "{listed}"
    );

    let tested = db.json(&["channel", "test", &id]).await;
    assert_eq!(tested, json!({ "channelId": id, "delivered": true }));
    let deliveries = receiver.wait_for(1, PATIENCE).await;
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!(delivery.json()["type"], "channel.test", "{}", delivery.body);
    let expected = webhook_signature(&secret, &delivery.id, &delivery.timestamp, &delivery.body);
    let given = delivery.headers["webhook-signature"].to_str().unwrap();
    assert!(
        given.split_whitespace().any(|s| s == expected),
        "{given} is not {expected}"
    );
    assert!(db.channels().await[0]["lastDeliveredAt"].is_string());

    receiver.fail_next(1, Failure::Status(500));
    let error = db.fails(&["channel", "test", &id]).await;
    assert!(error.contains("500"), "{error}");
    assert!(!error.contains(&secret), "{error}");
    assert_eq!(
        receiver.deliveries().len(),
        2,
        "the failed test did reach the receiver"
    );
    let last_error = db.channels().await[0]["lastError"].clone();
    assert!(last_error.as_str().unwrap().contains("500"), "{last_error}");

    assert_eq!(
        db.json(&["channel", "pause", &id]).await,
        json!({ "channelId": id, "paused": true })
    );
    assert_eq!(db.channels().await[0]["status"], "paused");
    assert_eq!(
        db.json(&["channel", "resume", &id]).await,
        json!({ "channelId": id, "paused": false })
    );
    assert_eq!(db.channels().await[0]["status"], "active");

    assert_eq!(
        db.json(&["channel", "remove", &id]).await,
        json!({ "channelId": id, "removed": true })
    );
    assert!(db.channels().await.is_empty());
    let error = db.fails(&["channel", "remove", &id]).await;
    assert!(
        error.contains(&format!("channel {id} not found")),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_given_secret_signs_and_is_not_printed() {
    let db = Db::with_expert().await;
    let secret = new_webhook_secret();
    let receiver = WebhookReceiver::start(&secret).await;
    let added = db
        .json(&[
            "channel",
            "add",
            "--expert",
            &db.expert_id,
            "--kind",
            "webhook",
            "--url",
            &receiver.url(),
            "--secret",
            &secret,
            "--name",
            "Ops hook",
        ])
        .await;
    assert_eq!(added.as_object().unwrap().len(), 1, "only the id: {added}");
    let id = added["channelId"].as_str().unwrap();
    assert_eq!(db.channels().await[0]["name"], "Ops hook");
    db.json(&["channel", "test", id]).await;
    let deliveries = receiver.wait_for(1, PATIENCE).await;
    assert!(deliveries[0].signature_valid, "{:?}", deliveries[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_experts_and_channels_are_clear_errors() {
    let db = Db::with_expert().await;
    let error = db
        .fails(&[
            "channel",
            "add",
            "--expert",
            "nobody",
            "--kind",
            "webhook",
            "--url",
            "http://127.0.0.1:9/x",
        ])
        .await;
    assert!(error.contains("expert nobody not found"), "{error}");
    for verb in ["test", "pause", "resume", "remove", "connect"] {
        let error = db.fails(&["channel", verb, "nothing-here"]).await;
        assert!(
            error.contains("channel nothing-here not found"),
            "{verb}: {error}"
        );
    }
    // A mistyped expert id is not "an expert without channels".
    let error = db.fails(&["channel", "list", "--expert", "nobody"]).await;
    assert!(error.contains("expert nobody not found"), "{error}");
    assert!(db.channels().await.is_empty(), "nothing was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_options_and_private_targets_are_refused() {
    let db = Db::with_expert().await;
    let expert = db.expert_id.as_str();
    let add = ["channel", "add", "--expert", expert, "--kind"];

    // Without HEYSUMMON_CHANNELS_ALLOW_PRIVATE_NETWORKS (the default: false).
    let error = run_fails(
        &db.url,
        false,
        &[&add[..], &["webhook", "--url", "http://127.0.0.1:9/x"]].concat(),
    )
    .await;
    assert!(error.contains("allow_private_networks"), "{error}");

    for (args, says) in [
        (
            &["webhook", "--url", "http://127.0.0.1:9/x", "--chat-id", "1"][..],
            "chatId does not apply to a webhook channel",
        ),
        (&["webhook"][..], "url is required"),
        (
            &["webhook", "--url", "ftp://127.0.0.1/x"][..],
            "url must be http or https",
        ),
        (
            &[
                "webhook",
                "--url",
                "http://127.0.0.1:9/x",
                "--secret",
                "whsec_c2hvcnQ=",
            ][..],
            "secret must be whsec_",
        ),
        (
            &["email", "--to", "ada@example.com"][..],
            "e-mail is not configured",
        ),
        (
            &[
                "discord",
                "--bot-token",
                "t",
                "--channel-id",
                "1",
                "--public-key",
                "zz",
            ][..],
            "publicKey must be",
        ),
    ] {
        let error = db.fails(&[&add[..], args].concat()).await;
        assert!(error.contains(says), "{args:?}: {error}");
    }
    let error = db.fails(&[&add[..], &["pager"]].concat()).await;
    assert!(error.contains("invalid value 'pager'"), "{error}");
    assert!(db.channels().await.is_empty(), "nothing was stored");
}
