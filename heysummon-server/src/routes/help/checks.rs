//! What `POST /api/v1/help` checks before anything is stored: the sizes of every member, and a
//! sealed question's pin against the expert's published keys (PROTOCOL B3).

use heysummon_sdk::keys::Fingerprint;
use heysummon_sdk::wire::CreateHelpRequest;
use serde_json::json;

use crate::error::{ApiError, ApiResult};

const MAX_QUESTION_CHARS: usize = 50_000;
const MAX_MESSAGES: usize = 200;
const MAX_MESSAGE_COUNT: u32 = 1000;
const MAX_KEY_CHARS: usize = 2048;
const MAX_LEGACY_KEY_CHARS: usize = 4096;
const MAX_API_KEY_CHARS: usize = 512;
fn validation(details: &str) -> ApiError {
    ApiError::bad_request("Validation failed").member("details", json!(details))
}

fn too_long(text: Option<&str>, max: usize) -> bool {
    text.is_some_and(|t| t.chars().count() > max)
}

pub(super) fn validate(body: &CreateHelpRequest) -> ApiResult<()> {
    if body.api_key.is_empty() || body.api_key.len() > MAX_API_KEY_CHARS {
        return Err(validation("apiKey must be 1 to 512 characters"));
    }
    if too_long(body.question.as_deref(), MAX_QUESTION_CHARS) {
        return Err(validation("question must be at most 50000 characters"));
    }
    if body
        .messages
        .as_ref()
        .is_some_and(|m| m.len() > MAX_MESSAGES)
    {
        return Err(validation("messages must have at most 200 items"));
    }
    if body.message_count.is_some_and(|n| n > MAX_MESSAGE_COUNT) {
        return Err(validation("messageCount must be between 0 and 1000"));
    }
    if too_long(body.sign_public_key.as_deref(), MAX_KEY_CHARS)
        || too_long(body.encrypt_public_key.as_deref(), MAX_KEY_CHARS)
    {
        return Err(validation("public keys must be at most 2048 characters"));
    }
    if too_long(body.public_key.as_deref(), MAX_LEGACY_KEY_CHARS) {
        return Err(validation("publicKey must be at most 4096 characters"));
    }
    if body.approval_requested() && !body.response_expected() {
        return Err(validation(
            "requiresApproval needs a response: it cannot be combined with responseRequired:false",
        ));
    }
    if let Some(sealed) = &body.sealed_question {
        crate::routes::messages::validate_encrypted(sealed).map_err(|e| validation(&e))?;
    }
    Ok(())
}

/// Checks the sealed question's pinned fingerprint against the expert's published keys.
pub(super) fn check_sealed(
    body: &CreateHelpRequest,
    expert: &crate::store::ExpertRecord,
) -> ApiResult<(String, String)> {
    if body.question.as_deref().is_some_and(|q| !q.is_empty()) {
        return Err(validation(
            "a sealed question must not also be sent as a plaintext question",
        ));
    }
    if body.messages.as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(validation(
            "a sealed question must not carry plaintext messages",
        ));
    }
    if body.sign_public_key.is_none() || body.encrypt_public_key.is_none() {
        return Err(validation(
            "a sealed question needs signPublicKey and encryptPublicKey",
        ));
    }
    let changed = |why: &str| {
        ApiError::conflict(format!("The expert's published keys do not match: {why}"))
            .code("EXPERT_KEY_CHANGED")
    };
    let (Some(sign), Some(encrypt), Some(published)) = (
        &expert.sign_public_key,
        &expert.encrypt_public_key,
        &expert.fingerprint,
    ) else {
        return Err(changed("the expert has no published keys"));
    };
    let pinned = body
        .expert_fingerprint
        .as_deref()
        .and_then(Fingerprint::parse)
        .ok_or_else(|| validation("a sealed question needs expertFingerprint"))?;
    let current = Fingerprint::parse(published).ok_or_else(ApiError::internal)?;
    if pinned != current {
        return Err(changed("the fingerprint changed"));
    }
    Ok((sign.clone(), encrypt.clone()))
}
