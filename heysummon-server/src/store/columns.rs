//! How domain values are spelled in the database, the same for every backend: a message's
//! sender and an approval's decision.

use heysummon_sdk::wire::{ApprovalDecision, Sender};

use super::StoreError;

/// A stored sender.
pub(crate) fn parse_sender(text: &str) -> Result<Sender, StoreError> {
    match text {
        "consumer" => Ok(Sender::Consumer),
        "expert" => Ok(Sender::Expert),
        other => Err(StoreError::Corrupt(format!("message sender {other:?}"))),
    }
}

/// How a sender is stored.
pub(crate) fn sender_column(sender: Sender) -> &'static str {
    match sender {
        Sender::Consumer => "consumer",
        Sender::Expert => "expert",
    }
}

/// A stored decision (`NULL` when none).
pub(crate) fn parse_decision(text: Option<&str>) -> Result<Option<ApprovalDecision>, StoreError> {
    match text {
        None => Ok(None),
        Some("approved") => Ok(Some(ApprovalDecision::Approved)),
        Some("denied") => Ok(Some(ApprovalDecision::Denied)),
        Some(other) => Err(StoreError::Corrupt(format!("approval decision {other:?}"))),
    }
}
