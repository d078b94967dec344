//! The store's side of accounts: tenants and their experts, client keys (created, rotated,
//! revoked, each with its audit entry in the same transaction), experts' published keys and
//! enrolled devices.

use super::{
    Backend, ClientKeyRecord, DeviceRecord, ExpertRecord, KeyHash, NewClientKey, NewExpert,
    OwnerRecord, Store, StoreError,
};
use crate::audit::AuditNote;
use crate::clock::Millis;

impl Store {
    /// Creates a tenant with one expert, and appends `audit` (its key's creation) to the
    /// audit log in the same transaction.
    pub async fn insert_expert(
        &self,
        expert: NewExpert,
        audit: AuditNote,
    ) -> Result<ExpertRecord, StoreError> {
        let audit = self.audit_append(vec![audit]).await?;
        delegate!(self.insert_expert(expert, audit))
    }

    /// Creates a client key linked to an expert (and so to the expert's tenant), and appends
    /// `audit` to the audit log in the same transaction.
    pub async fn insert_client_key(
        &self,
        key: NewClientKey,
        audit: AuditNote,
    ) -> Result<ClientKeyRecord, StoreError> {
        let audit = self.audit_append(vec![audit]).await?;
        delegate!(self.insert_client_key(key, audit))
    }

    /// Deactivates a client key, appending `audit` to the audit log in the same transaction.
    /// `false` (and no entry) when there is no such key.
    pub async fn revoke_client_key(
        &self,
        key_id: &str,
        audit: AuditNote,
    ) -> Result<bool, StoreError> {
        let audit = self.audit_append(vec![audit]).await?;
        delegate!(self.revoke_client_key(key_id, audit))
    }

    /// Replaces a client key's hash, keeping the old one valid until `grace_until`, appending
    /// `audit` to the audit log in the same transaction. `false` (and no entry) when there is
    /// no such active key.
    pub async fn rotate_client_key(
        &self,
        key_id: &str,
        new_hash: KeyHash,
        grace_until: Millis,
        audit: AuditNote,
    ) -> Result<bool, StoreError> {
        let audit = self.audit_append(vec![audit]).await?;
        delegate!(self.rotate_client_key(key_id, new_hash, grace_until, audit))
    }

    /// The client key with this hash (current, or previous within its rotation grace).
    pub async fn client_key_by_hash(
        &self,
        hash: KeyHash,
        now: Millis,
    ) -> Result<Option<ClientKeyRecord>, StoreError> {
        delegate!(self.client_key_by_hash(hash, now))
    }

    /// The expert with this key hash.
    pub async fn expert_by_hash(&self, hash: KeyHash) -> Result<Option<ExpertRecord>, StoreError> {
        delegate!(self.expert_by_hash(hash))
    }

    /// An expert by id.
    pub async fn expert(&self, id: &str) -> Result<Option<ExpertRecord>, StoreError> {
        delegate!(self.expert(id))
    }

    /// A tenant by id.
    pub async fn owner(&self, id: &str) -> Result<Option<OwnerRecord>, StoreError> {
        delegate!(self.owner(id))
    }

    /// Publishes an expert's long-term public keys (PROTOCOL B3), appending `audit` to the
    /// audit log in the same transaction.
    pub async fn set_expert_keys(
        &self,
        expert_id: &str,
        sign: String,
        encrypt: String,
        fingerprint: String,
        audit: AuditNote,
    ) -> Result<(), StoreError> {
        let audit = self.audit_append(vec![audit]).await?;
        delegate!(self.set_expert_keys(expert_id, sign, encrypt, fingerprint, audit))
    }

    /// The devices enrolled for a client key.
    pub async fn devices(&self, client_key_id: &str) -> Result<Vec<DeviceRecord>, StoreError> {
        delegate!(self.devices(client_key_id))
    }

    /// Enrolls a device, appending `audit` to the audit log in the same transaction. `false`
    /// (and no entry) when that device id is already enrolled, or when `only_if_first` and the
    /// key has a device already (an unsigned enrollment racing another).
    pub async fn insert_device(
        &self,
        device: DeviceRecord,
        only_if_first: bool,
        audit: AuditNote,
    ) -> Result<bool, StoreError> {
        let audit = self.audit_append(vec![audit]).await?;
        delegate!(self.insert_device(device, only_if_first, audit))
    }
}
