//! Decisions only the expert can make (PROTOCOL H4), on the server's side: the action an
//! approval request carries, and the check of an expert's signed decision before it is stored.
//!
//! The server checks a signature only so that it never stores one that cannot verify; an agent
//! trusts none of this and verifies the signature itself, against the expert key it pinned, for
//! the action it asked about.

use heysummon_sdk::decision::{DecisionStatement, action_hash, is_action_hash};
use heysummon_sdk::keys::SignPublicKey;
use heysummon_sdk::wire::{ApprovalDecision, ApproveRequest, CreateHelpRequest};
use serde_json::json;

use crate::clock::Millis;
use crate::error::{ApiError, ApiResult};
use crate::lifecycle::SignedDecision;
use crate::store::{ExpertRecord, RequestRecord};

/// How far a signed decision's time may be from the server's.
const MAX_DECISION_SKEW_MS: u64 = 10 * 60 * 1000;

/// Whether an unsigned decision may be taken: not an approval that the expert could sign and
/// the agent will check (the expert published keys, and the request is sealed or names an
/// action). Taking it would spend the request's one decision on an approval the agent refuses;
/// a denial is always taken (acting on it is safe).
pub(crate) fn unsigned(
    expert: &ExpertRecord,
    request: &RequestRecord,
    decision: ApprovalDecision,
) -> ApiResult<()> {
    let signable =
        expert.sign_public_key.is_some() && (request.sealed || request.action_hash.is_some());
    if signable && decision == ApprovalDecision::Approved {
        return Err(ApiError::bad_request(
            "This approval must be signed with the expert's key: approve it in the dashboard or \
             with ExpertClient",
        )
        .code("DECISION_SIGNATURE_REQUIRED"));
    }
    Ok(())
}

/// The longest action, in bytes of its JSON.
pub(crate) const MAX_ACTION_BYTES: usize = 64 * 1024;

/// The action of a new request as stored, and its hash: only on approval requests; the JSON
/// (at most [`MAX_ACTION_BYTES`]) for a plaintext request, only its hash for a sealed one, whose
/// action is inside the sealed question.
pub(crate) fn action_of(body: &CreateHelpRequest) -> ApiResult<(Option<String>, Option<String>)> {
    let invalid = |details: &str| {
        ApiError::bad_request("Validation failed").member("details", json!(details))
    };
    let sealed = body.sealed_question.is_some();
    match (&body.action, &body.action_hash) {
        (None, None) => Ok((None, None)),
        _ if !body.approval_requested() => Err(invalid("an action needs requiresApproval: true")),
        (Some(_), _) if sealed => Err(invalid(
            "a sealed question carries its action inside the sealed plaintext: send actionHash",
        )),
        (Some(action), claimed) => {
            let text = action.to_string();
            if text.len() > MAX_ACTION_BYTES {
                return Err(invalid("action must be at most 65536 bytes of JSON"));
            }
            let hash = action_hash(action).map_err(|e| invalid(&e))?;
            if claimed.as_ref().is_some_and(|claimed| *claimed != hash) {
                return Err(invalid("actionHash is not the hash of action"));
            }
            Ok((Some(text), Some(hash)))
        }
        // A hash alone is for a sealed question: the expert reads its action there. Beside a
        // plaintext question nobody would see what the hash stands for.
        (None, Some(_)) if !sealed => Err(invalid(
            "actionHash without action belongs to a sealed question",
        )),
        (None, Some(hash)) => {
            if !is_action_hash(hash) {
                return Err(invalid("actionHash must be 64 lowercase hex digits"));
            }
            Ok((None, Some(hash.clone())))
        }
    }
}

/// The signed decision of an `/approve` body, checked against the expert's published signing
/// key; `None` for an unsigned (server-attested) decision.
pub(crate) fn checked(
    expert: &ExpertRecord,
    request: &RequestRecord,
    body: &ApproveRequest,
    now: Millis,
) -> ApiResult<Option<SignedDecision>> {
    let Some(signature) = &body.decision_signature else {
        return unsigned(expert, request, body.decision).map(|()| None);
    };
    let invalid = |why: &str| {
        ApiError::bad_request(format!("Invalid decision signature: {why}"))
            .code("DECISION_SIGNATURE_INVALID")
    };
    let decided_at = body
        .decided_at
        .ok_or_else(|| invalid("decidedAt is required with a signature"))?
        .unix_millis();
    let key = expert
        .sign_public_key
        .as_deref()
        .and_then(|key| SignPublicKey::parse(key).ok())
        .ok_or_else(|| {
            ApiError::bad_request("A signed decision needs the expert's published keys")
                .code("EXPERT_KEYS_UNPUBLISHED")
        })?;
    if decided_at.abs_diff(now) > MAX_DECISION_SKEW_MS {
        return Err(invalid(
            "decidedAt is more than 10 minutes away from the server's time",
        ));
    }
    if body.action_hash.is_some() && body.action_hash != request.action_hash {
        return Err(invalid(
            "actionHash is not the hash of this request's action",
        ));
    }
    let statement = DecisionStatement {
        request_id: &request.id,
        decision: body.decision,
        action_hash: request.action_hash.as_deref(),
        edited_action_hash: None,
        decided_at_ms: decided_at,
    };
    if !statement.verify(&key, signature) {
        return Err(invalid(
            "it does not verify against the expert's published signing key",
        ));
    }
    Ok(Some(SignedDecision {
        signature: signature.trim().to_owned(),
        decided_at,
    }))
}
