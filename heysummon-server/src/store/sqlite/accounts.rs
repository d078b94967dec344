//! Experts, tenants, client keys and devices.

use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use super::audit::append;
use super::rows::{EXPERT_SELECT, expert_row, hash_column};
use crate::clock::Millis;
use crate::store::audit::AuditAppend;
use crate::store::{
    ClientKeyRecord, DeviceRecord, ExpertRecord, KeyHash, NewClientKey, NewExpert, OwnerRecord,
    StoreError,
};

impl SqliteStore {
    pub(crate) async fn is_empty(&self) -> Result<bool, StoreError> {
        self.read(|conn| {
            let count: i64 = conn.query_row("SELECT COUNT(*) FROM experts", [], |r| r.get(0))?;
            Ok(count == 0)
        })
        .await
    }

    pub(crate) async fn insert_expert(
        &self,
        new: NewExpert,
        audit: Option<AuditAppend>,
    ) -> Result<ExpertRecord, StoreError> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO owners (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![new.owner_id, new.name, new.created_at],
            )?;
            conn.execute(
                "INSERT INTO experts (id, owner_id, name, key_hash, is_active, created_at)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5)",
                params![
                    new.id,
                    new.owner_id,
                    new.name,
                    &new.key_hash[..],
                    new.created_at
                ],
            )?;
            append(conn, audit.as_ref())?;
            Ok(ExpertRecord {
                id: new.id,
                owner_id: new.owner_id,
                name: new.name,
                is_active: true,
                sign_public_key: None,
                encrypt_public_key: None,
                fingerprint: None,
            })
        })
        .await
    }

    pub(crate) async fn insert_client_key(
        &self,
        new: NewClientKey,
        audit: Option<AuditAppend>,
    ) -> Result<ClientKeyRecord, StoreError> {
        self.write(move |conn| {
            let owner_id: String = conn.query_row(
                "SELECT owner_id FROM experts WHERE id = ?1",
                [&new.expert_id],
                |r| r.get(0),
            )?;
            conn.execute(
                "INSERT INTO client_keys
                   (id, owner_id, expert_id, name, key_hash, is_active, device_token_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    new.id,
                    owner_id,
                    new.expert_id,
                    new.name,
                    &new.key_hash[..],
                    new.is_active,
                    new.device_token_hash.as_ref().map(|h| &h[..]),
                    new.created_at
                ],
            )?;
            append(conn, audit.as_ref())?;
            Ok(ClientKeyRecord {
                id: new.id,
                owner_id,
                expert_id: new.expert_id,
                name: new.name,
                is_active: new.is_active,
                device_token_hash: new.device_token_hash,
                rate_limit_per_minute: None,
                has_devices: false,
                last_used_at: None,
            })
        })
        .await
    }

    pub(crate) async fn revoke_client_key(
        &self,
        key_id: &str,
        audit: Option<AuditAppend>,
    ) -> Result<bool, StoreError> {
        let key_id = key_id.to_owned();
        self.write(move |conn| {
            let changed = conn.execute(
                "UPDATE client_keys SET is_active = 0, previous_key_hash = NULL WHERE id = ?1",
                [key_id],
            )?;
            if changed == 1 {
                append(conn, audit.as_ref())?;
            }
            Ok(changed == 1)
        })
        .await
    }

    pub(crate) async fn rotate_client_key(
        &self,
        key_id: &str,
        new_hash: KeyHash,
        grace_until: Millis,
        audit: Option<AuditAppend>,
    ) -> Result<bool, StoreError> {
        let key_id = key_id.to_owned();
        self.write(move |conn| {
            let changed = conn.execute(
                "UPDATE client_keys
                 SET previous_key_hash = key_hash, previous_key_expires_at = ?2, key_hash = ?3
                 WHERE id = ?1 AND is_active = 1",
                params![key_id, grace_until, &new_hash[..]],
            )?;
            if changed == 1 {
                append(conn, audit.as_ref())?;
            }
            Ok(changed == 1)
        })
        .await
    }

    pub(crate) async fn client_key_by_hash(
        &self,
        hash: KeyHash,
        now: Millis,
    ) -> Result<Option<ClientKeyRecord>, StoreError> {
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, owner_id, expert_id, name, is_active, device_token_hash,
                        rate_limit_per_minute,
                        EXISTS (SELECT 1 FROM devices WHERE devices.client_key_id = client_keys.id),
                        last_used_at
                 FROM client_keys
                 WHERE key_hash = ?1
                    OR (previous_key_hash = ?1 AND previous_key_expires_at > ?2)
                 LIMIT 1",
            )?;
            Ok(stmt
                .query_row(params![&hash[..], now], |row| {
                    Ok(ClientKeyRecord {
                        id: row.get(0)?,
                        owner_id: row.get(1)?,
                        expert_id: row.get(2)?,
                        name: row.get(3)?,
                        is_active: row.get(4)?,
                        device_token_hash: hash_column(row, 5)?,
                        rate_limit_per_minute: row.get(6)?,
                        has_devices: row.get(7)?,
                        last_used_at: row.get(8)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    pub(crate) async fn expert_by_hash(
        &self,
        hash: KeyHash,
    ) -> Result<Option<ExpertRecord>, StoreError> {
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached(&format!("{EXPERT_SELECT} WHERE key_hash = ?1"))?;
            Ok(stmt.query_row([&hash[..]], expert_row).optional()?)
        })
        .await
    }

    pub(crate) async fn expert(&self, id: &str) -> Result<Option<ExpertRecord>, StoreError> {
        let id = id.to_owned();
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached(&format!("{EXPERT_SELECT} WHERE id = ?1"))?;
            Ok(stmt.query_row([id], expert_row).optional()?)
        })
        .await
    }

    pub(crate) async fn owner(&self, id: &str) -> Result<Option<OwnerRecord>, StoreError> {
        let id = id.to_owned();
        self.read_point(move |conn| {
            Ok(conn
                .query_row("SELECT id, name FROM owners WHERE id = ?1", [id], |row| {
                    Ok(OwnerRecord {
                        id: row.get(0)?,
                        name: row.get(1)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    pub(crate) async fn set_expert_keys(
        &self,
        expert_id: &str,
        sign: String,
        encrypt: String,
        fingerprint: String,
        audit: Option<AuditAppend>,
    ) -> Result<(), StoreError> {
        let expert_id = expert_id.to_owned();
        self.write(move |conn| {
            let changed = conn.execute(
                "UPDATE experts SET sign_public_key = ?2, encrypt_public_key = ?3, fingerprint = ?4
                 WHERE id = ?1",
                params![expert_id, sign, encrypt, fingerprint],
            )?;
            if changed == 1 {
                append(conn, audit.as_ref())?;
            }
            Ok(())
        })
        .await
    }

    pub(crate) async fn devices(
        &self,
        client_key_id: &str,
    ) -> Result<Vec<DeviceRecord>, StoreError> {
        let client_key_id = client_key_id.to_owned();
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, client_key_id, public_key, created_at FROM devices
                 WHERE client_key_id = ?1 ORDER BY created_at",
            )?;
            let rows = stmt.query_map([client_key_id], |row| {
                Ok(DeviceRecord {
                    id: row.get(0)?,
                    client_key_id: row.get(1)?,
                    public_key: row.get(2)?,
                    created_at: row.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub(crate) async fn insert_device(
        &self,
        device: DeviceRecord,
        only_if_first: bool,
        audit: Option<AuditAppend>,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let inserted = conn.execute(
                "INSERT OR IGNORE INTO devices (id, client_key_id, public_key, created_at)
                 SELECT ?1, ?2, ?3, ?4
                 WHERE NOT ?5 OR NOT EXISTS (SELECT 1 FROM devices WHERE client_key_id = ?2)",
                params![
                    device.id,
                    device.client_key_id,
                    device.public_key,
                    device.created_at,
                    only_if_first
                ],
            )?;
            if inserted == 1 {
                append(conn, audit.as_ref())?;
            }
            Ok(inserted == 1)
        })
        .await
    }
}
