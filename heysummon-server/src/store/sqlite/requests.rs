//! Creating requests, reading them, listing them, and their messages.

use std::sync::LazyLock;

use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use super::rows::{
    MESSAGE_SELECT, collect_requests, insert_event, insert_message, message_row, request_row,
};
use super::tokens::stored_response;
use crate::clock::Millis;
use crate::store::statuses;
use crate::store::{CreateOutcome, MessageRecord, NewRequest, RequestRecord, StoreError};

impl SqliteStore {
    pub(crate) async fn create_request(
        &self,
        new: NewRequest,
    ) -> Result<CreateOutcome, StoreError> {
        self.write_logged(move |conn, appended| {
            if let Some(idem) = &new.idempotency
                && let Some(response) = stored_response(conn, &idem.client_key_id, &idem.key)?
            {
                return Ok(CreateOutcome::Replayed(response));
            }
            let r = &new.request;
            // A taken reference code fails as the unique violation on `requests.ref_code`.
            conn.prepare_cached(
                "INSERT INTO requests (
                    id, ref_code, client_key_id, expert_id, status, response_required,
                    requires_approval, sealed, question, messages_json, content_flags,
                    consumer_sign_key, consumer_encrypt_key, legacy_public_key,
                    expert_sign_key, expert_encrypt_key, created_at, expires_at,
                    status_changed_at, message_count, action_json, action_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                         ?17, ?18, ?19, ?20, ?21, ?22)",
            )?
            .execute(params![
                r.id,
                r.ref_code,
                r.client_key_id,
                r.expert_id,
                r.status.as_str(),
                r.response_required,
                r.requires_approval,
                r.sealed,
                r.question,
                r.messages_json,
                r.content_flags,
                r.consumer_sign_key,
                r.consumer_encrypt_key,
                r.legacy_public_key,
                r.expert_sign_key,
                r.expert_encrypt_key,
                r.created_at,
                r.expires_at,
                r.status_changed_at,
                r.message_count,
                r.action_json,
                r.action_hash,
            ])?;
            if let Some(message) = &new.first_message {
                insert_message(conn, message)?;
            }
            if let Some(idem) = &new.idempotency {
                conn.prepare_cached(
                    "INSERT INTO idempotency_keys
                       (client_key_id, idempotency_key, request_id, response_json, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    idem.client_key_id,
                    idem.key,
                    r.id,
                    idem.response_json,
                    r.created_at
                ])?;
            }
            for event in &new.events {
                appended.push(insert_event(conn, event)?);
            }
            Ok(CreateOutcome::Created)
        })
        .await
    }

    pub(crate) async fn request(&self, id: &str) -> Result<Option<RequestRecord>, StoreError> {
        let id = id.to_owned();
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT * FROM requests WHERE id = ?1")?;
            Ok(stmt.query_row([id], request_row).optional()?.transpose()?)
        })
        .await
    }

    pub(crate) async fn request_by_ref(
        &self,
        ref_code: &str,
    ) -> Result<Option<RequestRecord>, StoreError> {
        let ref_code = ref_code.to_owned();
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT * FROM requests WHERE ref_code = ?1")?;
            Ok(stmt
                .query_row([ref_code], request_row)
                .optional()?
                .transpose()?)
        })
        .await
    }

    pub(crate) async fn requests_for_expert(
        &self,
        expert_id: &str,
        status: Option<String>,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let expert_id = expert_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT * FROM requests WHERE expert_id = ?1 AND (?2 IS NULL OR status = ?2)
                 ORDER BY created_at DESC, id DESC LIMIT 1000",
            )?;
            collect_requests(stmt.query_map(params![expert_id, status], request_row)?)
        })
        .await
    }

    pub(crate) async fn all_requests(
        &self,
        status: Option<String>,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT * FROM requests WHERE (?1 IS NULL OR status = ?1)
                 ORDER BY created_at DESC, id DESC",
            )?;
            collect_requests(stmt.query_map(params![status], request_row)?)
        })
        .await
    }

    pub(crate) async fn expert_pending(
        &self,
        expert_id: &str,
        now: Millis,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let expert_id = expert_id.to_owned();
        self.read(move |conn| {
            static SQL: LazyLock<String> = LazyLock::new(|| {
                format!(
                    "SELECT * FROM requests
                     WHERE expert_id = ?1 AND expert_delivered_at IS NULL AND expires_at > ?2
                       AND status IN {}
                     ORDER BY created_at, id LIMIT 500",
                    statuses::waiting()
                )
            });
            let mut stmt = conn.prepare_cached(&SQL)?;
            collect_requests(stmt.query_map(params![expert_id, now], request_row)?)
        })
        .await
    }

    pub(crate) async fn waiting_count(&self, now: Millis) -> Result<u64, StoreError> {
        self.read(move |conn| {
            static SQL: LazyLock<String> = LazyLock::new(|| {
                format!(
                    "SELECT COUNT(*) FROM requests WHERE expires_at > ?1 AND status IN {}",
                    statuses::waiting()
                )
            });
            let count: i64 = conn.prepare_cached(&SQL)?.query_row([now], |r| r.get(0))?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
        .await
    }

    pub(crate) async fn consumer_pending(
        &self,
        client_key_id: &str,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let client_key_id = client_key_id.to_owned();
        self.read(move |conn| {
            static SQL: LazyLock<String> = LazyLock::new(|| {
                format!(
                    "SELECT * FROM requests
                     WHERE client_key_id = ?1 AND (
                        COALESCE(last_expert_event, 0) > COALESCE(consumer_ack_event, 0)
                        OR (status IN {}
                            AND COALESCE(last_status_event, 0) > COALESCE(consumer_ack_event, 0)))
                     ORDER BY created_at, id LIMIT 500",
                    statuses::announced_to_consumer()
                )
            });
            let mut stmt = conn.prepare_cached(&SQL)?;
            collect_requests(stmt.query_map(params![client_key_id], request_row)?)
        })
        .await
    }

    pub(crate) async fn messages(
        &self,
        request_id: &str,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let request_id = request_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{MESSAGE_SELECT} WHERE request_id = ?1 ORDER BY seq"
            ))?;
            let mut messages = Vec::new();
            for row in stmt.query_map([request_id], message_row)? {
                messages.push(row??);
            }
            Ok(messages)
        })
        .await
    }
}
