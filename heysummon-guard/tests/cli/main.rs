//! `heysummon` as a child process, as a shell script runs it, against a real server whose
//! expert answers with the Rust SDK: every exit code produced by a real situation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    dead_code
)]

#[path = "../mcp/support.rs"]
mod support;

use std::collections::HashSet;
use std::process::{Child, Command, Output, Stdio};

use heysummon_sdk::wire::ApprovalDecision;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use support::{TestApp, expert, next_request, running_guard};

/// `heysummon ARGS` with exactly the environment `env`.
fn start(args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_heysummon"));
    command
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().unwrap()
}

async fn finish(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap()
}

fn direct(server: &TestApp) -> Vec<(&'static str, String)> {
    vec![
        ("HEYSUMMON_BASE_URL", server.base.clone()),
        ("HEYSUMMON_API_KEY", server.client_key.clone()),
    ]
}

fn env_of<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn answered_approved_and_denied_exit_0_0_and_1_with_the_answer_on_stdout() {
    let server = TestApp::spawn().await;
    let expert = expert(&server);
    expert.publish_keys().await.unwrap();
    let env = direct(&server);
    let mut seen = HashSet::new();

    let child = start(
        &["ask", "Which region?", "--json", "--timeout", "1m"],
        &env_of(&env),
    );
    let request = next_request(&expert, &mut seen).await;
    assert_eq!(
        request.question, None,
        "sealed by default when the expert has keys"
    );
    expert
        .reply(&request.request_id, "eu-west-1")
        .await
        .unwrap();
    let output = finish(child).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["status"], "answered");
    assert_eq!(json["answer"], "eu-west-1");
    assert_eq!(json["endToEnd"], true);
    assert_eq!(json["refCode"], request.ref_code.as_str());
    let progress = String::from_utf8_lossy(&output.stderr);
    assert!(progress.contains(request.ref_code.as_str()), "{progress}");

    for (decision, code) in [
        (ApprovalDecision::Approved, 0),
        (ApprovalDecision::Denied, 1),
    ] {
        let child = start(
            &["--approval", "Deploy to production?", "-q"],
            &env_of(&env),
        );
        let request = next_request(&expert, &mut seen).await;
        assert!(request.requires_approval);
        expert.decide(&request.request_id, decision).await.unwrap();
        let output = finish(child).await;
        assert_eq!(output.status.code(), Some(code), "{output:?}");
        assert!(output.stderr.is_empty() || code == 1, "quiet: {output:?}");
    }

    // A plain question answered in words.
    let child = start(&["Ship on Friday?"], &env_of(&env));
    let request = next_request(&expert, &mut seen).await;
    expert
        .reply(&request.request_id, "Monday, please")
        .await
        .unwrap();
    let output = finish(child).await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "Monday, please\n");
}

#[tokio::test]
async fn no_answer_in_time_exits_2_never_0() {
    let server = TestApp::spawn().await;
    let env = direct(&server);
    let output = finish(start(
        &["--approval", "--timeout", "1s", "--json", "Drop the table?"],
        &env_of(&env),
    ))
    .await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["status"], "timeout");
}

#[tokio::test]
async fn configuration_authentication_and_network_errors_exit_3_and_4() {
    let server = TestApp::spawn().await;
    // Nothing configured.
    let output = finish(start(&["Hello?"], &[])).await;
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("HEYSUMMON_BASE_URL"));
    // A bad duration: refused by the parser.
    // Mistakes on the command line: 3, never clap's own 2 (a timeout here).
    for line in [
        &["Hello?", "--timeout", "soon"][..],
        &["Hello?", "--timeout", "0s"],
        &["--frobnicate", "x"],
        &[],
    ] {
        let output = finish(start(line, &[])).await;
        assert_eq!(output.status.code(), Some(3), "{line:?}: {output:?}");
    }
    let output = finish(start(&["--help"], &[])).await;
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("Exit codes"));
    // A key the server does not know.
    let wrong = [
        ("HEYSUMMON_BASE_URL", server.base.as_str()),
        ("HEYSUMMON_API_KEY", "hs_cli_not_a_key"),
    ];
    let output = finish(start(&["Hello?"], &wrong)).await;
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    // Nobody listening.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let output = finish(start(
        &["Hello?"],
        &[
            ("HEYSUMMON_BASE_URL", &closed),
            ("HEYSUMMON_API_KEY", "hs_cli_x"),
        ],
    ))
    .await;
    assert_eq!(output.status.code(), Some(4), "{output:?}");
    let output = finish(start(&["Hello?"], &[("HEYSUMMON_GUARD_URL", &closed)])).await;
    assert_eq!(output.status.code(), Some(4), "{output:?}");
    assert_eq!(server.request_count().await, 0);
}

#[tokio::test]
async fn through_a_running_guard_and_interrupted_with_ctrl_c() {
    let server = TestApp::spawn().await;
    let expert = expert(&server);
    let dir = tempfile::tempdir().unwrap();
    let stop = CancellationToken::new();
    let (_, guard) = running_guard(&server, dir.path(), &stop).await;
    let mut seen = HashSet::new();

    let child = start(
        &["May I rotate the keys?"],
        &[("HEYSUMMON_GUARD_URL", &guard)],
    );
    let request = next_request(&expert, &mut seen).await;
    expert.reply(&request.request_id, "Go ahead").await.unwrap();
    let output = finish(child).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout(&output), "Go ahead\n");

    // No answer in time through the guard: 2 as well.
    let output = finish(start(
        &["--timeout", "1s", "--approval", "Restart?"],
        &[("HEYSUMMON_GUARD_URL", &guard)],
    ))
    .await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    // (next_request marks it seen.)
    next_request(&expert, &mut seen).await;

    // Ctrl-C while waiting: 130, and the request is left open to expire.
    let mut child = start(&["Waiting forever?"], &[("HEYSUMMON_GUARD_URL", &guard)]);
    let request = next_request(&expert, &mut seen).await;
    // Once it said which request it asked (its first line on stderr), interrupt it.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let said = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        (line, stderr)
    })
    .await
    .unwrap();
    assert!(said.0.contains(request.ref_code.as_str()), "{}", said.0);
    let mut stderr = said.1;
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = finish(child).await;
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    let mut farewell = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut farewell).unwrap();
    assert!(
        farewell.contains("left to expire") && farewell.contains(request.ref_code.as_str()),
        "{farewell}"
    );
    assert!(
        expert
            .pending()
            .await
            .unwrap()
            .iter()
            .any(|r| r.request_id == request.request_id)
    );
    stop.cancel();
}
