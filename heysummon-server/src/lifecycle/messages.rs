//! The message rows the server itself writes: an approval's marker, and a plaintext message
//! (from the API, or an expert's answer given in a chat channel).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use heysummon_sdk::wire::{ApprovalDecision, MessageId, PLAINTEXT_MARKER, Sender};

use crate::clock::Millis;
use crate::ids::new_id;
use crate::store::MessageRecord;

/// The marker message of a decision (`ciphertext` = `approved` | `denied`, PROTOCOL A).
pub fn decision_marker(request_id: &str, decision: ApprovalDecision, now: Millis) -> MessageRecord {
    MessageRecord {
        id: new_id(),
        request_id: request_id.to_owned(),
        sender: Sender::Expert,
        ciphertext: decision.as_str().to_owned(),
        iv: String::new(),
        auth_tag: String::new(),
        signature: String::new(),
        message_id: MessageId::random().into_string(),
        plaintext: None,
        created_at: now,
    }
}

/// A plaintext message: the text, its base64 as `ciphertext` and the plaintext marker in the
/// encryption fields, as HeySummon's dashboard reads it.
pub fn plaintext_message(
    request_id: &str,
    sender: Sender,
    text: &str,
    message_id: MessageId,
    now: Millis,
) -> MessageRecord {
    MessageRecord {
        id: new_id(),
        request_id: request_id.to_owned(),
        sender,
        ciphertext: BASE64.encode(text.as_bytes()),
        iv: PLAINTEXT_MARKER.into(),
        auth_tag: PLAINTEXT_MARKER.into(),
        signature: PLAINTEXT_MARKER.into(),
        message_id: message_id.into_string(),
        plaintext: Some(text.to_owned()),
        created_at: now,
    }
}
