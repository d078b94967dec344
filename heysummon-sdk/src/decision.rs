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
    if let Some(number) = inexact_number(action) {
        // RFC 8785 writes numbers as IEEE doubles: another implementation would hash this one
        // differently.
        return Err(format!(
            "the action's number {number} is not exactly representable as a double"
        ));
    }
    let canonical = serde_json_canonicalizer::to_vec(action).map_err(|e| e.to_string())?;
    Ok(hex::encode(Sha256::digest(&canonical)))
}

/// The largest integer every JSON implementation reads exactly (2^53).
const EXACT_INTEGERS: u64 = 1 << 53;

/// An integer of `value` beyond ±2^53, if any.
fn inexact_number(value: &serde_json::Value) -> Option<&serde_json::Number> {
    match value {
        serde_json::Value::Number(number) => {
            let exact = match (number.as_u64(), number.as_i64()) {
                (Some(n), _) => n <= EXACT_INTEGERS,
                (None, Some(n)) => n.unsigned_abs() <= EXACT_INTEGERS,
                (None, None) => true,
            };
            (!exact).then_some(number)
        }
        serde_json::Value::Array(items) => items.iter().find_map(inexact_number),
        serde_json::Value::Object(members) => members.values().find_map(inexact_number),
        _ => None,
    }
}

/// Whether `text` is an action hash as the wire carries it: 64 lowercase hex digits.
pub fn is_action_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `text` may stand in a decision statement as a request id: 1 to 128 ASCII letters,
/// digits, `-` or `_` (every id a server makes), so that no field can spill into another line.
pub fn is_statement_id(text: &str) -> bool {
    (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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
    /// Whether every field is of its form (see [`is_statement_id`] and [`is_action_hash`]):
    /// only such a statement is signed or verified, so that a server cannot make the lines of
    /// one decision read as another's (a request id with a line break in it, say).
    pub fn is_well_formed(&self) -> bool {
        is_statement_id(self.request_id)
            && self.action_hash.is_none_or(is_action_hash)
            && self.edited_action_hash.is_none_or(is_action_hash)
    }

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
    /// `decisionSignature`); `None` for a statement that is not well formed.
    pub fn sign(&self, key: &SigningKeyPair) -> Option<String> {
        self.is_well_formed()
            .then(|| BASE64.encode(key.sign(&self.to_bytes())))
    }

    /// Whether `signature` (standard base64) is `key`'s signature over this statement.
    /// Anything malformed is simply not a valid signature.
    pub fn verify(&self, key: &SignPublicKey, signature: &str) -> bool {
        if !self.is_well_formed() {
            return false;
        }
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
        let signature = statement.sign(&expert).unwrap();
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

    #[test]
    fn no_field_can_spill_into_another_line() {
        // A server's forged id would make an expert's denial of X read as an approval.
        let expert = SigningKeyPair::generate();
        let hash = "a".repeat(64);
        let forged = DecisionStatement {
            request_id: "X\ndenied\nY",
            decision: ApprovalDecision::Approved,
            action_hash: Some(&hash),
            edited_action_hash: None,
            decided_at_ms: 1,
        };
        assert!(!forged.is_well_formed());
        assert_eq!(forged.sign(&expert), None);
        let bad_hash = format!("{hash}\napproved");
        for statement in [
            DecisionStatement {
                action_hash: Some(&bad_hash),
                request_id: "X",
                ..forged
            },
            DecisionStatement {
                action_hash: Some("ABCDEF"),
                request_id: "X",
                ..forged
            },
            DecisionStatement {
                request_id: "",
                ..forged
            },
        ] {
            assert!(!statement.is_well_formed(), "{statement:?}");
            assert_eq!(statement.sign(&expert), None);
        }
        // Even a signature over the same bytes does not verify for a malformed statement.
        let bytes = forged.to_bytes();
        let signature = BASE64.encode(expert.sign(&bytes));
        assert!(!forged.verify(&expert.public(), &signature));
    }

    #[test]
    fn numbers_other_implementations_read_differently_are_refused() {
        assert!(action_hash(&json!({"n": 9_007_199_254_740_992_u64})).is_ok());
        assert!(action_hash(&json!({"n": 9_007_199_254_740_993_u64})).is_err());
        assert!(action_hash(&json!([{"n": -9_007_199_254_740_993_i64}])).is_err());
        assert!(action_hash(&json!({"n": 1.5e300})).is_ok());
    }
}
