//! The agent's check of an expert's decision (PROTOCOL H4): which approvals it acts on.

use super::Conversation;
use crate::Error;
use crate::client::DecisionTrust;
use crate::decision::DecisionStatement;
use crate::wire::{ApprovalDecision, HelpStatusResponse};

/// How far the expert's clock may run behind the agent's, for a decision's time.
const DECISION_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

impl Conversation {
    /// Checks the decision a status reports, as [`Conversation::decision`] does before it
    /// returns one: `Ok(None)` without a decision, `Ok(Some(signed))` for a decision that
    /// counts, [`Error::DecisionUnverified`] for one that does not (PROTOCOL H4). For a proxy
    /// that passes a server's status on to an agent that cannot check it itself (the guard).
    ///
    /// # Errors
    /// [`Error::DecisionUnverified`].
    pub fn check_decision(&self, status: &HelpStatusResponse) -> Result<Option<bool>, Error> {
        match status.approval_decision {
            None => Ok(None),
            Some(decision) => self.signed_by_pinned_expert(status, decision).map(Some),
        }
    }

    /// Whether the decision carries a valid signature by the expert key pinned for this
    /// request, over this request, the decision, the action asked about and the signed time
    /// (PROTOCOL H4). Fails closed: an approval the agent's [`DecisionTrust`] does not accept,
    /// or any signature that does not verify, is [`Error::DecisionUnverified`]; a denial
    /// without a signature stands (acting on it is safe).
    pub(super) fn signed_by_pinned_expert(
        &self,
        status: &HelpStatusResponse,
        decision: ApprovalDecision,
    ) -> Result<bool, Error> {
        let refuse = |reason: &'static str| Error::DecisionUnverified {
            request_id: self.request_id.as_str().to_owned(),
            reason,
        };
        let key = self.record.expert_keys.map(|keys| keys.sign);
        let signed = match (&status.decision_signature, status.decided_at, key) {
            (Some(signature), Some(at), Some(key)) => {
                let statement = DecisionStatement {
                    request_id: self.request_id.as_str(),
                    decision,
                    action_hash: self.record.action_hash.as_deref(),
                    edited_action_hash: None,
                    decided_at_ms: at.unix_millis(),
                };
                if !statement.verify(&key, signature) {
                    return Err(refuse(
                        "the signature does not verify for this request and action",
                    ));
                }
                // A signature made before this request existed belongs to another one (a server
                // reusing an old request id for the same action).
                let earliest = self.record.created_at.unix_millis() - DECISION_CLOCK_SKEW_MS;
                if at.unix_millis() < earliest {
                    return Err(refuse(
                        "the decision was signed before the request was made",
                    ));
                }
                true
            }
            (Some(_), _, None) => false,
            (Some(_), None, Some(_)) => return Err(refuse("a signature without its time")),
            (None, _, _) => false,
        };
        let required = match self.client.decision_trust {
            DecisionTrust::RequireSigned => true,
            DecisionTrust::SignedWhenSealed => self.record.sealed,
            _ => false,
        };
        if required && !signed && decision == ApprovalDecision::Approved {
            return Err(refuse(if key.is_none() {
                "no expert key was pinned for this request"
            } else {
                "the approval is not signed by the expert"
            }));
        }
        Ok(signed)
    }
}
