//! Where an ask stands: [`AskOutcome`], and what a submission returns ([`Submitted`]).

use std::time::Duration;

use heysummon_sdk::wire::{ApprovalDecision, RefCode, RequestId, Status, Timestamp};

use super::AskKind;

/// The request an outcome is about: what to resume it with, and what to tell a person.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ticket {
    /// The request's id: resume with it ([`super::Asker::resume`]).
    pub request_id: RequestId,
    /// Its reference code, for people (`HS-…`).
    pub ref_code: RefCode,
    /// What kind of request it is.
    pub kind: AskKind,
}

impl Ticket {
    /// A ticket.
    pub fn new(request_id: RequestId, ref_code: RefCode, kind: AskKind) -> Self {
        Self {
            request_id,
            ref_code,
            kind,
        }
    }
}

/// Where an ask stands after one call.
///
/// Approvals fail closed: only [`AskOutcome::Approved`] means approved, and it is only ever made
/// from the expert's explicit decision; a timeout, an expiry, a cancellation or an error never is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AskOutcome {
    /// The expert answered the question.
    Answered {
        /// The request.
        ticket: Ticket,
        /// The answer (the expert's latest message).
        text: String,
        /// Whether it came end-to-end encrypted and signed by the expert's key.
        end_to_end: bool,
    },
    /// The expert explicitly approved.
    Approved {
        /// The request.
        ticket: Ticket,
        /// The expert's latest message, if it wrote one.
        comment: Option<String>,
    },
    /// The expert denied.
    Denied {
        /// The request.
        ticket: Ticket,
        /// The expert's latest message, if it wrote one.
        comment: Option<String>,
    },
    /// Still waiting after this call's wait: resume with the ticket's request id.
    Pending {
        /// The request.
        ticket: Ticket,
        /// When asking again is worthwhile.
        retry_after: Duration,
    },
    /// The caller's overall timeout passed without an answer; later resumes say so too.
    Timeout {
        /// The request.
        ticket: Ticket,
    },
    /// The request ended without an answer: it expired, or was closed or cancelled.
    Ended {
        /// The request.
        ticket: Ticket,
        /// The final status.
        status: Status,
    },
    /// The notification was delivered to the server; nobody answers it.
    Notified {
        /// The request.
        ticket: Ticket,
    },
}

impl AskOutcome {
    /// An approval's or a denial's outcome. Anything but [`ApprovalDecision::Approved`] denies.
    pub fn decided(ticket: Ticket, decision: ApprovalDecision, comment: Option<String>) -> Self {
        match decision {
            ApprovalDecision::Approved => Self::Approved { ticket, comment },
            _ => Self::Denied { ticket, comment },
        }
    }

    /// The request the outcome is about.
    pub fn ticket(&self) -> &Ticket {
        match self {
            Self::Answered { ticket, .. }
            | Self::Approved { ticket, .. }
            | Self::Denied { ticket, .. }
            | Self::Pending { ticket, .. }
            | Self::Timeout { ticket }
            | Self::Ended { ticket, .. }
            | Self::Notified { ticket } => ticket,
        }
    }

    /// `true` only for the expert's explicit approval.
    pub fn is_approved(&self) -> bool {
        matches!(self, Self::Approved { .. })
    }

    /// Whether more may come: [`AskOutcome::Pending`], and [`AskOutcome::Timeout`] for the
    /// request itself (the caller gave up, the expert may not have).
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Pending { .. } | Self::Timeout { .. })
    }
}

/// A request created without waiting ([`super::Asker::submit`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Submitted {
    /// The request.
    pub ticket: Ticket,
    /// Whether the question was sealed to the expert's key (the server cannot read it).
    pub sealed: bool,
    /// When the request expires, as the server said.
    pub expires_at: Option<Timestamp>,
}
