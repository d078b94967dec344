//! A server whose channels reach fakes of every third party, and the agents that ask.

use std::time::Duration;

use heysummon_sdk::keystore::MemoryKeyStore;
use heysummon_sdk::{Client, EncryptionPolicy};
use heysummon_server::clock::Clock;
use heysummon_server::config::Config;
use heysummon_server::testing::TestApp;
use heysummon_server::testing::fake_channels::{
    DiscordApp, FakeDiscord, FakeSlack, FakeTelegram, SmtpSink, WebhookReceiver, new_webhook_secret,
};

/// How long a test waits for something to arrive.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// The fakes a server's channels reach.
pub struct Fakes {
    pub telegram: FakeTelegram,
    pub slack: FakeSlack,
    pub discord: FakeDiscord,
    pub discord_app: DiscordApp,
    pub smtp: SmtpSink,
    pub webhook: WebhookReceiver,
    pub webhook_secret: String,
}

impl Fakes {
    pub async fn start() -> Self {
        let webhook_secret = new_webhook_secret();
        Self {
            telegram: FakeTelegram::start().await,
            slack: FakeSlack::start().await,
            discord: FakeDiscord::start().await,
            discord_app: DiscordApp::new(),
            smtp: SmtpSink::start().await,
            webhook: WebhookReceiver::start(&webhook_secret).await,
            webhook_secret,
        }
    }

    /// Points a configuration at the fakes, with quick retries.
    pub fn configure(&self, config: &mut Config) {
        let channels = &mut config.channels;
        channels.allow_private_networks = true;
        channels.retry_initial_ms = 50;
        channels.retry_max_secs = 1;
        channels.timeout_secs = 1;
        channels.reminder_after_secs = 0;
        channels.telegram.api_base = self.telegram.api_base();
        channels.slack.api_base = self.slack.api_base();
        channels.discord.api_base = self.discord.api_base();
        channels.email.smtp_url = Some(self.smtp.url());
        channels.email.from = Some("HeySummon <pager@example.com>".to_owned());
    }
}

/// A server on the system clock (deliveries back off in real time) whose channels reach the
/// fakes.
pub async fn spawn(fakes: &Fakes, adjust: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::builder()
        .clock(Clock::system())
        .config(|config| {
            fakes.configure(config);
            adjust(config);
        })
        .spawn()
        .await
}

/// The Slack app's signing secret in these tests.
pub const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

/// An agent of the first tenant asking in plaintext.
pub fn plain_agent(app: &TestApp) -> Client {
    Client::builder()
        .base_url(&app.base)
        .api_key(app.client_key.clone())
        .key_store(MemoryKeyStore::new())
        .encryption(EncryptionPolicy::Off)
        .build()
        .unwrap()
}

/// An agent of the first tenant that seals everything to the expert's published keys.
pub async fn sealing_agent(app: &TestApp) -> Client {
    let expert = heysummon_sdk::ExpertClient::builder()
        .base_url(&app.base)
        .api_key(app.expert_key.clone())
        .key_store(MemoryKeyStore::new())
        .build()
        .unwrap();
    let fingerprint = expert.publish_keys().await.unwrap();
    Client::builder()
        .base_url(&app.base)
        .api_key(app.client_key.clone())
        .key_store(MemoryKeyStore::new())
        .encryption(EncryptionPolicy::Required)
        .expert_fingerprint(
            fingerprint
                .to_string()
                .split_whitespace()
                .collect::<String>(),
        )
        .build()
        .unwrap()
}

/// Polls `check` every 20 ms until it holds, failing after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
