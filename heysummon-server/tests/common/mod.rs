//! The server's tests run on the shared harness ([`TestApp`]) with a manual clock.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

pub mod process;
pub mod signed;
pub mod sse;

use heysummon_sdk::keys::PartyKeys;
use heysummon_server::clock::Clock;
use heysummon_server::config::Config;
pub use heysummon_server::testing::TestApp;

/// 2026-04-25T19:56:45.123Z
pub const START_MS: i64 = 1_777_147_005_123;

/// A server with the default configuration on a manual clock at [`START_MS`].
pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

/// A server with an adjusted configuration on a manual clock at [`START_MS`].
pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::builder()
        .clock(Clock::manual(START_MS))
        .config(adjust)
        .spawn()
        .await
}

/// A `POST /key-exchange` body with real, freshly generated expert keys (hex of DER SPKI).
pub fn exchange_keys() -> serde_json::Value {
    let keys = PartyKeys::generate().public();
    serde_json::json!({
        "signPublicKey": keys.sign.to_hex(),
        "encryptPublicKey": keys.encrypt.to_hex(),
    })
}
