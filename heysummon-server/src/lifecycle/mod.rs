//! The request state machine. Every status transition goes through [`perform`], creation
//! through [`create`]; routes never write a status themselves, and read requests through
//! [`load`], which applies the tenancy rule ([`Viewer`]) and lazy expiry.
//!
//! ```text
//! pending ──review──▶ reviewing ──key exchange──▶ active ──expert message / decision──▶ responded
//!    │ (sealed questions start in active)                                                 │
//!    ├──────────────── expert message / decision (from any live status) ──────────────────┤
//!    ▼                                                                                    ▼
//! expired (TTL, any live status)   cancelled (expert/admin)   acknowledged (notifications)   closed
//! ```
//!
//! `closed`, `expired`, `cancelled` and `acknowledged` are terminal: nothing leaves them.

mod create;
mod load;
mod messages;
mod plan;

use heysummon_sdk::wire::{ApprovalDecision, Status};

pub use create::{Created, Creation, Lifetimes, SealedQuestion, create};
pub use load::{Viewer, expire_if_due, load};
pub use messages::{decision_marker, plaintext_message};
pub use plan::creation_event;

use crate::audit::{Actor, lifecycle_notes};
use crate::clock::Millis;
use crate::store::{ApplyOutcome, Change, MessageRecord, RequestRecord, Store, StoreError};
use plan::{Plan, event, is_live, plan};

/// Something that may change a request.
#[derive(Clone, Debug)]
pub enum Action {
    /// The TTL passed.
    Expire,
    /// An administrator expires a live request now, whatever its TTL.
    ExpireNow,
    /// The assigned expert opened the request.
    Review,
    /// The expert installed per-request keys.
    KeyExchange {
        /// Ed25519 key as sent.
        sign: String,
        /// X25519 key as sent.
        encrypt: String,
    },
    /// A message from the expert, optionally carrying a decision.
    ExpertMessage {
        /// The message row.
        message: MessageRecord,
        /// `approvalDecision` of the message.
        decision: Option<ApprovalDecision>,
    },
    /// A message from the consumer.
    ConsumerMessage {
        /// The message row.
        message: MessageRecord,
    },
    /// `POST /approve`: the decision and its marker message.
    Decide {
        /// The decision.
        decision: ApprovalDecision,
        /// The marker message row.
        marker: MessageRecord,
        /// The expert's signature over the decision and the time it signed (PROTOCOL H4),
        /// checked by the route; `None` for a server-attested decision.
        signed: Option<SignedDecision>,
    },
    /// `POST /close`.
    Close {
        /// The creator's key or the assigned expert.
        by: Actor,
    },
    /// `POST /acknowledge`.
    Acknowledge {
        /// The creator's key or the assigned expert.
        by: Actor,
    },
    /// An expert or administrator cancelled it.
    Cancel {
        /// Who.
        by: Actor,
    },
    /// `POST /help/:id/timeout`.
    ClientTimeout,
    /// `POST /rate`.
    Rate {
        /// 1–5.
        rating: u8,
        /// Optional feedback.
        feedback: Option<String>,
    },
}

/// An expert's signature over its decision (PROTOCOL H4), as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedDecision {
    /// Standard base64 of the Ed25519 signature.
    pub signature: String,
    /// The time in the signed statement.
    pub decided_at: Millis,
}

/// Why an action is not allowed in the request's state. Routes map each to its HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The request is closed or expired (or otherwise terminal).
    Terminal(Status),
    /// Notification requests take no messages.
    NoResponseRequired,
    /// The action does not apply to this kind of request (close on a notification, …).
    NotApplicable,
    /// `/approve` on a request that did not ask for approval.
    NotAnApproval,
    /// A decision exists.
    AlreadyDecided(ApprovalDecision),
    /// Expert keys are installed already.
    KeysAlreadyExchanged,
    /// Only answered requests can be rated.
    NotRateable(Status),
    /// Rated already.
    AlreadyRated(u8),
    /// The client reported a timeout already.
    AlreadyTimedOut,
}

