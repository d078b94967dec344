//! The local ask API for the simplest agents: one call that returns the expert's answer, or a
//! "still pending" within 50 s, so no caller's tool-call timeout is ever hit.
//!
//! - `POST /v1/ask` with `{"question", "context"?, "requiresApproval"?, "timeoutSeconds"?,
//!   "idempotencyKey"?}` (or an `Idempotency-Key` header): asks (sealed when the expert has
//!   published keys) and waits up to 50 s;
//! - `GET /v1/ask/:requestId?wait=N` keeps waiting, up to `min(N, 50)` seconds.
//!
//! Answers (always 200 unless the request itself failed):
//! - a question: `{"status":"responded","answer","endToEnd","requestId","refCode"}`;
//! - an approval: `{"status":"approved"|"denied","approved":bool,"comment"?,…}` — `approved`
//!   is `true` only for the expert's explicit approval;
//! - still waiting: `{"status":"pending","requestId","refCode","retryAfter":1}`;
//! - ended without an answer: `{"status":"expired"|"closed"|"cancelled",…}`, and after
//!   `timeoutSeconds` `{"status":"timeout",…}`; approvals then carry `"approved":false`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use heysummon_sdk::client::{AskOptions, Conversation, WaitOptions};
use heysummon_sdk::keystore::RequestKind;
use heysummon_sdk::wire::{MAX_WAIT_SECS, RequestId};
use hyper::StatusCode;
use hyper::header::HeaderMap;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::config::SafetyMode;
use crate::e2e::{E2e, refusal};
use crate::response::Refusal;
use crate::{inspect, safety};

/// The longest one call takes.
const MAX_HOLD: Duration = Duration::from_secs(MAX_WAIT_SECS);
/// The longest `timeoutSeconds` accepted (a year).
const MAX_TIMEOUT_SECS: u64 = 365 * 24 * 60 * 60;
/// How long reading an answer that is already there may take.
const READ_ANSWER: Duration = Duration::from_secs(10);

/// The ask API's state: the callers' overall deadlines (`timeoutSeconds`), by request.
#[derive(Debug, Default)]
pub struct AskApi {
    deadlines: Mutex<HashMap<RequestId, Instant>>,
}

