//! The local ask API over HTTP, a thin front end of the ask core ([`crate::ask`]) for the
//! simplest agents: one call that returns the expert's answer, or a "still pending" within
//! 50 s, so no caller's tool-call timeout is ever hit.
//!
//! - `POST /v1/ask` with `{"question", "context"?, "requiresApproval"?, "timeoutSeconds"?,
//!   "encryption"? ("preferred" | "required"), "idempotencyKey"?}` (or an `Idempotency-Key`
//!   header): asks (sealed when the expert has published keys) and waits up to 50 s;
//! - `GET /v1/ask/:requestId?wait=N` keeps waiting, up to `min(N, 50)` seconds.
//!
//! Answers (always 200 unless the request itself failed):
//! - a question: `{"status":"responded","answer","endToEnd","requestId","refCode"}`;
//! - an approval: `{"status":"approved"|"denied","approved":bool,"comment"?,…}` — `approved`
//!   is `true` only for the expert's explicit approval;
//! - still waiting: `{"status":"pending","requestId","refCode","retryAfter":1}`;
//! - ended without an answer: `{"status":"expired"|"closed"|"cancelled",…}`, and after
//!   `timeoutSeconds` `{"status":"timeout",…}`; approvals then carry `"approved":false`.
//!
//! A plaintext `POST /api/v1/help` of an agent without keys goes through the same core
//! ([`create_help`]). Failures are answered as [`Refusal::from`] an [`AskError`] says.

mod body;
mod reply;
#[cfg(test)]
mod tests;

use std::time::Duration;

use heysummon_sdk::wire::{IDEMPOTENCY_KEY_HEADER, RequestId};
use hyper::header::HeaderMap;
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::ask::{AskError, Asker, DEFAULT_WAIT};
use crate::inspect;
use crate::response::Refusal;

use body::{AskBody, HelpBody};

/// The longest one call holds.
const MAX_HOLD: Duration = DEFAULT_WAIT;

/// `POST /v1/ask`, its body read since `started`.
///
/// # Errors
/// A [`Refusal`]: 415 or 400 for a body that is not a JSON object; what the core refused.
pub async fn ask(
    asker: &Asker,
    headers: &HeaderMap,
    body: &[u8],
    started: Instant,
) -> Result<Value, Refusal> {
    let object = inspect::parse_object(headers, body)?;
    let input = AskBody::parse(object, idempotency_key(headers))?
        .with_wait(MAX_HOLD.saturating_sub(started.elapsed()));
    Ok(reply::outcome(&asker.ask(&input).await?))
}

/// `GET /v1/ask/:requestId?wait=N`, received at `started`.
///
/// # Errors
/// 400 for a malformed `wait`; 404 for a request the guard did not create; what the wait
/// failed with.
pub async fn resume(
    asker: &Asker,
    id: &str,
    query: Option<&str>,
    started: Instant,
) -> Result<Value, Refusal> {
    let wait = inspect::query_param(query, "wait")
        .map_or(Ok(MAX_HOLD.as_secs()), str::parse::<u64>)
        .map_err(|_| AskError::InvalidInput("wait must be a number of seconds".into()))?;
    let hold = Duration::from_secs(wait).min(MAX_HOLD.saturating_sub(started.elapsed()));
    Ok(reply::outcome(
        &asker.resume(&RequestId::new(id), hold).await?,
    ))
}

/// A plaintext `POST /api/v1/help` (already checked for safety) of an agent without keys of
/// its own: created by the guard through the core, answered in the server's shape. `None` to
/// forward the body as it is (the agent brought its own keys, or no question).
///
/// # Errors
/// A [`Refusal`] with the member's message, or what creating the request failed with.
pub async fn create_help(
    asker: &Asker,
    headers: &HeaderMap,
    object: &Map<String, Value>,
) -> Result<Option<Value>, Refusal> {
    if crate::e2e::brings_own_crypto(object) {
        return Ok(None);
    }
    let Some(input) = HelpBody::parse(object, idempotency_key(headers))? else {
        return Ok(None);
    };
    Ok(Some(reply::submitted(&asker.submit(&input).await?)))
}

/// The `Idempotency-Key` header, if it is text.
fn idempotency_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
}
