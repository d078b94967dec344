//! What each tool takes: the input schemas a model reads (field descriptions included), and
//! their translation into the ask core's [`AskInput`].

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use heysummon_sdk::signing::sha256_hex;
use heysummon_sdk::wire::MAX_IDEMPOTENCY_KEY_LEN;

use crate::ask::{AskInput, AskKind};

/// `ask_human`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AskHuman {
    /// The question for the human expert, self-contained: they see only this and the context,
    /// not your conversation. Say what you need decided and what the options are.
    pub question: String,
    /// Background the expert needs to answer (what you are doing, what you tried, relevant
    /// file names or error messages). Plain text.
    #[serde(default)]
    pub context: Option<String>,
    /// Give up after this many seconds in all (from 1 to 31536000). Without it the request
    /// stays open until the server expires it. This is not how long this call blocks: a call
    /// returns within 45 seconds, "pending" if there is no answer yet.
    #[serde(default)]
    #[schemars(range(min = 1, max = 31_536_000))]
    pub timeout_seconds: Option<u64>,
}

/// `await_human`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwaitHuman {
    /// The `request_id` a pending result of `ask_human`, `request_approval` or
    /// `approval_prompt` returned.
    pub request_id: String,
    /// How long to wait for the answer in this call, in seconds (at most 45, the default).
    #[serde(default)]
    #[schemars(range(min = 0, max = 45))]
    pub wait_seconds: Option<u64>,
}

/// `request_approval`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestApproval {
    /// The action you want to take, stated exactly as you will perform it (the command, the
    /// query, the recipients and amount). The expert approves or denies this text.
    pub action: String,
    /// Why the action is needed, what it affects and how to undo it. Plain text.
    #[serde(default)]
    pub details: Option<String>,
    /// Give up after this many seconds in all (from 1 to 31536000); the result is then
    /// "timeout", which never means approved.
    #[serde(default)]
    #[schemars(range(min = 1, max = 31_536_000))]
    pub timeout_seconds: Option<u64>,
}

/// `notify_human`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyHuman {
    /// What the expert should know (a finished task, a problem worked around). Nobody
    /// answers a notification; ask with `ask_human` when you need an answer.
    pub message: String,
}

/// `approval_prompt`: what a coding agent's permission-prompt hook sends.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ApprovalPrompt {
    /// The name of the tool the agent wants to call.
    pub tool_name: String,
    /// The tool's input, as the agent would call it.
    #[serde(default = "empty_object")]
    pub input: Value,
    /// The id of the tool call. The same id always maps to the same request, so a retried
    /// call never pages the expert twice and returns the decision once it is made.
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// The longest overall timeout the tools accept, in seconds (a year).
const MAX_TIMEOUT_SECONDS: u64 = 365 * 24 * 60 * 60;

impl AskHuman {
    /// The core's input.
    pub(crate) fn input(self) -> AskInput {
        with_timeout(
            AskInput::question(self.question).with_context(context(self.context)),
            self.timeout_seconds,
        )
    }
}

impl RequestApproval {
    /// The core's input.
    pub(crate) fn input(self) -> AskInput {
        with_timeout(
            AskInput::approval(self.action).with_context(context(self.details)),
            self.timeout_seconds,
        )
    }
}

impl NotifyHuman {
    /// The core's input.
    pub(crate) fn input(self) -> AskInput {
        AskInput::notification(self.message)
    }
}

impl ApprovalPrompt {
    /// The core's input: an approval of the tool call, shown to the expert as the tool's name
    /// and its input, idempotent per tool call id.
    pub(crate) fn input(&self) -> AskInput {
        let input = serde_json::to_string_pretty(&self.input).unwrap_or_default();
        let action = format!(
            "Allow the tool call {} with this input?\n{input}",
            self.tool_name
        );
        let mut ask = AskInput::new(AskKind::Approval, action)
            .with_context(vec![json!({
                "role": "assistant",
                "content": format!("Permission prompt of a coding agent for the tool {}", self.tool_name),
            })])
            // The expert's signed decision covers exactly this call (PROTOCOL H4).
            .with_action(json!({ "tool": self.tool_name, "input": self.input }));
        if let Some(id) = self
            .tool_use_id
            .as_deref()
            .filter(|id| !id.trim().is_empty())
        {
            ask = ask.with_idempotency_key(idempotency_key(id, &self.tool_name, &input));
        }
        ask
    }
}

/// The idempotency key of a tool call: its id and a digest of what it asks to run, so the same
/// call retried maps to the same request while the same id with another tool or input (which
/// must never inherit an approval) is a request of its own. Hashed as a whole when longer than
/// the server accepts (255 characters).
fn idempotency_key(tool_use_id: &str, tool_name: &str, input: &str) -> String {
    let digest = sha256_hex(format!("{tool_name}\n{input}").as_bytes());
    let key = format!("mcp-tool-use:{tool_use_id}:{digest}");
    if key.chars().count() <= MAX_IDEMPOTENCY_KEY_LEN {
        return key;
    }
    format!("mcp-tool-use:sha256:{}", sha256_hex(key.as_bytes()))
}

/// Free-text context as the one context item the dashboard shows.
fn context(text: Option<String>) -> Vec<Value> {
    text.filter(|text| !text.trim().is_empty())
        .map(|text| vec![json!({ "role": "assistant", "content": text })])
        .unwrap_or_default()
}

/// Sets the overall timeout; an out-of-range value is left for [`AskInput::validate`] to
/// refuse with its message.
fn with_timeout(input: AskInput, seconds: Option<u64>) -> AskInput {
    match seconds {
        Some(seconds) => {
            input.with_timeout(Duration::from_secs(seconds.min(MAX_TIMEOUT_SECONDS + 1)))
        }
        None => input,
    }
}
