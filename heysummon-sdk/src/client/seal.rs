//! Sealing a question (PROTOCOL B3): which expert keys to seal to, per the encryption policy and
//! the pins; the content-safety rules checked here because the server cannot read what is sealed;
//! and the text that is sealed.

use serde_json::Value;

use super::Client;
use super::message::{consumer_keys_of, key_pair};
use super::outcome::EncryptionPolicy;
use crate::Error;
use crate::keys::PublicKeys;
use crate::keystore::StoredRequest;
use crate::safety::{FlagType, scan_action, scan_help_request};
use crate::wire::ExpertInfo;

impl Client {
    /// The expert keys to seal to, per the encryption policy and the pins; `None` for the
    /// plaintext (HeySummon-compatible) flow.
    ///
    /// Never a silent downgrade: with a fingerprint in configuration, or once this key store has
    /// pinned any expert, an expert without published keys is refused, not asked in plaintext.
    pub(super) async fn sealing_target(&self) -> Result<Option<PublicKeys>, Error> {
        let policy = self.encryption;
        if policy == EncryptionPolicy::Off {
            return Ok(None);
        }
        let experts = self.inner.experts().await?.experts;
        let configured = self.expert_fingerprint;
        let store = &self.inner.key_store;
        // A configured pin, or a store that has sealed before, makes sealing mandatory.
        let policy = if configured.is_some() || store.has_pins()? {
            EncryptionPolicy::Required
        } else {
            policy
        };
        // With a configured pin, the expert whose keys match it; else the first listed.
        let expert = experts
            .iter()
            .find(|expert| {
                configured.is_some_and(|pin| {
                    published_keys(expert)
                        .ok()
                        .flatten()
                        .is_some_and(|keys| keys.fingerprint() == pin)
                })
            })
            .or_else(|| experts.first());
        let Some(expert) = expert else {
            return unavailable(policy, "this key is linked to no expert");
        };
        let published = published_keys(expert)?;
        let pinned = match configured {
            Some(pin) => Some(pin),
            None => store.pinned_fingerprint(&expert.id)?,
        };
        match (published, pinned) {
            (Some(keys), Some(pin)) if keys.fingerprint() == pin => Ok(Some(keys)),
            (published, Some(pin)) => Err(Error::ExpertKeyChanged {
                expert_id: expert.id.as_str().to_owned(),
                pinned: pin.to_string(),
                published: published.map(|keys| keys.fingerprint().to_string()),
            }),
            (Some(keys), None) => {
                store.pin_fingerprint(&expert.id, &keys.fingerprint())?;
                Ok(Some(keys))
            }
            (None, None) => unavailable(policy, "the expert has published no keys"),
        }
    }

    /// Fails with [`Error::UnknownRequest`] when the request the server returned carries other
    /// consumer keys than the record's (it was created by another key store).
    pub(super) async fn check_consumer_keys(&self, record: &StoredRequest) -> Result<(), Error> {
        let Some(id) = &record.request_id else {
            return Ok(());
        };
        let messages = self.inner.messages(id).await?;
        let ours = record.keys.public();
        let theirs = consumer_keys_of(&messages).ok().flatten();
        if theirs == Some(ours) {
            Ok(())
        } else {
            Err(Error::UnknownRequest {
                request_id: id.as_str().to_owned(),
            })
        }
    }
}

/// `Ok(None)` (plaintext) under [`EncryptionPolicy::Preferred`], an error under `Required`.
fn unavailable(policy: EncryptionPolicy, why: &str) -> Result<Option<PublicKeys>, Error> {
    match policy {
        EncryptionPolicy::Required => Err(Error::EncryptionUnavailable(why.to_owned())),
        _ => Ok(None),
    }
}

/// The expert's published keys, when it published both.
fn published_keys(expert: &ExpertInfo) -> Result<Option<PublicKeys>, Error> {
    key_pair(
        expert.sign_public_key.as_deref(),
        expert.encrypt_public_key.as_deref(),
    )
}

/// The server's 409 `EXPERT_KEY_CHANGED` (the keys changed between our look and our send) as
/// [`Error::ExpertKeyChanged`].
pub(super) fn key_changed_by_server(error: Error, sealed_to: Option<&PublicKeys>) -> Error {
    match (error.code(), sealed_to) {
        (Some("EXPERT_KEY_CHANGED"), Some(keys)) => Error::ExpertKeyChanged {
            expert_id: String::new(),
            pinned: keys.fingerprint().to_string(),
            published: None,
        },
        _ => error,
    }
}

/// The text that is sealed: the question, then the context as `role: content` lines.
pub(super) fn sealed_text(question: &str, context: &[Value], action: Option<&Value>) -> String {
    let mut text = question.to_owned();
    if let Some(action) = action {
        // The expert reads the action here; the signed decision covers its hash.
        text.push_str("\n\nAction:\n");
        text.push_str(&serde_json::to_string_pretty(action).unwrap_or_else(|_| action.to_string()));
    }
    if context.is_empty() {
        return text;
    }
    text.push_str("\n\nContext:");
    for item in context {
        let line = match (item.get("role"), item.get("content")) {
            (Some(Value::String(role)), Some(Value::String(content))) => {
                format!("{role}: {content}")
            }
            (_, Some(Value::String(content))) => content.clone(),
            _ => item.to_string(),
        };
        text.push('\n');
        text.push_str(&line);
    }
    text
}

/// Refuses, with [`Error::ContentBlocked`], a question the content-safety rules block: the same
/// rules the server applies to what it can read, here, first.
pub(super) fn refuse_blocked(
    text: &str,
    context: &[Value],
    action: Option<&Value>,
) -> Result<(), Error> {
    let question = scan_help_request(Some(text), Some(context));
    let report = match action.map(scan_action) {
        Some(action) if !question.blocked() => action,
        _ => question,
    };
    if !report.blocked() {
        return Ok(());
    }
    let mut flags: Vec<FlagType> = report
        .flags
        .iter()
        .map(|flag| flag.kind)
        .filter(|kind| kind.blocks())
        .collect();
    flags.dedup();
    Err(Error::ContentBlocked { flags })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn context_is_sealed_as_text_after_the_question() {
        assert_eq!(sealed_text("May I?", &[], None), "May I?");
        let context = vec![
            json!({"role": "user", "content": "deploy it"}),
            json!("plain"),
            json!({"content": "no role"}),
        ];
        assert_eq!(
            sealed_text("May I?", &context, None),
            "May I?\n\nContext:\nuser: deploy it\n\"plain\"\nno role"
        );
    }
}
