//! The expert's decisions, signed (PROTOCOL H4): bound to the request, the decision, the action
//! the agent asked about and the time, by the signing key of the expert's identity.

use super::ExpertClient;
use crate::Error;
use crate::decision::{DecisionStatement, action_hash};
use crate::wire::{ApprovalDecision, ApproveRequest, ApproveResponse, RequestId, Timestamp};

/// The server's code for a signed decision of an expert who has not published keys.
const KEYS_UNPUBLISHED: &str = "EXPERT_KEYS_UNPUBLISHED";

impl ExpertClient {
    /// Approves or denies (`POST /approve/:id`), signed with the expert's identity over the
    /// request, the decision, the request's action and the time, so that the agent can tell
    /// the decision is the expert's own. When the expert has not published keys (a HeySummon
    /// v1 set-up), the decision goes unsigned: an agent that requires signed decisions will
    /// not act on it. Decisions are one-shot.
    ///
    /// # Cancel safety
    /// Not cancel-safe: a dropped call may have recorded the decision (a new one then answers
    /// 409 with it).
    ///
    /// # Errors
    /// 409 when already decided; 400 for a request that is not an approval, or has ended;
    /// [`Error::KeyStore`] when the identity cannot be read.
    pub async fn decide(
        &self,
        request_id: &RequestId,
        decision: ApprovalDecision,
    ) -> Result<ApproveResponse, Error> {
        let identity = self.identity()?;
        let conversation = self.inner.messages(request_id).await?;
        // The hash the agent's action has: for a plaintext action, computed here from the
        // action this expert reads, never taken from the server on trust; for a sealed one (its
        // action is in the sealed question), as the agent sent it.
        let hash = match (&conversation.action, conversation.action_hash) {
            (Some(action), claimed) => {
                let hash = action_hash(action).map_err(Error::Protocol)?;
                if claimed.as_ref().is_some_and(|claimed| *claimed != hash) {
                    return Err(Error::Protocol(
                        "the server's action hash is not the hash of the action it shows".into(),
                    ));
                }
                Some(hash)
            }
            (None, claimed) => claimed,
        };
        let decided_at = Timestamp::now();
        let statement = DecisionStatement {
            request_id: request_id.as_str(),
            decision,
            action_hash: hash.as_deref(),
            edited_action_hash: None,
            decided_at_ms: decided_at.unix_millis(),
        };
        let signature = statement.sign(&identity.sign).ok_or_else(|| {
            Error::Protocol("the request id or the action hash is malformed; not signing".into())
        })?;
        let signed = ApproveRequest {
            decision,
            decision_signature: Some(signature),
            decided_at: Some(decided_at),
            action_hash: hash,
        };
        match self.inner.approve(request_id, &signed).await {
            Err(error) if error.code() == Some(KEYS_UNPUBLISHED) => {
                self.inner
                    .approve(request_id, &ApproveRequest::unsigned(decision))
                    .await
            }
            outcome => outcome,
        }
    }
}
