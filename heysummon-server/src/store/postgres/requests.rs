//! Creating requests, reading them, listing them, and their messages. Ids break ties in
//! listings byte-wise (`COLLATE "C"`), as in SQLite, whatever the database's collation.

use std::sync::LazyLock;

use deadpool_postgres::Transaction;
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::ToSql;

use super::rows::{MESSAGE_SELECT, col, insert_message, message_row, request_row, request_rows};
use super::{PgResult, PgStore, pg, sequencer};
use crate::clock::Millis;
use crate::store::statuses;
use crate::store::{CreateOutcome, MessageRecord, NewRequest, RequestRecord, StoreError};

/// Attempts at a creation whose idempotency key keeps vanishing under it (see
/// [`PgStore::create_request`]).
const CREATE_ATTEMPTS: usize = 3;

impl PgStore {
    /// Creates the request, its first message, its idempotency record and its events in one
    /// transaction (read committed: each statement sees what committed before it).
    ///
    /// A key already used by the client replays the stored response, even when the first
    /// creation with that key commits on another instance while this one runs: the
    /// idempotency record is inserted first, `ON CONFLICT DO NOTHING` waits for a concurrent
    /// insert of the same key, and when that one committed this transaction reads its
    /// response and rolls back (should that record be pruned before it is read, the creation
    /// is attempted afresh, up to [`CREATE_ATTEMPTS`] times). A taken reference code fails as
    /// the unique violation on `requests.ref_code`.
    pub(crate) async fn create_request(
        &self,
        new: NewRequest,
    ) -> Result<CreateOutcome, StoreError> {
        for _ in 0..CREATE_ATTEMPTS {
            if let Some(outcome) = self.try_create(&new).await? {
                return Ok(outcome);
            }
        }
        Err(StoreError::Conflict)
    }

    /// One attempt at [`Self::create_request`]; `None` when the key was taken by a record that
    /// was gone by the time it was read (pruned in between), so that the next attempt is a
    /// fresh creation.
    async fn try_create(&self, new: &NewRequest) -> PgResult<Option<CreateOutcome>> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await
            .map_err(pg)?;
        let r = &new.request;
        if let Some(idem) = &new.idempotency {
            if let Some(response) = stored_response(&tx, &idem.client_key_id, &idem.key).await? {
                tx.rollback().await.map_err(pg)?;
                return Ok(Some(CreateOutcome::Replayed(response)));
            }
            let claimed = tx
                .execute(
                    &tx.prepare_cached(
                        "INSERT INTO idempotency_keys
                           (client_key_id, idempotency_key, request_id, response_json, created_at)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (client_key_id, idempotency_key) DO NOTHING",
                    )
                    .await
                    .map_err(pg)?,
                    &[
                        &idem.client_key_id,
                        &idem.key,
                        &r.id,
                        &idem.response_json,
                        &r.created_at,
                    ],
                )
                .await
                .map_err(pg)?;
            if claimed == 0 {
                // A concurrent creation with this key committed first: its response is
                // visible to this (later) statement.
                let stored = stored_response(&tx, &idem.client_key_id, &idem.key).await?;
                tx.rollback().await.map_err(pg)?;
                return Ok(stored.map(CreateOutcome::Replayed));
            }
        }
        insert_request(&tx, r).await?;
        if let Some(message) = &new.first_message {
            // A new request: its first message cannot be a duplicate.
            insert_message(&tx, message).await?;
        }
        let stamps = sequencer::stage(&tx, &new.events).await.map_err(pg)?;
        super::commit(tx).await?;
        // Publishing reads the log on a connection of its own: this one goes back first, or
        // a full pool would wait on itself.
        drop(client);
        if !stamps.is_empty() {
            self.publish_appended().await;
        }
        Ok(Some(CreateOutcome::Created))
    }

    pub(crate) async fn request(&self, id: &str) -> Result<Option<RequestRecord>, StoreError> {
        self.one_request("SELECT * FROM requests WHERE id = $1", id)
            .await
    }

    pub(crate) async fn request_by_ref(
        &self,
        ref_code: &str,
    ) -> Result<Option<RequestRecord>, StoreError> {
        self.one_request("SELECT * FROM requests WHERE ref_code = $1", ref_code)
            .await
    }

    pub(crate) async fn requests_for_expert(
        &self,
        expert_id: &str,
        status: Option<String>,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        self.requests(
            "SELECT * FROM requests WHERE expert_id = $1 AND ($2::TEXT IS NULL OR status = $2)
             ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT 1000",
            &[&expert_id, &status],
        )
        .await
    }

    pub(crate) async fn all_requests(
        &self,
        status: Option<String>,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        self.requests(
            "SELECT * FROM requests WHERE ($1::TEXT IS NULL OR status = $1)
             ORDER BY created_at DESC, id COLLATE \"C\" DESC",
            &[&status],
        )
        .await
    }

    pub(crate) async fn expert_pending(
        &self,
        expert_id: &str,
        now: Millis,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT * FROM requests
                 WHERE expert_id = $1 AND expert_delivered_at IS NULL AND expires_at > $2
                   AND status IN {}
                 ORDER BY created_at, id COLLATE \"C\" LIMIT 500",
                statuses::waiting()
            )
        });
        self.requests(&SQL, &[&expert_id, &now]).await
    }

    pub(crate) async fn waiting_count(&self, now: Millis) -> Result<u64, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT COUNT(*) FROM requests WHERE expires_at > $1 AND status IN {}",
                statuses::waiting()
            )
        });
        let client = self.client().await?;
        let statement = client.prepare_cached(&SQL).await.map_err(pg)?;
        let row = client.query_one(&statement, &[&now]).await.map_err(pg)?;
        let count: i64 = col(&row, 0)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    pub(crate) async fn consumer_pending(
        &self,
        client_key_id: &str,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT * FROM requests
                 WHERE client_key_id = $1 AND (
                    COALESCE(last_expert_event, 0) > COALESCE(consumer_ack_event, 0)
                    OR (status IN {}
                        AND COALESCE(last_status_event, 0) > COALESCE(consumer_ack_event, 0)))
                 ORDER BY created_at, id COLLATE \"C\" LIMIT 500",
                statuses::announced_to_consumer()
            )
        });
        self.requests(&SQL, &[&client_key_id]).await
    }

    pub(crate) async fn messages(
        &self,
        request_id: &str,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "{MESSAGE_SELECT} WHERE request_id = $1 ORDER BY seq"
            ))
            .await
            .map_err(pg)?;
        let rows = client.query(&statement, &[&request_id]).await.map_err(pg)?;
        rows.iter().map(message_row).collect()
    }

    /// The request a one-parameter query finds, if any.
    async fn one_request(&self, sql: &str, key: &str) -> PgResult<Option<RequestRecord>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(pg)?;
        let row = client.query_opt(&statement, &[&key]).await.map_err(pg)?;
        row.as_ref().map(request_row).transpose()
    }

    /// The requests a query finds, in its order.
    async fn requests(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> PgResult<Vec<RequestRecord>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(pg)?;
        let rows = client.query(&statement, params).await.map_err(pg)?;
        request_rows(&rows)
    }
}

