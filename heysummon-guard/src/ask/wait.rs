//! Waiting on a request for at most one call's hold, and saying where it stands: the callers'
//! overall [`Deadlines`], and the fail-closed reading of what a wait heard.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use heysummon_sdk::client::{Conversation, WaitOptions};
use heysummon_sdk::keystore::RequestKind;
use heysummon_sdk::wire::{ApprovalDecision, RequestId, Status};
use tokio::time::Instant;

use super::{AskError, AskKind, AskOutcome, Ticket};

/// How long reading an answer that is already there may take.
const READ_ANSWER: Duration = Duration::from_secs(10);
/// When a pending caller should look again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The callers' overall deadlines ([`super::AskInput::timeout`]), by request. Cheap to clone;
/// the clones share, so every asker serving the same agents sees every deadline.
///
/// A deadline stays after a timeout, so that a later resume never turns a timed-out approval
/// into a decision; it goes once the request has a final outcome.
#[derive(Clone, Debug, Default)]
pub struct Deadlines {
    by_request: Arc<Mutex<HashMap<RequestId, Instant>>>,
}

impl Deadlines {
    /// No deadlines.
    pub fn new() -> Self {
        Self::default()
    }

    /// The caller's deadline for `id`, if it set one.
    pub fn get(&self, id: &RequestId) -> Option<Instant> {
        self.lock().get(id).copied()
    }

    pub(crate) fn set(&self, id: RequestId, at: Instant) {
        self.lock().insert(id, at);
    }

    fn clear(&self, id: &RequestId) {
        self.lock().remove(id);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<RequestId, Instant>> {
        self.by_request
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What one wait heard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Heard {
    /// The expert's answer to a question.
    Answer { text: String, end_to_end: bool },
    /// The expert's decision on an approval.
    Decision {
        decision: ApprovalDecision,
        comment: Option<String>,
    },
    /// No final status within the hold.
    Nothing,
    /// The request ended without what was waited for.
    Ended(Status),
}

impl Heard {
    /// A wait's result: "no final status yet" and "ended unanswered" are things heard, not
    /// errors; any other error stays one (and so is never an approval).
    fn from_result<T>(
        result: Result<T, heysummon_sdk::Error>,
        heard: impl FnOnce(T) -> Self,
    ) -> Result<Self, AskError> {
        match result {
            Ok(value) => Ok(heard(value)),
            Err(heysummon_sdk::Error::Timeout { .. }) => Ok(Self::Nothing),
            Err(heysummon_sdk::Error::RequestEnded { status }) => Ok(Self::Ended(status)),
            Err(error) => Err(error.into()),
        }
    }
}

/// Where the request stands, from what was heard. Only an explicit approval of an approval
/// request approves; `timed_out` says whether the caller's overall deadline has passed.
pub(crate) fn outcome(ticket: Ticket, heard: Heard, timed_out: bool) -> AskOutcome {
    match heard {
        Heard::Answer { text, end_to_end } => AskOutcome::Answered {
            ticket,
            text,
            end_to_end,
        },
        Heard::Decision { decision, comment } if ticket.kind == AskKind::Approval => {
            AskOutcome::decided(ticket, decision, comment)
        }
        // A decision on something that was not an approval request approves nothing.
        Heard::Decision { comment, .. } => AskOutcome::Denied { ticket, comment },
        Heard::Nothing if timed_out => AskOutcome::Timeout { ticket },
        Heard::Nothing => AskOutcome::Pending {
            ticket,
            retry_after: RETRY_AFTER,
        },
        Heard::Ended(status) => AskOutcome::Ended { ticket, status },
    }
}

/// The ticket of a conversation.
pub(crate) fn ticket(conversation: &Conversation) -> Ticket {
    let kind = match conversation.kind() {
        RequestKind::Approval => AskKind::Approval,
        RequestKind::Notification => AskKind::Notification,
        _ => AskKind::Question,
    };
    Ticket::new(
        conversation.request_id().clone(),
        conversation.ref_code().clone(),
        kind,
    )
}

/// Waits up to `hold`, never past the caller's deadline, and says where the request stands.
///
/// # Cancel safety
/// Cancel-safe: it only reads (and forgets a deadline once the outcome is final).
pub(crate) async fn wait(
    conversation: &Conversation,
    deadlines: &Deadlines,
    hold: Duration,
) -> Result<AskOutcome, AskError> {
    let ticket = ticket(conversation);
    let approval = ticket.kind == AskKind::Approval;
    let deadline = deadlines.get(&ticket.request_id);
    // An approval that timed out for its caller stays timed out: a decision made after the
    // caller gave up is not acted on.
    if approval && deadline.is_some_and(|at| Instant::now() >= at) {
        return Ok(outcome(ticket, Heard::Nothing, true));
    }
    let hold = match deadline {
        Some(at) => hold.min(at.saturating_duration_since(Instant::now())),
        None => hold,
    };
    // No time to wait: one look, so that an answer that is already there is not reported as
    // pending (or, past the caller's deadline, as a timeout).
    let hold = if hold.is_zero() {
        let status = conversation.status().await?;
        let done = if approval {
            status.approval_decision.is_some() || status.status.is_terminal()
        } else {
            !status.status.is_waiting()
        };
        if done { READ_ANSWER } else { Duration::ZERO }
    } else {
        hold
    };
    let options = WaitOptions::new().with_timeout(hold);
    let heard = if hold.is_zero() {
        Heard::Nothing
    } else if approval {
        Heard::from_result(conversation.decision(options).await, |approval| {
            Heard::Decision {
                decision: approval.decision,
                comment: approval.comment,
            }
        })?
    } else {
        Heard::from_result(conversation.answer(options).await, |answer| Heard::Answer {
            text: answer.text,
            end_to_end: answer.end_to_end,
        })?
    };
    let timed_out = deadline.is_some_and(|at| Instant::now() >= at);
    let outcome = outcome(ticket, heard, timed_out);
    if !outcome.is_open() {
        deadlines.clear(&outcome.ticket().request_id);
    }
    Ok(outcome)
}
