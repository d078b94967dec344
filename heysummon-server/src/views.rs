//! How stored records are shown on the wire, the same for the API and the command line.

use heysummon_sdk::wire::{RefCode, RequestId, RequestSummary};

use crate::clock::timestamp;
use crate::store::RequestRecord;

/// The list item of a request; the plaintext question only when `with_question` (never for
/// sealed requests, whose question the server does not have). `None` for a corrupt row.
pub fn request_summary(r: &RequestRecord, with_question: bool) -> Option<RequestSummary> {
    Some(RequestSummary {
        id: RequestId::new(&r.id),
        ref_code: RefCode::parse(&r.ref_code)?,
        status: r.status.clone(),
        requires_approval: r.requires_approval,
        approval_decision: r.approval_decision,
        response_required: r.response_required,
        expires_at: timestamp(r.expires_at),
        message_count: r.message_count,
        created_at: timestamp(r.created_at),
        question: r.question.clone().filter(|_| with_question),
        responded_at: r.responded_at.map(timestamp),
        acknowledged_at: r.acknowledged_at.map(timestamp),
        closed_at: r.closed_at.map(timestamp),
    })
}
