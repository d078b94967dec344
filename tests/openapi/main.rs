//! The OpenAPI document at `/api/openapi.json`: it describes every route, its references
//! resolve, and Schemathesis (from PyPI), run against a live server as an agent and as an
//! expert, finds no 5xx and no answer that breaks the document (status, content type, headers,
//! body schema).
//!
//! Schemathesis is installed on first use into a virtual environment in the target directory
//! (`tests/openapi/requirements.txt`). `HEYSUMMON_SCHEMATHESIS_EXAMPLES` sets the examples per
//! operation (default 25) and `HEYSUMMON_SCHEMATHESIS_SEED` the seed (default: a fixed one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/python.rs"]
mod python;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use heysummon_server::testing::TestApp;
use serde_json::{Value, json};

/// A server whose limits never stop a fuzzer, with one answered request and one waiting.
async fn server() -> (TestApp, String, String) {
    let server = TestApp::builder()
        .config(|c| {
            c.rate_limits.per_key = 1_000_000;
            c.rate_limits.events_per_key = 1_000_000;
        })
        .spawn()
        .await;
    let answered = server.ask_ok(&server.client_key, "Ship it?").await;
    server.answer(&server.expert_key, &answered, "Yes").await;
    let waiting = server.ask_ok(&server.client_key, "Rotate the keys?").await;
    (server, answered, waiting)
}

async fn document(server: &TestApp) -> Value {
    let response = server
        .http
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

/// Every `$ref` in `value`.
fn references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(members) => {
            for (name, member) in members {
                match (name.as_str(), member) {
                    ("$ref", Value::String(target)) => {
                        found.insert(target.clone());
                    }
                    _ => references(member, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_describes_every_route_and_its_references_resolve() {
    let (server, _, _) = server().await;
    let doc = document(&server).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let operations: Vec<(String, String, &Value)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .iter()
                .map(move |(method, op)| (method.to_uppercase(), path.clone(), op))
        })
        .collect();
    // The API's routes, from each part of the router.
    for (method, path) in [
        ("POST", "/api/v1/help"),
        ("GET", "/api/v1/help/{id}"),
        ("POST", "/api/v1/message/{id}"),
        ("POST", "/api/v1/approve/{id}"),
        ("GET", "/api/v1/events/stream"),
        ("PUT", "/api/v1/expert/keys"),
        ("GET", "/.well-known/mercure"),
        ("GET", "/metrics"),
        ("GET", "/health"),
        ("GET", "/api/openapi.json"),
        ("POST", "/auth/link"),
        ("GET", "/auth/callback/{provider}"),
        ("PATCH", "/api/me"),
        ("GET", "/api/requests/{id}"),
        ("DELETE", "/api/keys/{id}"),
        ("DELETE", "/api/channels/{id}/links/{user_id}"),
        ("POST", "/api/channels/slack/{channel_id}/commands"),
    ] {
        assert!(
            operations.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} is not in the document"
        );
    }
    assert_eq!(operations.len(), 53, "operations: {}", operations.len());
    for (method, path, op) in &operations {
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.contains_key("default"),
            "{method} {path}: errors are not described"
        );
        assert!(
            responses
                .keys()
                .any(|status| status.starts_with(['2', '3'])),
            "{method} {path}: no success described"
        );
        assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()));
    }
    let mut found = BTreeSet::new();
    references(&doc, &mut found);
    assert!(found.contains("#/components/schemas/ErrorBody"));
    for target in &found {
        let name = target.strip_prefix("#/components/schemas/").unwrap();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{target} does not resolve"
        );
    }
    // The error body, as every failure sends it.
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], json!(["error"]));
}

/// Schemathesis's configuration for one run: the headers it sends, the ids it uses and the
/// operations it leaves alone (method, path).
fn configuration(
    headers: &[(&str, &str)],
    ids: &[(&str, &str, &str)],
    disabled: &[(&str, &str)],
) -> String {
    let quoted = |text: &str| serde_json::to_string(text).unwrap();
    let mut toml = String::from("[headers]\n");
    for (name, value) in headers {
        toml.push_str(&format!("{} = {}\n", quoted(name), quoted(value)));
    }
    for (path, parameter, value) in ids {
        toml.push_str(&format!(
            "\n[[operations]]\ninclude-path = {}\nparameters = {{ {} = {} }}\n",
            quoted(path),
            quoted(parameter),
            quoted(value)
        ));
    }
    for (method, path) in disabled {
        toml.push_str(&format!(
            "\n[[operations]]\ninclude-method = {}\ninclude-path = {}\nenabled = false\n",
            quoted(method),
            quoted(path)
        ));
    }
    toml
}