/// What [`perform`] did.
#[derive(Clone, Debug)]
pub enum Performed {
    /// The request changed; this is it now. `previous` is the status before.
    Changed {
        /// The request after the step.
        request: Box<RequestRecord>,
        /// The status before the step.
        previous: Status,
    },
    /// Nothing needed changing (an idempotent repeat); the request as it is.
    Unchanged(Box<RequestRecord>),
    /// The message id was used before on this request; nothing happened.
    DuplicateMessage,
}

impl Performed {
    /// The request after the step, unless the message was a duplicate.
    pub fn request(&self) -> Option<&RequestRecord> {
        match self {
            Self::Changed { request, .. } | Self::Unchanged(request) => Some(request),
            Self::DuplicateMessage => None,
        }
    }
}

/// A lifecycle failure: a refusal, or the store.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The action is not allowed now.
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Performs an action on a request: plans it against the current row and applies it
/// atomically, re-reading and re-planning when the row changed in between. Writers of this
/// process take turns on a request, so only another instance's write can force a re-plan.
pub async fn perform(
    store: &Store,
    request: RequestRecord,
    action: Action,
    now: Millis,
) -> Result<Performed, LifecycleError> {
    let turn = store.take_turn(&request.id).await;
    // Another writer went first: what the caller read is stale, read it again. (Otherwise a
    // stale read, from another instance, costs one conflict and a re-read below.)
    let request = if turn.waited() {
        store.request(&request.id).await?.unwrap_or(request)
    } else {
        request
    };
    perform_in_turn(store, request, action, now).await
}

/// The kind of a request, as metrics label it.
pub(crate) fn kind_label(request: &RequestRecord) -> &'static str {
    if !request.response_required {
        "notification"
    } else if request.requires_approval {
        "approval"
    } else {
        "question"
    }
}

/// Records what a step changed for the metrics: a final status, a first response.
fn observe(before: &RequestRecord, after: &RequestRecord) {
    if after.status.is_terminal() && !before.status.is_terminal() {
        crate::telemetry::request_finished(kind_label(after), after.status.as_str());
    }
    if let (None, Some(responded)) = (before.responded_at, after.responded_at) {
        let millis = u64::try_from(responded.saturating_sub(after.created_at)).unwrap_or(0);
        crate::telemetry::first_response(std::time::Duration::from_millis(millis));
    }
}

/// [`perform`], for a writer holding the request's turn.
async fn perform_in_turn(
    store: &Store,
    request: RequestRecord,
    action: Action,
    now: Millis,
) -> Result<Performed, LifecycleError> {
    let mut current = request;
    for _ in 0..8 {
        // An action on a request whose TTL passed acts on the expired request.
        if !matches!(action, Action::Expire | Action::ExpireNow)
            && is_live(&current.status)
            && current.expires_at <= now
            && let Performed::Changed { request, .. } =
                Box::pin(perform_in_turn(store, current.clone(), Action::Expire, now)).await?
        {
            current = *request;
        }
        let (patch, message, events) =
            match plan(&current, &action, now).map_err(LifecycleError::Refused)? {
                Plan::Nothing => return Ok(Performed::Unchanged(Box::new(current))),
                Plan::Apply {
                    patch,
                    message,
                    events,
                } => (patch, message, events),
            };
        let events = events
            .into_iter()
            .map(|spec| event(&current, &patch, spec, now))
            .collect();
        let audit = lifecycle_notes(&current, &action, &patch, now);
        let change = Change {
            request_id: current.id.clone(),
            expected_status: current.status.clone(),
            expected_version: current.version,
            patch,
            message,
            events,
            audit,
            at: now,
        };
        match store.apply(change).await {
            Ok(ApplyOutcome::Applied(request)) => {
                observe(&current, &request);
                return Ok(Performed::Changed {
                    request,
                    previous: current.status,
                });
            }
            Ok(ApplyOutcome::DuplicateMessage) => return Ok(Performed::DuplicateMessage),
            Err(StoreError::Conflict) => {
                current = store
                    .request(&current.id)
                    .await?
                    .ok_or(StoreError::Conflict)?;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

#[cfg(test)]
mod tests;
