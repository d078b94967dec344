//! What the tools answer: an [`AskOutcome`] or an [`AskError`] as a tool result with both a
//! text for the model and `structuredContent` (`status`, `request_id`, `ref_code`, and the
//! answer when there is one), and the permission-prompt decision of `approval_prompt`.
//!
//! Statuses: `answered`, `approved`, `denied`, `pending`, `timeout`. A request that ended
//! without an answer (expired, closed, cancelled) is a `timeout` with its `reason`. Approvals
//! fail closed: only the expert's explicit approval is `approved`.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

use crate::ask::{AskError, AskKind, AskOutcome};

/// A tool result from an outcome.
pub(crate) fn outcome(outcome: &AskOutcome) -> CallToolResult {
    let ticket = outcome.ticket();
    let reference = ticket.ref_code.as_str();
    let mut fields = Map::new();
    fields.insert("request_id".into(), json!(ticket.request_id));
    fields.insert("ref_code".into(), json!(ticket.ref_code));
    let approval = ticket.kind == AskKind::Approval;
    let (status, text) = match outcome {
        AskOutcome::Answered {
            text, end_to_end, ..
        } => {
            fields.insert("answer".into(), json!(text));
            fields.insert("end_to_end".into(), json!(end_to_end));
            (
                "answered",
                format!("The human expert answered ({reference}):\n{text}"),
            )
        }
        AskOutcome::Approved { comment, .. } => {
            insert_comment(&mut fields, comment.as_deref());
            let text = format!(
                "APPROVED by the human expert ({reference}). You may perform exactly the action you asked about.{}",
                comment_line(comment.as_deref())
            );
            ("approved", text)
        }
        AskOutcome::Denied { comment, .. } => {
            insert_comment(&mut fields, comment.as_deref());
            let text = format!(
                "DENIED by the human expert ({reference}). Do not perform the action.{}",
                comment_line(comment.as_deref())
            );
            ("denied", text)
        }
        AskOutcome::Pending { retry_after, .. } => {
            fields.insert(
                "retry_after_seconds".into(),
                json!(retry_after.as_secs().max(1)),
            );
            let text = format!(
                "No answer from the human expert yet ({reference}). Call await_human with request_id \"{}\" to keep waiting{}.",
                ticket.request_id,
                if approval {
                    "; until then the action is NOT approved"
                } else {
                    ""
                }
            );
            ("pending", text)
        }
        AskOutcome::Timeout { .. } => (
            "timeout",
            timed_out(reference, approval, "the timeout passed"),
        ),
        AskOutcome::Ended { status, .. } => {
            fields.insert("reason".into(), json!(status.as_str()));
            let why = format!("the request was {}", status.as_str());
            ("timeout", timed_out(reference, approval, &why))
        }
        AskOutcome::Notified { .. } => {
            let text = format!("The human expert was notified ({reference}).");
            return result(text, Value::Object(fields), false);
        }
    };
    fields.insert("status".into(), json!(status));
    result(text, Value::Object(fields), false)
}

/// A tool error from a failed ask: nothing in it ever means approved.
pub(crate) fn error(error: &AskError, approval: bool) -> CallToolResult {
    if matches!(error, AskError::KeyStore(_) | AskError::Failed(_)) {
        tracing::warn!(%error, "an MCP tool call failed");
    }
    let (code, message) = describe(error);
    let mut text = format!("Could not reach a human: {message}");
    if approval {
        text.push_str(" The action is NOT approved.");
    }
    result(
        text,
        json!({ "status": "error", "error": code, "message": message }),
        true,
    )
}

/// `approval_prompt`'s answer: `{"behavior":"allow","updatedInput"}` only on the expert's
/// explicit approval, else `{"behavior":"deny","message"}`. The text is exactly that JSON,
/// as permission-prompt hooks read it; `structuredContent` adds the status and the request.
pub(crate) fn permission(outcome: Result<&AskOutcome, &AskError>, input: &Value) -> CallToolResult {
    let decision = match outcome {
        Ok(AskOutcome::Approved { .. }) => json!({ "behavior": "allow", "updatedInput": input }),
        Ok(outcome) => json!({ "behavior": "deny", "message": deny_message(outcome) }),
        Err(error) => json!({
            "behavior": "deny",
            "message": format!("Not approved: could not reach a human ({}).", describe(error).1),
        }),
    };
    let text = decision.to_string();
    let mut structured = decision;
    if let (Value::Object(map), Ok(outcome)) = (&mut structured, outcome) {
        let ticket = outcome.ticket();
        let status = match outcome {
            AskOutcome::Approved { .. } => "approved",
            AskOutcome::Denied { .. } => "denied",
            AskOutcome::Pending { .. } => "pending",
            _ => "timeout",
        };
        map.insert("status".into(), json!(status));
        map.insert("request_id".into(), json!(ticket.request_id));
        map.insert("ref_code".into(), json!(ticket.ref_code));
    }
    result(text, structured, false)
}

fn deny_message(outcome: &AskOutcome) -> String {
    let reference = outcome.ticket().ref_code.as_str();
    match outcome {
        AskOutcome::Denied { comment, .. } => format!(
            "Denied by the human expert ({reference}).{}",
            comment_line(comment.as_deref())
        ),
        AskOutcome::Pending { .. } => format!(
            "Not approved yet: the human expert has not decided ({reference}). Ask again with the same tool_use_id to get the decision once it is made."
        ),
        AskOutcome::Ended { status, .. } => {
            format!(
                "Not approved: the request was {} ({reference}).",
                status.as_str()
            )
        }
        _ => format!("Not approved: no decision in time ({reference})."),
    }
}

fn timed_out(reference: &str, approval: bool, why: &str) -> String {
    let mut text = format!("No answer from the human expert: {why} ({reference}).");
    if approval {
        text.push_str(" The action is NOT approved.");
    }
    text
}

fn insert_comment(fields: &mut Map<String, Value>, comment: Option<&str>) {
    if let Some(comment) = comment {
        fields.insert("comment".into(), json!(comment));
    }
}

fn comment_line(comment: Option<&str>) -> String {
    comment.map_or_else(String::new, |comment| {
        format!("\nThe expert's comment: {comment}")
    })
}

/// A short code and a sentence for an error, never a secret.
fn describe(error: &AskError) -> (&'static str, String) {
    match error {
        AskError::InvalidInput(why) => ("invalid_input", why.clone()),
        AskError::ContentBlocked { .. } => (
            "content_blocked",
            "the text contains data the safety rules refuse (a card or social security number); nothing was sent".into(),
        ),
        AskError::NotFound => ("not_found", "no such request was made here".into()),
        AskError::DecisionUnverified(_) => ("decision_unverified", error.to_string()),
        AskError::Unauthorized { status, .. } => (
            "unauthorized",
            format!("the HeySummon server refused the credentials (HTTP {status})"),
        ),
        error if error.is_configuration() => ("configuration", error.to_string()),
        error if error.is_retryable() => ("unavailable", format!("{error}; try again later")),
        error => ("failed", error.to_string()),
    }
}

fn result(text: String, structured: Value, is_error: bool) -> CallToolResult {
    let mut result = if is_error {
        CallToolResult::error(vec![ContentBlock::text(text)])
    } else {
        CallToolResult::success(vec![ContentBlock::text(text)])
    };
    result.structured_content = Some(structured);
    result
}