impl AskApi {
    /// `POST /v1/ask`.
    ///
    /// # Errors
    /// A [`Refusal`]: 400 for a malformed body, 422 for blocked content, or what creating the
    /// request failed with.
    pub async fn ask(
        &self,
        e2e: &E2e,
        mode: SafetyMode,
        headers: &HeaderMap,
        body: &Bytes,
        started: Instant,
    ) -> Result<Value, Refusal> {
        let object = inspect::parse_object(headers, body)?;
        let question = match object.get("question") {
            Some(Value::String(q)) if !q.trim().is_empty() => q.clone(),
            _ => return Err(bad("question is required")),
        };
        let context = match object.get("context").or_else(|| object.get("messages")) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(_) => return Err(bad("context must be an array")),
        };
        let approval = match object.get("requiresApproval") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => return Err(bad("requiresApproval must be a boolean")),
        };
        let deadline = match object.get("timeoutSeconds") {
            None | Some(Value::Null) => None,
            Some(value) => {
                let secs = value
                    .as_u64()
                    .filter(|secs| (1..=MAX_TIMEOUT_SECS).contains(secs))
                    .ok_or_else(|| bad("timeoutSeconds must be an integer from 1 to 31536000"))?;
                Some(
                    started
                        .checked_add(Duration::from_secs(secs))
                        .ok_or_else(|| bad("timeoutSeconds is too large"))?,
                )
            }
        };
        let mut scanned = Map::new();
        scanned.insert("question".into(), Value::String(question.clone()));
        scanned.insert("messages".into(), Value::Array(context.clone()));
        safety::enforce(mode, &safety::scan_help(&scanned), "ask")?;

        let mut options = AskOptions::new().with_context(context);
        let idempotency = object
            .get("idempotencyKey")
            .and_then(Value::as_str)
            .or_else(|| headers.get("idempotency-key").and_then(|v| v.to_str().ok()));
        if let Some(key) = idempotency {
            options = options.with_idempotency_key(key);
        }
        let client = e2e.client();
        let conversation = if approval {
            client.submit_approval(question, &options).await
        } else {
            client.submit(question, &options).await
        }
        .map_err(refusal)?;
        if let Some(deadline) = deadline {
            self.lock()
                .insert(conversation.request_id().clone(), deadline);
        }
        // Creating the request counts against the 50 s too.
        self.wait(&conversation, MAX_HOLD.saturating_sub(started.elapsed()))
            .await
    }

    /// `GET /v1/ask/:requestId?wait=N`.
    ///
    /// # Errors
    /// 404 for a request the guard did not create; what the wait failed with.
    pub async fn resume(
        &self,
        e2e: &E2e,
        id: &str,
        query: Option<&str>,
        started: Instant,
    ) -> Result<Value, Refusal> {
        let id = RequestId::new(id);
        let conversation = e2e
            .lookup(&id)?
            .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "Request not found"))?;
        let wait = inspect::query_param(query, "wait")
            .map_or(Ok(MAX_HOLD.as_secs()), str::parse::<u64>)
            .map_err(|_| bad("wait must be a number of seconds"))?;
        let hold = Duration::from_secs(wait).min(MAX_HOLD.saturating_sub(started.elapsed()));
        self.wait(&conversation, hold).await
    }

    /// Waits up to `hold` (and never past the caller's deadline) and says where things stand.
    async fn wait(&self, conversation: &Conversation, hold: Duration) -> Result<Value, Refusal> {
        let approval = conversation.kind() == RequestKind::Approval;
        let deadline = self.lock().get(conversation.request_id()).copied();
        let hold = match deadline {
            Some(at) => hold.min(at.saturating_duration_since(Instant::now())),
            None => hold,
        };
        // No time to wait: one look, so an answer that is already there is not reported as
        // pending (or, past the caller's deadline, as a timeout).
        let hold = if hold.is_zero() {
            let status = conversation.status().await.map_err(refusal)?;
            let done = if approval {
                status.approval_decision.is_some() || status.status.is_terminal()
            } else {
                !status.status.is_waiting()
            };
            if done { READ_ANSWER } else { Duration::ZERO }
        } else {
            hold
        };
        let mut answer = json!({
            "requestId": conversation.request_id(),
            "refCode": conversation.ref_code(),
        });
        let waited = if hold.is_zero() {
            Err(heysummon_sdk::Error::Timeout {
                waited: Duration::ZERO,
            })
        } else if approval {
            let wait = WaitOptions::new().with_timeout(hold);
            conversation.decision(wait).await.map(|approval| {
                json!({
                    "status": approval.decision.as_str(),
                    "approved": approval.is_approved(),
                    "comment": approval.comment,
                })
            })
        } else {
            let wait = WaitOptions::new().with_timeout(hold);
            conversation.answer(wait).await.map(|answer| {
                json!({
                    "status": "responded",
                    "answer": answer.text,
                    "endToEnd": answer.end_to_end,
                })
            })
        };
        let outcome = match waited {
            Ok(outcome) => outcome,
            Err(heysummon_sdk::Error::Timeout { .. }) => {
                let timed_out = deadline.is_some_and(|at| Instant::now() >= at);
                if timed_out {
                    json!({ "status": "timeout" })
                } else {
                    json!({ "status": "pending", "retryAfter": 1 })
                }
            }
            Err(heysummon_sdk::Error::RequestEnded { status }) => json!({ "status": status }),
            Err(error) => return Err(refusal(error)),
        };
        if let (Value::Object(answer), Value::Object(outcome)) = (&mut answer, outcome) {
            answer.extend(outcome);
            // Fail closed: anything but an explicit approval is not approved.
            if approval {
                let approved = answer.get("status") == Some(&Value::from("approved"));
                answer.insert("approved".into(), Value::Bool(approved));
            }
            answer.retain(|_, value| !value.is_null());
        }
        let status = answer.get("status").and_then(Value::as_str);
        if !matches!(status, Some("pending" | "timeout")) {
            // A final answer: the caller's deadline is no longer needed. (After a timeout it
            // stays, so that a later call never turns the timed-out approval into a decision.)
            self.lock().remove(conversation.request_id());
        }
        Ok(answer)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RequestId, Instant>> {
        self.deadlines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn bad(details: &str) -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, "Validation failed").with("details", json!(details))
}
