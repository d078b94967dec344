//! Shapes shared by several endpoints: the error body and the encrypted message payload.

use serde::{Deserialize, Serialize};

use super::MessageId;

/// The body of every error response: `{"error": "<human sentence>"}`, optionally with a machine
/// `code` and a `hint`. Endpoint-specific members (`flags`, `decision`, `existingRating`, …) are
/// kept in `extra` so nothing a server says is lost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// A sentence for people.
    pub error: String,
    /// A machine-readable code such as `NO_RESPONSE_REQUIRED` or `SIGNATURE_REPLAYED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A suggestion for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Any other members of the error body.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ErrorBody {
    /// An error body with only the sentence.
    pub fn new(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            code: None,
            hint: None,
            extra: serde_json::Map::new(),
        }
    }

    /// Adds a machine-readable code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Adds a hint for people.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds another member (`flags`, `decision`, `existingRating`, …).
    #[must_use]
    pub fn with_member(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.extra.insert(name.into(), value);
        self
    }
}

/// A message sealed per PROTOCOL part C, in its wire encoding: standard base64 with padding for
/// `ciphertext`, `iv`, `authTag` and `signature`.
///
/// This is the shape of `sealedQuestion` on `POST /help` and of the encrypted form of
/// `POST /message`; [`crate::envelope`] produces and opens it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EncryptedPayload {
    /// AES-256-GCM ciphertext without the tag.
    pub ciphertext: String,
    /// The 12-byte GCM nonce.
    pub iv: String,
    /// The 16-byte GCM tag.
    pub auth_tag: String,
    /// Ed25519 signature by the sender over the ciphertext bytes.
    pub signature: String,
    /// The message id, also the HKDF salt.
    pub message_id: MessageId,
}

impl std::fmt::Debug for EncryptedPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedPayload")
            .field("message_id", &self.message_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// Deserializes a member for which `null` means the same as absent: the type's default (`false`,
/// `0`, an empty list). Use with `#[serde(default, deserialize_with = "…")]`.
pub(super) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_keeps_extra_members() {
        let json = r#"{"error":"Decision already made","decision":"approved"}"#;
        let body: ErrorBody = serde_json::from_str(json).unwrap();
        assert_eq!(body.error, "Decision already made");
        assert_eq!(body.extra["decision"], "approved");
        assert_eq!(serde_json::to_string(&body).unwrap(), json);
    }

    #[test]
    fn error_body_with_code_and_hint() {
        let body = ErrorBody::new("Request signature is invalid")
            .with_code("SIGNATURE_INVALID")
            .with_hint("check the device key");
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(value["code"], "SIGNATURE_INVALID");
        assert_eq!(value["hint"], "check the device key");
    }
}
