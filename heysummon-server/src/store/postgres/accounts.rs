//! Experts, tenants, client keys and devices.

use tokio_postgres::Row;

use super::rows::{EXPERT_SELECT, col, expert_row, hash_col};
use super::{PgResult, PgStore, pg};
use crate::clock::Millis;
use crate::store::audit::AuditAppend;
use crate::store::{
    ClientKeyRecord, DeviceRecord, ExpertRecord, KeyHash, NewClientKey, NewExpert, OwnerRecord,
    StoreError,
};

/// Maps a row of the query in [`PgStore::client_key_by_hash`].
fn client_key_row(row: &Row) -> PgResult<ClientKeyRecord> {
    let rate_limit: Option<i64> = col(row, 6)?;
    let rate_limit_per_minute = rate_limit
        .map(|limit| {
            u32::try_from(limit).map_err(|_| StoreError::Corrupt(format!("rate limit {limit}")))
        })
        .transpose()?;
    Ok(ClientKeyRecord {
        id: col(row, 0)?,
        owner_id: col(row, 1)?,
        expert_id: col(row, 2)?,
        name: col(row, 3)?,
        is_active: col(row, 4)?,
        device_token_hash: hash_col(row, 5)?,
        rate_limit_per_minute,
        has_devices: col(row, 7)?,
        last_used_at: col(row, 8)?,
    })
}

fn device_row(row: &Row) -> PgResult<DeviceRecord> {
    Ok(DeviceRecord {
        id: col(row, 0)?,
        client_key_id: col(row, 1)?,
        public_key: col(row, 2)?,
        created_at: col(row, 3)?,
    })
}

impl PgStore {
    pub(crate) async fn is_empty(&self) -> Result<bool, StoreError> {
        let row = self
            .client()
            .await?
            .query_one("SELECT NOT EXISTS (SELECT 1 FROM experts)", &[])
            .await
            .map_err(pg)?;
        col(&row, 0)
    }

