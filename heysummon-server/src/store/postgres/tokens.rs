//! Single-use tokens: request nonces and idempotency records.

use super::rows::col;
use super::{PgResult, PgStore, pg};
use crate::clock::Millis;
use crate::store::StoreError;

impl PgStore {
    pub(crate) async fn idempotent_response(
        &self,
        client_key_id: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        stored_response(&client, client_key_id, key).await
    }

    /// One statement: of concurrent recordings of one nonce, on any instances, PostgreSQL
    /// lets exactly one insert (or replace an expired entry); the others find it live.
    pub(crate) async fn record_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        expires_at: Millis,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        // An expired entry may linger until the sweeper prunes it: replace it.
        let statement = client
            .prepare_cached(
                "INSERT INTO nonces (device_id, nonce, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (device_id, nonce) DO UPDATE SET expires_at = excluded.expires_at
                 WHERE nonces.expires_at <= $4",
            )
            .await
            .map_err(pg)?;
        let changed = client
            .execute(&statement, &[&device_id, &nonce, &expires_at, &now])
            .await
            .map_err(pg)?;
        Ok(changed == 1)
    }

    pub(crate) async fn prune(
        &self,
        now: Millis,
        idempotency_before: Millis,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        tx.execute("DELETE FROM nonces WHERE expires_at <= $1", &[&now])
            .await
            .map_err(pg)?;
        tx.execute(
            "DELETE FROM idempotency_keys WHERE created_at < $1",
            &[&idempotency_before],
        )
        .await
        .map_err(pg)?;
        super::commit(tx).await
    }
}

/// The response stored with an idempotency key of a client, if any. `client` is a pooled
/// connection or an open transaction.
pub(super) async fn stored_response<C>(
    client: &C,
    client_key_id: &str,
    key: &str,
) -> PgResult<Option<String>>
where
    C: deadpool_postgres::GenericClient + Sync,
{
    let statement = client
        .prepare_cached(
            "SELECT response_json FROM idempotency_keys
             WHERE client_key_id = $1 AND idempotency_key = $2",
        )
        .await
        .map_err(pg)?;
    let row = client
        .query_opt(&statement, &[&client_key_id, &key])
        .await
        .map_err(pg)?;
    row.map(|row| col(&row, 0)).transpose()
}
