//! Decisions only the expert can make (PROTOCOL H4): the hash of the action an agent asks to
//! take, and the statement an expert signs when deciding on it.
//!
//! An agent that sends its `action` knows its [`action_hash`]. The expert signs a
//! [`DecisionStatement`] with the signing key of its published identity: which request, which
//! decision, over which action (and, approving with edits, which edited action), when. The
//! agent verifies the signature against the expert key it pinned, for the action it asked
//! about; a decision the server invented, moved from another request or signed over another
//! action does not verify.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use crate::keys::{SignPublicKey, SigningKeyPair};
use crate::wire::ApprovalDecision;

/// The first line of every signed decision.
pub const DECISION_CONTEXT: &str = "HEYSUMMON-DECISION-V1";

/// The lowercase hex SHA-256 of an action's canonical JSON (RFC 8785): the same for every
/// spelling of the same JSON value (member order, white space, number notation).
///
/// # Errors
/// Only for a value RFC 8785 cannot represent (a number that is not finite cannot occur in a
/// `serde_json::Value`), reported as the serializer's error text.
pub fn action_hash(action: &serde_json::Value) -> Result<String, String> {
    let canonical = serde_json_canonicalizer::to_vec(action).map_err(|e| e.to_string())?;
    Ok(hex::encode(Sha256::digest(&canonical)))
}

/// What an expert signs when deciding on an approval request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecisionStatement<'a> {
    /// The request decided on.
    pub request_id: &'a str,
    /// Approved or denied.
    pub decision: ApprovalDecision,
    /// The [`action_hash`] of the action the agent asked about, when it sent one.
    pub action_hash: Option<&'a str>,
    /// The [`action_hash`] of the action as the expert edited it, when approving with edits.
    pub edited_action_hash: Option<&'a str>,
    /// When the expert decided, milliseconds since the Unix epoch.
    pub decided_at_ms: i64,
}

impl DecisionStatement<'_> {
    /// The signed bytes: six lines, `HEYSUMMON-DECISION-V1`, the request id, the decision, the
    /// action hash or nothing, the edited action's hash or nothing, the time in milliseconds.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!(
            "{DECISION_CONTEXT}\n{}\n{}\n{}\n{}\n{}",
            self.request_id,
            self.decision.as_str(),
            self.action_hash.unwrap_or_default(),
            self.edited_action_hash.unwrap_or_default(),
            self.decided_at_ms
        )
        .into_bytes()
    }

    /// The expert's signature over the statement, standard base64 (the wire's
    /// `decisionSignature`).
    pub fn sign(&self, key: &SigningKeyPair) -> String {
        BASE64.encode(key.sign(&self.to_bytes()))
    }

    /// Whether `signature` (standard base64) is `key`'s signature over this statement.
    /// Anything malformed is simply not a valid signature.
    pub fn verify(&self, key: &SignPublicKey, signature: &str) -> bool {
        let Ok(bytes) = BASE64.decode(signature.trim()) else {
            return false;
        };
        let Ok(signature) = <[u8; 64]>::try_from(bytes.as_slice()) else {
            return false;
        };
        key.verify(&self.to_bytes(), &signature)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_action_hash_ignores_spelling() {
        let one: serde_json::Value =
            serde_json::from_str(r#"{"tool":"deploy","args":{"env":"prod","replicas":1e1}}"#)
                .unwrap();
        let other: serde_json::Value = serde_json::from_str(
            r#"{ "args" : { "replicas" : 10, "env" : "prod" }, "tool" : "deploy" }"#,
        )
        .unwrap();
        assert_eq!(action_hash(&one).unwrap(), action_hash(&other).unwrap());
        // The hash of the canonical text, as any RFC 8785 implementation writes it.
        let canonical = r#"{"args":{"env":"prod","replicas":10},"tool":"deploy"}"#;
        assert_eq!(
            action_hash(&one).unwrap(),
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        assert_ne!(
            action_hash(&one).unwrap(),
            action_hash(&json!({"tool":"deploy","args":{"env":"staging","replicas":10}})).unwrap()
        );
    }

    #[test]
    fn the_statement_is_six_lines() {
        let statement = DecisionStatement {
            request_id: "cm1",
            decision: ApprovalDecision::Approved,
            action_hash: Some("ab"),
            edited_action_hash: None,
            decided_at_ms: 1_777_147_005_123,
        };
        assert_eq!(
            statement.to_bytes(),
            b"HEYSUMMON-DECISION-V1\ncm1\napproved\nab\n\n1777147005123"
        );
    }

    #[test]
    fn only_the_signed_statement_verifies() {
        let expert = SigningKeyPair::generate();
        let hash = action_hash(&json!({"tool": "rm", "args": ["-rf", "/tmp/x"]})).unwrap();
        let statement = DecisionStatement {
            request_id: "req-1",
            decision: ApprovalDecision::Approved,
            action_hash: Some(&hash),
            edited_action_hash: None,
            decided_at_ms: 1_000,
        };
        let signature = statement.sign(&expert);
        assert!(statement.verify(&expert.public(), &signature));

        let other_action = action_hash(&json!({"tool": "rm", "args": ["-rf", "/"]})).unwrap();
        let tampered = [
            DecisionStatement {
                request_id: "req-2",
                ..statement
            },
            DecisionStatement {
                decision: ApprovalDecision::Denied,
                ..statement
            },
            DecisionStatement {
                action_hash: Some(&other_action),
                ..statement
            },
            DecisionStatement {
                action_hash: None,
                ..statement
            },
            DecisionStatement {
                edited_action_hash: Some(&other_action),
                ..statement
            },
            DecisionStatement {
                decided_at_ms: 1_001,
                ..statement
            },
        ];
        for changed in tampered {
            assert!(!changed.verify(&expert.public(), &signature), "{changed:?}");
        }
        let stranger = SigningKeyPair::generate();
        assert!(!statement.verify(&stranger.public(), &signature));
        for garbage in ["", "not base64", &BASE64.encode([0u8; 63])] {
            assert!(!statement.verify(&expert.public(), garbage));
        }
    }
}
