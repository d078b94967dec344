//! The other side: a real server (the shared `TestApp`), its expert answering with the SDK's
//! `ExpertClient`, and the settings of a guard in front of it.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use heysummon_guard::{ApiKey, Config, Guard, device};
pub use heysummon_sdk::ExpertClient;
use heysummon_sdk::client::IncomingRequest;
pub use heysummon_server::testing::TestApp;
use tokio_util::sync::CancellationToken;

/// The server's expert, keys in memory.
pub fn expert(server: &TestApp) -> ExpertClient {
    ExpertClient::builder()
        .base_url(&server.base)
        .api_key(server.expert_key.clone())
        .key_store(heysummon_sdk::keystore::MemoryKeyStore::new())
        .build()
        .unwrap()
}

/// The environment of a guard in front of `server` (its client key, a device key in `dir`),
/// holding MCP calls at most `hold`.
pub fn guard_env(server: &TestApp, dir: &Path, hold: Duration) -> Vec<(&'static str, String)> {
    vec![
        ("HEYSUMMON_UPSTREAM", server.base.clone()),
        ("HEYSUMMON_API_KEY", server.client_key.clone()),
        (
            "HEYSUMMON_DEVICE_KEY_FILE",
            dir.join("device.key").display().to_string(),
        ),
        ("HEYSUMMON_MCP_HOLD_SECS", hold.as_secs().to_string()),
    ]
}

/// The expert's next pending request that is not in `seen` (waits up to 15 s for it).
pub async fn next_request(expert: &ExpertClient, seen: &mut HashSet<String>) -> IncomingRequest {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let pending = expert.pending().await.unwrap();
        if let Some(new) = pending
            .into_iter()
            .find(|request| !seen.contains(request.request_id.as_str()))
        {
            seen.insert(new.request_id.as_str().to_owned());
            return new;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no new request reached the expert"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A guard serving on 127.0.0.1:0 in front of `server`, its device key enrolled; the guard and
/// its base URL.
pub async fn running_guard(
    server: &TestApp,
    dir: &std::path::Path,
    stop: &CancellationToken,
) -> (Guard, String) {
    let key_file = dir.join("device.key");
    let mut config = Config::new(
        &server.base,
        ApiKey::new(server.client_key.clone()).unwrap(),
        key_file.clone(),
    )
    .unwrap();
    config.key_store_dir = Some(dir.join("keys"));
    config.mcp_hold = Duration::from_secs(45);
    let guard = Guard::new(config, device::load_or_create(&key_file).unwrap().key).unwrap();
    guard.enroll().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(heysummon_guard::serve::serve(
        listener,
        guard.clone(),
        stop.clone(),
    ));
    (guard, base)
}
