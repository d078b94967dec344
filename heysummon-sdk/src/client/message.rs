//! The messages of a conversation, decrypted and verified: [`ConversationMessage`] and the
//! functions that read a `GET /messages/:id` answer, for the agent's and the expert's side alike.

use crate::Error;
use crate::envelope::Channel;
use crate::keys::{PartyKeys, PublicKeys};
use crate::wire::{ApprovalDecision, MessageId, MessageKind, MessagesResponse, Sender, Timestamp};

/// What a message says.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Content {
    /// Text.
    Text(String),
    /// The record of an approval decision.
    Decision(ApprovalDecision),
}

/// One message of a conversation, decrypted and verified.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConversationMessage {
    /// Who sent it.
    pub from: Sender,
    /// What it says.
    pub content: Content,
    /// Whether it was end-to-end encrypted and its signature verified (`false` for plaintext,
    /// which the server could read and alter, and for decision markers).
    pub end_to_end: bool,
    /// The sender's message id.
    pub message_id: MessageId,
    /// When the server stored it.
    pub created_at: Timestamp,
}

/// Verifies and decrypts every message of a conversation between `local` (who sends as
/// `local_side`) and `peer`. Any encrypted message that fails authentication fails the whole
/// read with [`Error::Crypto`]: never a partial transcript.
pub(crate) fn decrypt_messages(
    local: &PartyKeys,
    local_side: Sender,
    peer: Option<PublicKeys>,
    response: &MessagesResponse,
) -> Result<Vec<ConversationMessage>, Error> {
    let ours = local.public();
    response
        .messages
        .iter()
        .map(|item| {
            let (content, end_to_end) = match item.kind() {
                Some(MessageKind::Encrypted(payload)) => {
                    let peer = peer.ok_or(Error::Crypto)?;
                    // Our own messages carry our signature; the key agreement is the same.
                    let signer = if item.from == local_side {
                        ours.sign
                    } else {
                        peer.sign
                    };
                    let remote = PublicKeys {
                        sign: signer,
                        encrypt: peer.encrypt,
                    };
                    let text = Channel::new(local, &remote)?.open(&payload)?;
                    (Content::Text(text), true)
                }
                Some(MessageKind::Plaintext(text)) => (Content::Text(text), false),
                Some(MessageKind::ApprovalMarker(decision)) => (Content::Decision(decision), false),
                None => {
                    return Err(Error::Protocol(
                        "a message is neither encrypted, plaintext nor a decision".into(),
                    ));
                }
            };
            Ok(ConversationMessage {
                from: item.from,
                content,
                end_to_end,
                message_id: item.message_id.clone(),
                created_at: item.created_at,
            })
        })
        .collect()
}

/// The expert keys a `GET /messages` answer carries (after a key exchange).
pub(crate) fn expert_keys_of(response: &MessagesResponse) -> Result<Option<PublicKeys>, Error> {
    key_pair(
        response.expert_sign_pub_key.as_deref(),
        response.expert_encrypt_pub_key.as_deref(),
    )
}

/// The agent's per-request keys a `GET /messages` answer carries.
pub(crate) fn consumer_keys_of(response: &MessagesResponse) -> Result<Option<PublicKeys>, Error> {
    key_pair(
        response.consumer_sign_pub_key.as_deref(),
        response.consumer_encrypt_pub_key.as_deref(),
    )
}

/// Two wire keys as one party's keys; `None` unless both are there.
pub(crate) fn key_pair(
    sign: Option<&str>,
    encrypt: Option<&str>,
) -> Result<Option<PublicKeys>, Error> {
    match (sign, encrypt) {
        (Some(sign), Some(encrypt)) => PublicKeys::parse(sign, encrypt).map(Some),
        _ => Ok(None),
    }
}

/// The latest text the expert sent, and whether it was end-to-end.
pub(crate) fn latest_expert_text(messages: &[ConversationMessage]) -> Option<(String, bool)> {
    messages
        .iter()
        .rev()
        .find_map(|message| match &message.content {
            Content::Text(text) if message.from == Sender::Expert => {
                Some((text.clone(), message.end_to_end))
            }
            _ => None,
        })
}
