//! Single-use tokens: request nonces and idempotency records.

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use super::error::SqlResult;
use crate::clock::Millis;
use crate::store::StoreError;

impl SqliteStore {
    pub(crate) async fn idempotent_response(
        &self,
        client_key_id: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let (client_key_id, key) = (client_key_id.to_owned(), key.to_owned());
        self.read_point(move |conn| stored_response(conn, &client_key_id, &key))
            .await
    }

    pub(crate) async fn record_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        expires_at: Millis,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let (device_id, nonce) = (device_id.to_owned(), nonce.to_owned());
        self.write(move |conn| {
            // An expired entry may linger until the sweeper prunes it: replace it.
            let mut stmt = conn.prepare_cached(
                "INSERT INTO nonces (device_id, nonce, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (device_id, nonce) DO UPDATE SET expires_at = excluded.expires_at
                 WHERE nonces.expires_at <= ?4",
            )?;
            let changed = stmt.execute(params![device_id, nonce, expires_at, now])?;
            Ok(changed == 1)
        })
        .await
    }

    pub(crate) async fn prune(
        &self,
        now: Millis,
        idempotency_before: Millis,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute("DELETE FROM nonces WHERE expires_at <= ?1", [now])?;
            conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?1",
                [idempotency_before],
            )?;
            Ok(())
        })
        .await
    }
}

/// The response stored with an idempotency key of a client, if any.
pub(super) fn stored_response(
    conn: &Connection,
    client_key_id: &str,
    key: &str,
) -> SqlResult<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT response_json FROM idempotency_keys
             WHERE client_key_id = ?1 AND idempotency_key = ?2",
        )?
        .query_row(params![client_key_id, key], |r| r.get(0))
        .optional()?)
}