    /// The tenant and its expert, in one transaction.
    pub(crate) async fn insert_expert(
        &self,
        new: NewExpert,
        audit: Option<AuditAppend>,
    ) -> Result<ExpertRecord, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        tx.execute(
            "INSERT INTO owners (id, name, created_at) VALUES ($1, $2, $3)",
            &[&new.owner_id, &new.name, &new.created_at],
        )
        .await
        .map_err(pg)?;
        tx.execute(
            "INSERT INTO experts (id, owner_id, name, key_hash, is_active, created_at)
             VALUES ($1, $2, $3, $4, TRUE, $5)",
            &[
                &new.id,
                &new.owner_id,
                &new.name,
                &&new.key_hash[..],
                &new.created_at,
            ],
        )
        .await
        .map_err(pg)?;
        super::audit::append(&tx, audit.as_ref()).await?;
        super::commit(tx).await?;
        Ok(ExpertRecord {
            id: new.id,
            owner_id: new.owner_id,
            name: new.name,
            is_active: true,
            sign_public_key: None,
            encrypt_public_key: None,
            fingerprint: None,
        })
    }

    /// [`StoreError::NotFound`] when the expert does not exist (as SQLite's missing row).
    pub(crate) async fn insert_client_key(
        &self,
        new: NewClientKey,
        audit: Option<AuditAppend>,
    ) -> Result<ClientKeyRecord, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        // One statement: the tenant is read from the expert as the row is written.
        let row = tx
            .query_opt(
                "INSERT INTO client_keys
                   (id, owner_id, expert_id, name, key_hash, is_active, device_token_hash,
                    created_at)
                 SELECT $1::TEXT, owner_id, id, $3::TEXT, $4::BYTEA, $5::BOOLEAN, $6::BYTEA,
                        $7::BIGINT
                 FROM experts WHERE id = $2
                 RETURNING owner_id",
                &[
                    &new.id,
                    &new.expert_id,
                    &new.name,
                    &&new.key_hash[..],
                    &new.is_active,
                    &new.device_token_hash.as_ref().map(|h| &h[..]),
                    &new.created_at,
                ],
            )
            .await
            .map_err(pg)?
            .ok_or(StoreError::NotFound)?;
        super::audit::append(&tx, audit.as_ref()).await?;
        super::commit(tx).await?;
        Ok(ClientKeyRecord {
            id: new.id,
            owner_id: col(&row, 0)?,
            expert_id: new.expert_id,
            name: new.name,
            is_active: new.is_active,
            device_token_hash: new.device_token_hash,
            rate_limit_per_minute: None,
            has_devices: false,
            last_used_at: None,
        })
    }

    pub(crate) async fn revoke_client_key(
        &self,
        key_id: &str,
        audit: Option<AuditAppend>,
    ) -> Result<bool, StoreError> {
        let changed = self
            .execute_audited(
                "UPDATE client_keys SET is_active = FALSE, previous_key_hash = NULL WHERE id = $1",
                &[&key_id],
                audit.as_ref(),
            )
            .await?;
        Ok(changed == 1)
    }

    pub(crate) async fn rotate_client_key(
        &self,
        key_id: &str,
        new_hash: KeyHash,
        grace_until: Millis,
        audit: Option<AuditAppend>,
    ) -> Result<bool, StoreError> {
        let changed = self
            .execute_audited(
                "UPDATE client_keys
                 SET previous_key_hash = key_hash, previous_key_expires_at = $2, key_hash = $3
                 WHERE id = $1 AND is_active",
                &[&key_id, &grace_until, &&new_hash[..]],
                audit.as_ref(),
            )
            .await?;
        Ok(changed == 1)
    }

    pub(crate) async fn client_key_by_hash(
        &self,
        hash: KeyHash,
        now: Millis,
    ) -> Result<Option<ClientKeyRecord>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT id, owner_id, expert_id, name, is_active, device_token_hash,
                        rate_limit_per_minute,
                        EXISTS (SELECT 1 FROM devices WHERE devices.client_key_id = client_keys.id),
                        last_used_at
                 FROM client_keys
                 WHERE key_hash = $1
                    OR (previous_key_hash = $1 AND previous_key_expires_at > $2)
                 LIMIT 1",
            )
            .await
            .map_err(pg)?;
        let row = client
            .query_opt(&statement, &[&&hash[..], &now])
            .await
            .map_err(pg)?;
        row.as_ref().map(client_key_row).transpose()
    }

    pub(crate) async fn expert_by_hash(
        &self,
        hash: KeyHash,
    ) -> Result<Option<ExpertRecord>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!("{EXPERT_SELECT} WHERE key_hash = $1"))
            .await
            .map_err(pg)?;
        let row = client
            .query_opt(&statement, &[&&hash[..]])
            .await
            .map_err(pg)?;
        row.as_ref().map(expert_row).transpose()
    }

    pub(crate) async fn expert(&self, id: &str) -> Result<Option<ExpertRecord>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!("{EXPERT_SELECT} WHERE id = $1"))
            .await
            .map_err(pg)?;
        let row = client.query_opt(&statement, &[&id]).await.map_err(pg)?;
        row.as_ref().map(expert_row).transpose()
    }

    pub(crate) async fn owner(&self, id: &str) -> Result<Option<OwnerRecord>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT id, name FROM owners WHERE id = $1", &[&id])
            .await
            .map_err(pg)?;
        row.map(|row| {
            Ok(OwnerRecord {
                id: col(&row, 0)?,
                name: col(&row, 1)?,
            })
        })
        .transpose()
    }

    pub(crate) async fn set_expert_keys(
        &self,
        expert_id: &str,
        sign: String,
        encrypt: String,
        fingerprint: String,
        audit: Option<AuditAppend>,
    ) -> Result<(), StoreError> {
        self.execute_audited(
            "UPDATE experts SET sign_public_key = $2, encrypt_public_key = $3, fingerprint = $4
             WHERE id = $1",
            &[&expert_id, &sign, &encrypt, &fingerprint],
            audit.as_ref(),
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn devices(
        &self,
        client_key_id: &str,
    ) -> Result<Vec<DeviceRecord>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT id, client_key_id, public_key, created_at FROM devices
                 WHERE client_key_id = $1 ORDER BY created_at",
            )
            .await
            .map_err(pg)?;
        let rows = client
            .query(&statement, &[&client_key_id])
            .await
            .map_err(pg)?;
        rows.iter().map(device_row).collect()
    }

    /// With `only_if_first`, the client key's row is locked first, so of two enrollments
    /// racing on any instances only one finds the key without a device.
    pub(crate) async fn insert_device(
        &self,
        device: DeviceRecord,
        only_if_first: bool,
        audit: Option<AuditAppend>,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        if only_if_first {
            // NO KEY UPDATE: does not hold up inserts that merely reference the key.
            tx.execute(
                "SELECT 1 FROM client_keys WHERE id = $1 FOR NO KEY UPDATE",
                &[&device.client_key_id],
            )
            .await
            .map_err(pg)?;
        }
        let inserted = tx
            .execute(
                "INSERT INTO devices (id, client_key_id, public_key, created_at)
                 SELECT $1::TEXT, $2::TEXT, $3::TEXT, $4::BIGINT
                 WHERE NOT $5::BOOLEAN
                    OR NOT EXISTS (SELECT 1 FROM devices WHERE client_key_id = $2::TEXT)
                 ON CONFLICT DO NOTHING",
                &[
                    &device.id,
                    &device.client_key_id,
                    &device.public_key,
                    &device.created_at,
                    &only_if_first,
                ],
            )
            .await
            .map_err(pg)?;
        if inserted == 1 {
            super::audit::append(&tx, audit.as_ref()).await?;
        }
        super::commit(tx).await?;
        Ok(inserted == 1)
    }
}
