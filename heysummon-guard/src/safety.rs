//! Content safety on the agent's machine, before anything is signed (PROTOCOL A, "Content
//! safety"): the SDK's rules over every plaintext field of `POST /api/v1/help` (`question`,
//! every string anywhere in `messages`) and the `plaintext` of `POST /api/v1/message/:id`.
//!
//! In [`SafetyMode::Block`] a blocking finding is refused locally ([`AskError::ContentBlocked`],
//! which the HTTP front end answers with 422) and the request is never forwarded; in [`SafetyMode::Flag`] it is forwarded and the finding *types* are logged.
//! Logs never contain the content or the field's text.

use heysummon_sdk::safety::{self, ScanReport};
use serde_json::{Map, Value};

use crate::ask::{AskError, BlockedFlag};
use crate::config::SafetyMode;

/// Scans a `POST /api/v1/help` body.
pub fn scan_help(body: &Map<String, Value>) -> ScanReport {
    let question = body.get("question").and_then(Value::as_str);
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice);
    safety::scan_help_request(question, messages)
}

/// Scans a `POST /api/v1/message/:id` body (its `plaintext`, when it has one).
pub fn scan_message(body: &Map<String, Value>) -> ScanReport {
    match body.get("plaintext").and_then(Value::as_str) {
        Some(text) => safety::scan_plaintext_message(text),
        None => ScanReport::new(),
    }
}

/// Applies the mode to a report: `Err` with every finding when the request must not be sent.
///
/// # Errors
/// [`AskError::ContentBlocked`] for a blocking finding in [`SafetyMode::Block`].
pub fn enforce(mode: SafetyMode, report: &ScanReport, what: &'static str) -> Result<(), AskError> {
    if report.is_clean() {
        return Ok(());
    }
    let types: Vec<&'static str> = report.flags.iter().map(|f| f.kind.as_str()).collect();
    if report.blocked() && mode == SafetyMode::Block {
        tracing::warn!(request = what, flags = ?types, "content blocked by the safety filter");
        return Err(AskError::ContentBlocked {
            flags: report.flags.iter().map(BlockedFlag::from).collect(),
        });
    }
    tracing::warn!(request = what, flags = ?types, blocked = report.blocked(), "content flagged, forwarded");
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn nested_messages_are_scanned() {
        let body = map(json!({
            "question": "fine",
            "messages": [{"role": "user", "parts": [{"text": "card 4111 1111 1111 1111"}]}],
        }));
        let report = scan_help(&body);
        assert!(report.blocked());
        let AskError::ContentBlocked { flags } =
            enforce(SafetyMode::Block, &report, "help").unwrap_err()
        else {
            panic!("not a content block");
        };
        assert_eq!(flags[0].field.as_deref(), Some("messages[0].parts[0].text"));
        assert!(!format!("{flags:?}").contains("4111"));
        assert!(enforce(SafetyMode::Flag, &report, "help").is_ok());
    }

    #[test]
    fn message_plaintext() {
        let blocked = scan_message(&map(
            json!({"from": "consumer", "plaintext": "123-45-6789"}),
        ));
        assert!(blocked.blocked());
        let url_only = scan_message(&map(json!({"plaintext": "see https://example.com"})));
        assert!(!url_only.blocked() && !url_only.is_clean());
        assert!(enforce(SafetyMode::Block, &url_only, "message").is_ok());
    }
}
