//! Mapping rows to records, and records to rows.

use heysummon_sdk::wire::{Sender, Status};
use rusqlite::{Connection, Row, params};

use super::error::SqlResult;
pub(super) use crate::store::columns::sender_column;
use crate::store::columns::{parse_decision, parse_sender};
use crate::store::{
    ExpertRecord, KeyHash, LoggedEvent, MessageRecord, NewEvent, RequestRecord, StoreError,
};

pub(super) const EXPERT_SELECT: &str = "SELECT id, owner_id, name, is_active, sign_public_key,
    encrypt_public_key, fingerprint FROM experts";

pub(super) fn expert_row(row: &Row<'_>) -> rusqlite::Result<ExpertRecord> {
    Ok(ExpertRecord {
        id: row.get(0)?,
        owner_id: row.get(1)?,
        name: row.get(2)?,
        is_active: row.get(3)?,
        sign_public_key: row.get(4)?,
        encrypt_public_key: row.get(5)?,
        fingerprint: row.get(6)?,
    })
}

pub(super) fn hash_column(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<KeyHash>> {
    let bytes: Option<Vec<u8>> = row.get(index)?;
    Ok(bytes.and_then(|b| b.try_into().ok()))
}

/// Maps a `SELECT *` row of `requests`; the outer error is SQLite's, the inner one a value that
/// does not parse.
pub(super) fn request_row(row: &Row<'_>) -> rusqlite::Result<Result<RequestRecord, StoreError>> {
    let status: String = row.get("status")?;
    let decision: Option<String> = row.get("approval_decision")?;
    let rating: Option<i64> = row.get("rating")?;
    let record = RequestRecord {
        id: row.get("id")?,
        ref_code: row.get("ref_code")?,
        client_key_id: row.get("client_key_id")?,
        expert_id: row.get("expert_id")?,
        status: Status::from_wire(&status),
        version: row.get("version")?,
        response_required: row.get("response_required")?,
        requires_approval: row.get("requires_approval")?,
        approval_decision: None,
        action_json: row.get("action_json")?,
        action_hash: row.get("action_hash")?,
        decision_signature: row.get("decision_signature")?,
        decided_at: row.get("decided_at")?,
        sealed: row.get("sealed")?,
        question: row.get("question")?,
        messages_json: row.get("messages_json")?,
        content_flags: row.get("content_flags")?,
        consumer_sign_key: row.get("consumer_sign_key")?,
        consumer_encrypt_key: row.get("consumer_encrypt_key")?,
        legacy_public_key: row.get("legacy_public_key")?,
        expert_sign_key: row.get("expert_sign_key")?,
        expert_encrypt_key: row.get("expert_encrypt_key")?,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
        status_changed_at: row.get("status_changed_at")?,
        responded_at: row.get("responded_at")?,
        closed_at: row.get("closed_at")?,
        acknowledged_at: row.get("acknowledged_at")?,
        client_timed_out_at: row.get("client_timed_out_at")?,
        expert_delivered_at: row.get("expert_delivered_at")?,
        consumer_delivered_at: row.get("consumer_delivered_at")?,
        latest_expert_message_at: row.get("latest_expert_message_at")?,
        message_count: row.get("message_count")?,
        last_expert_event: row.get("last_expert_event")?,
        last_status_event: row.get("last_status_event")?,
        consumer_ack_event: row.get("consumer_ack_event")?,
        rating: rating.and_then(|r| u8::try_from(r).ok()),
        rating_feedback: row.get("rating_feedback")?,
        rated_at: row.get("rated_at")?,
    };
    Ok(
        parse_decision(decision.as_deref()).map(|approval_decision| RequestRecord {
            approval_decision,
            ..record
        }),
    )
}

pub(super) fn collect_requests(
    rows: impl Iterator<Item = rusqlite::Result<Result<RequestRecord, StoreError>>>,
) -> SqlResult<Vec<RequestRecord>> {
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

pub(super) const MESSAGE_SELECT: &str = "SELECT id, request_id, sender, ciphertext, iv, auth_tag,
    signature, message_id, plaintext, created_at FROM messages";

/// Maps a [`MESSAGE_SELECT`] row; the outer error is SQLite's, the inner one a value that does
/// not parse.
pub(super) fn message_row(row: &Row<'_>) -> rusqlite::Result<Result<MessageRecord, StoreError>> {
    let sender: String = row.get(2)?;
    let record = MessageRecord {
        id: row.get(0)?,
        request_id: row.get(1)?,
        sender: Sender::Consumer,
        ciphertext: row.get(3)?,
        iv: row.get(4)?,
        auth_tag: row.get(5)?,
        signature: row.get(6)?,
        message_id: row.get(7)?,
        plaintext: row.get(8)?,
        created_at: row.get(9)?,
    };
    Ok(parse_sender(&sender).map(|sender| MessageRecord { sender, ..record }))
}

pub(super) fn insert_message(conn: &Connection, m: &MessageRecord) -> SqlResult<()> {
    let sender = sender_column(m.sender);
    conn.prepare_cached(
        "INSERT INTO messages (id, request_id, sender, ciphertext, iv, auth_tag, signature,
                               message_id, plaintext, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        m.id,
        m.request_id,
        sender,
        m.ciphertext,
        m.iv,
        m.auth_tag,
        m.signature,
        m.message_id,
        m.plaintext,
        m.created_at
    ])?;
    Ok(())
}

pub(super) fn insert_event(conn: &Connection, e: &NewEvent) -> SqlResult<LoggedEvent> {
    conn.prepare_cached(
        "INSERT INTO events (event_type, request_id, client_key_id, expert_id, payload, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        e.event_type,
        e.request_id,
        e.client_key_id,
        e.expert_id,
        e.payload,
        e.created_at
    ])?;
    Ok(LoggedEvent {
        id: conn.last_insert_rowid(),
        event_type: e.event_type.to_owned(),
        request_id: e.request_id.clone(),
        client_key_id: e.client_key_id.clone(),
        expert_id: e.expert_id.clone(),
        payload: e.payload.clone(),
        created_at: e.created_at,
    })
}

pub(super) const EVENT_SELECT: &str =
    "SELECT id, event_type, request_id, client_key_id, expert_id, payload,
    created_at FROM events";

pub(super) fn event_row(row: &Row<'_>) -> rusqlite::Result<LoggedEvent> {
    Ok(LoggedEvent {
        id: row.get(0)?,
        event_type: row.get(1)?,
        request_id: row.get(2)?,
        client_key_id: row.get(3)?,
        expert_id: row.get(4)?,
        payload: row.get(5)?,
        created_at: row.get(6)?,
    })
}
