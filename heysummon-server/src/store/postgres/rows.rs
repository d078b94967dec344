//! Mapping PostgreSQL rows to records, and records to rows. Columns are read with `try_get`:
//! a value of the wrong type is a corrupt row, never a panic.

use heysummon_sdk::wire::Status;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use super::{PgResult, pg};
use crate::store::columns::{parse_decision, parse_sender, sender_column};
use crate::store::{ExpertRecord, KeyHash, LoggedEvent, MessageRecord, RequestRecord, StoreError};

/// A column by name or position.
pub(crate) fn col<'a, I, T>(row: &'a Row, index: I) -> PgResult<T>
where
    I: tokio_postgres::row::RowIndex + std::fmt::Display,
    T: FromSql<'a>,
{
    row.try_get(index)
        .map_err(|e| StoreError::Corrupt(format!("column: {e}")))
}

/// A 32-byte hash column (`NULL` or another length reads as `None`).
pub(crate) fn hash_col<I>(row: &Row, index: I) -> PgResult<Option<KeyHash>>
where
    I: tokio_postgres::row::RowIndex + std::fmt::Display,
{
    let bytes: Option<Vec<u8>> = col(row, index)?;
    Ok(bytes.and_then(|b| b.try_into().ok()))
}

/// A non-negative count stored as BIGINT.
pub(crate) fn count_col<I>(row: &Row, index: I) -> PgResult<u32>
where
    I: tokio_postgres::row::RowIndex + std::fmt::Display,
{
    let value: i64 = col(row, index)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("count {value}")))
}

pub(crate) const EXPERT_SELECT: &str = "SELECT id, owner_id, name, is_active, sign_public_key,
    encrypt_public_key, fingerprint FROM experts";

pub(crate) fn expert_row(row: &Row) -> PgResult<ExpertRecord> {
    Ok(ExpertRecord {
        id: col(row, 0)?,
        owner_id: col(row, 1)?,
        name: col(row, 2)?,
        is_active: col(row, 3)?,
        sign_public_key: col(row, 4)?,
        encrypt_public_key: col(row, 5)?,
        fingerprint: col(row, 6)?,
    })
}

/// Maps a `SELECT *` row of `requests`.
pub(crate) fn request_row(row: &Row) -> PgResult<RequestRecord> {
    let status: String = col(row, "status")?;
    let decision: Option<String> = col(row, "approval_decision")?;
    let rating: Option<i64> = col(row, "rating")?;
    Ok(RequestRecord {
        id: col(row, "id")?,
        ref_code: col(row, "ref_code")?,
        client_key_id: col(row, "client_key_id")?,
        expert_id: col(row, "expert_id")?,
        status: Status::from_wire(&status),
        version: col(row, "version")?,
        response_required: col(row, "response_required")?,
        requires_approval: col(row, "requires_approval")?,
        approval_decision: parse_decision(decision.as_deref())?,
        action_json: col(row, "action_json")?,
        action_hash: col(row, "action_hash")?,
        decision_signature: col(row, "decision_signature")?,
        decided_at: col(row, "decided_at")?,
        sealed: col(row, "sealed")?,
        question: col(row, "question")?,
        messages_json: col(row, "messages_json")?,
        content_flags: col(row, "content_flags")?,
        consumer_sign_key: col(row, "consumer_sign_key")?,
        consumer_encrypt_key: col(row, "consumer_encrypt_key")?,
        legacy_public_key: col(row, "legacy_public_key")?,
        expert_sign_key: col(row, "expert_sign_key")?,
        expert_encrypt_key: col(row, "expert_encrypt_key")?,
        created_at: col(row, "created_at")?,
        expires_at: col(row, "expires_at")?,
        status_changed_at: col(row, "status_changed_at")?,
        responded_at: col(row, "responded_at")?,
        closed_at: col(row, "closed_at")?,
        acknowledged_at: col(row, "acknowledged_at")?,
        client_timed_out_at: col(row, "client_timed_out_at")?,
        expert_delivered_at: col(row, "expert_delivered_at")?,
        consumer_delivered_at: col(row, "consumer_delivered_at")?,
        latest_expert_message_at: col(row, "latest_expert_message_at")?,
        message_count: count_col(row, "message_count")?,
        last_expert_event: col(row, "last_expert_event")?,
        last_status_event: col(row, "last_status_event")?,
        consumer_ack_event: col(row, "consumer_ack_event")?,
        rating: rating.and_then(|r| u8::try_from(r).ok()),
        rating_feedback: col(row, "rating_feedback")?,
        rated_at: col(row, "rated_at")?,
    })
}

/// Maps every row of a `SELECT *` of `requests`.
pub(crate) fn request_rows(rows: &[Row]) -> PgResult<Vec<RequestRecord>> {
    rows.iter().map(request_row).collect()
}

pub(crate) const MESSAGE_SELECT: &str = "SELECT id, request_id, sender, ciphertext, iv, auth_tag,
    signature, message_id, plaintext, created_at FROM messages";

pub(crate) fn message_row(row: &Row) -> PgResult<MessageRecord> {
    let sender: String = col(row, 2)?;
    Ok(MessageRecord {
        id: col(row, 0)?,
        request_id: col(row, 1)?,
        sender: parse_sender(&sender)?,
        ciphertext: col(row, 3)?,
        iv: col(row, 4)?,
        auth_tag: col(row, 5)?,
        signature: col(row, 6)?,
        message_id: col(row, 7)?,
        plaintext: col(row, 8)?,
        created_at: col(row, 9)?,
    })
}

/// Inserts a message row inside a transaction; `false`, inserting nothing, when its message id
/// is already stored on the request (the constraint `UNIQUE (request_id, message_id)`, checked
/// before any other; a concurrent insert of the same id is waited for).
pub(crate) async fn insert_message(
    tx: &deadpool_postgres::Transaction<'_>,
    m: &MessageRecord,
) -> PgResult<bool> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO messages (id, request_id, sender, ciphertext, iv, auth_tag, signature,
                                   message_id, plaintext, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (request_id, message_id) DO NOTHING",
        )
        .await
        .map_err(pg)?;
    let inserted = tx
        .execute(
            &statement,
            &[
                &m.id,
                &m.request_id,
                &sender_column(m.sender),
                &m.ciphertext,
                &m.iv,
                &m.auth_tag,
                &m.signature,
                &m.message_id,
                &m.plaintext,
                &m.created_at,
            ],
        )
        .await
        .map_err(pg)?;
    Ok(inserted == 1)
}

pub(crate) const EVENT_SELECT: &str =
    "SELECT id, event_type, request_id, client_key_id, expert_id, payload, created_at FROM events";

/// Maps an [`EVENT_SELECT`] row. The columns are written only by this server: a wrong type is
/// read as empty rather than failing the whole page of the log.
pub(crate) fn event_row(row: &Row) -> LoggedEvent {
    LoggedEvent {
        id: row.try_get(0).unwrap_or_default(),
        event_type: row.try_get(1).unwrap_or_default(),
        request_id: row.try_get(2).unwrap_or_default(),
        client_key_id: row.try_get(3).unwrap_or_default(),
        expert_id: row.try_get(4).unwrap_or_default(),
        payload: row.try_get(5).unwrap_or_default(),
        created_at: row.try_get(6).unwrap_or_default(),
    }
}
