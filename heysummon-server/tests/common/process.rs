//! The real `heysummon-server` binary.

#![allow(dead_code, unreachable_pub)]

use std::process::Command;

/// `heysummon-server --json --database-url <db_url> serve --listen 127.0.0.1:0`, not started:
/// add the environment and the pipes, then spawn.
pub fn serve_command(db_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_heysummon-server"));
    command.args([
        "--json",
        "--database-url",
        db_url,
        "serve",
        "--listen",
        "127.0.0.1:0",
    ]);
    command
}