/// Inserts the row of a new request (at version 0, as the column's default).
async fn insert_request(tx: &Transaction<'_>, r: &RequestRecord) -> PgResult<()> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO requests (
                id, ref_code, client_key_id, expert_id, status, response_required,
                requires_approval, sealed, question, messages_json, content_flags,
                consumer_sign_key, consumer_encrypt_key, legacy_public_key,
                expert_sign_key, expert_encrypt_key, created_at, expires_at,
                status_changed_at, message_count, action_json, action_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                     $17, $18, $19, $20, $21, $22)",
        )
        .await
        .map_err(pg)?;
    tx.execute(
        &statement,
        &[
            &r.id,
            &r.ref_code,
            &r.client_key_id,
            &r.expert_id,
            &r.status.as_str(),
            &r.response_required,
            &r.requires_approval,
            &r.sealed,
            &r.question,
            &r.messages_json,
            &r.content_flags,
            &r.consumer_sign_key,
            &r.consumer_encrypt_key,
            &r.legacy_public_key,
            &r.expert_sign_key,
            &r.expert_encrypt_key,
            &r.created_at,
            &r.expires_at,
            &r.status_changed_at,
            &i64::from(r.message_count),
            &r.action_json,
            &r.action_hash,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// The response stored with an idempotency key of a client, if any.
async fn stored_response(
    tx: &Transaction<'_>,
    client_key_id: &str,
    key: &str,
) -> PgResult<Option<String>> {
    let statement = tx
        .prepare_cached(
            "SELECT response_json FROM idempotency_keys
             WHERE client_key_id = $1 AND idempotency_key = $2",
        )
        .await
        .map_err(pg)?;
    let row = tx
        .query_opt(&statement, &[&client_key_id, &key])
        .await
        .map_err(pg)?;
    row.as_ref().map(|row| col(row, 0)).transpose()
}
