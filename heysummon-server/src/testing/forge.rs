//! What a compromised server could do to a request, done straight in the store: for the tests
//! proving that agents do not trust it (PROTOCOL H4).

use heysummon_sdk::wire::{ApprovalDecision, Status};

use super::TestApp;
use crate::store::{Change, RequestPatch};

impl TestApp {
    /// Marks a request approved in the store, bypassing every check, with `signature` (the
    /// signature and its time) or none; no event, no audit entry, as a forger would.
    pub async fn forge_approval(&self, request_id: &str, signature: Option<(String, i64)>) {
        let request = self
            .store
            .request(request_id)
            .await
            .expect("the store answers")
            .expect("the request exists");
        let at = self.clock.now();
        let change = Change {
            request_id: request.id.clone(),
            expected_status: request.status.clone(),
            expected_version: request.version,
            patch: RequestPatch {
                status: Some(Status::Responded),
                approval_decision: Some(ApprovalDecision::Approved),
                decision_signature: signature.as_ref().map(|(s, _)| s.clone()),
                decided_at: signature.map(|(_, at)| at),
                responded_at: Some(at),
                ..RequestPatch::default()
            },
            message: None,
            events: Vec::new(),
            audit: Vec::new(),
            at,
        };
        self.store
            .apply(change)
            .await
            .expect("the forged change applies");
    }
}