/// Runs Schemathesis against the document at `url` with a configuration; its output, or a
/// panic with it.
fn schemathesis(url: &str, dir: &Path, config: &str) -> String {
    let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openapi/requirements.txt");
    let bin = python::environment(&requirements).unwrap_or_else(|error| panic!("{error}"));
    let examples = std::env::var("HEYSUMMON_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "25".into());
    let seed = std::env::var("HEYSUMMON_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261207".into());
    std::fs::create_dir_all(dir).unwrap();
    let config_path = dir.join("schemathesis.toml");
    std::fs::write(&config_path, config).unwrap();
    let output = Command::new(bin.join("schemathesis"))
        .current_dir(dir)
        .arg("--config-file")
        .arg(&config_path)
        .arg("run")
        .arg(url)
        .args(["--checks", CHECKS])
        .args(["--max-examples", &examples, "--seed", &seed])
        .args(["--request-timeout", "20", "--workers", "2", "--no-color"])
        // Event streams answer until the client leaves: their tests are the realtime suites.
        .args(["--exclude-path", "/api/v1/events/stream"])
        .args(["--exclude-path", "/.well-known/mercure"])
        .output()
        .expect("schemathesis runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "Schemathesis failed with {config}:\n{text}"
    );
    text
}

/// What every answer must satisfy.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
    response_headers_conformance,response_schema_conformance";

/// The line after `Test cases:` in the summary, e.g. `1853 generated, 1853 passed`.
fn test_cases(output: &str) -> String {
    let mut lines = output.lines().map(str::trim);
    lines.find(|line| line.starts_with("Test cases:"));
    lines.next().unwrap_or("?").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_answer_off_the_document() {
    let (server, answered, waiting) = server().await;
    let (cookie, csrf) = server.session(&server.expert_id).await;
    let (_, status) = server
        .get(&format!("/api/v1/help/{answered}"), &server.client_key)
        .await;
    let ref_code = status["refCode"].as_str().unwrap().to_owned();

    // As the agent: its key on every call, its requests' ids and reference code.
    let agent = configuration(
        &[("x-api-key", &server.client_key)],
        &[
            // Answered: a long-poll on it returns at once.
            ("/api/v1/help/{id}", "path.id", &answered),
            ("/api/v1/messages/{id}", "path.id", &answered),
            ("/api/v1/message/{id}", "path.id", &waiting),
            ("/api/v1/rate/{id}", "path.id", &answered),
            ("/api/v1/help/{id}/timeout", "path.id", &waiting),
            ("/api/v1/events/ack/{id}", "path.id", &answered),
            ("/api/v1/acknowledge/{id}", "path.id", &answered),
            ("/api/v1/close/{id}", "path.id", &waiting),
            ("/api/v1/requests/by-ref/{code}", "path.code", &ref_code),
        ],
        &[],
    );
    // As the expert: the key, and the dashboard's session with its CSRF token. Signing out
    // would end the session for the operations that follow: the agent's run covers those.
    let expert = configuration(
        &[
            ("x-api-key", &server.expert_key),
            ("cookie", &cookie),
            ("x-csrf-token", &csrf),
        ],
        &[
            ("/api/v1/approve/{id}", "path.id", &waiting),
            ("/api/v1/key-exchange/{id}", "path.id", &waiting),
            ("/api/requests/{id}", "path.id", &answered),
            ("/api/keys/{id}/rotate", "path.id", &server.client_key_id),
        ],
        &[("POST", "/auth/logout"), ("DELETE", "/api/sessions")],
    );
    let url = server.url("/api/openapi.json");
    let dir = server.dir.path().to_owned();
    let (agent_run, expert_run) = tokio::task::spawn_blocking(move || {
        (
            schemathesis(&url, &dir.join("agent"), &agent),
            schemathesis(&url, &dir.join("expert"), &expert),
        )
    })
    .await
    .unwrap();
    if std::env::var_os("HEYSUMMON_SCHEMATHESIS_SHOW").is_some() {
        println!("{agent_run}\n{expert_run}");
    }
    println!(
        "Schemathesis as the agent: {}; as the expert: {}",
        test_cases(&agent_run),
        test_cases(&expert_run)
    );
}
