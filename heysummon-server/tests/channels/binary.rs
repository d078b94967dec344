//! The real `heysummon-server` binary on a database file, for the command-line and restart
//! tests.

use std::process::{Command, Output};

use serde_json::Value;

/// The server binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_heysummon-server");

/// The binary acting on `db_url` with `--json`; `private` sets
/// `HEYSUMMON_CHANNELS_ALLOW_PRIVATE_NETWORKS=true` (else it is unset: the default).
pub fn command(db_url: &str, private: bool, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["--database-url", db_url, "--json"])
        .args(args)
        .env_remove("HEYSUMMON_CONFIG")
        .env_remove("HEYSUMMON_LISTEN")
        .env_remove("HEYSUMMON_CHANNELS_ALLOW_PRIVATE_NETWORKS")
        .env_remove("HEYSUMMON_CHANNEL_SECRET")
        .env_remove("HEYSUMMON_CHANNEL_BOT_TOKEN")
        .env_remove("HEYSUMMON_CHANNEL_SIGNING_SECRET")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn");
    if private {
        command.env("HEYSUMMON_CHANNELS_ALLOW_PRIVATE_NETWORKS", "true");
    }
    command
}

/// Runs the binary off the async runtime (a test's fakes keep serving meanwhile).
pub async fn run(db_url: &str, private: bool, args: &[&str]) -> Output {
    let mut command = command(db_url, private, args);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// Runs, asserts success and one line of JSON on stdout; that JSON.
pub async fn run_json(db_url: &str, private: bool, args: &[&str]) -> Value {
    let out = run(db_url, private, args).await;
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stdout} {stderr}");
    assert_eq!(stdout.lines().count(), 1, "{args:?}: {stdout}");
    serde_json::from_str(&stdout).unwrap()
}

/// Runs, asserts a non-zero exit, nothing on stdout and a message on stderr; the message.
pub async fn run_fails(db_url: &str, private: bool, args: &[&str]) -> String {
    let out = run(db_url, private, args).await;
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "{args:?} succeeded: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{args:?}: stdout {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.trim().is_empty(), "{args:?}: nothing on stderr");
    stderr
}
