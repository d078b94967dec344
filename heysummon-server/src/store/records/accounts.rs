//! Tenants, experts, client keys and devices.

use crate::clock::Millis;

/// SHA-256 of a key or token: the only form in which keys are stored.
pub type KeyHash = [u8; 32];

/// A tenant: owns experts and client keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerRecord {
    /// Opaque id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// An expert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpertRecord {
    /// Opaque id.
    pub id: String,
    /// The tenant.
    pub owner_id: String,
    /// Display name.
    pub name: String,
    /// Inactive experts cannot authenticate.
    pub is_active: bool,
    /// Published Ed25519 key (hex DER SPKI), PROTOCOL B3.
    pub sign_public_key: Option<String>,
    /// Published X25519 key (hex DER SPKI).
    pub encrypt_public_key: Option<String>,
    /// Fingerprint of the published keys.
    pub fingerprint: Option<String>,
}

/// What `expert add` creates: a tenant and its expert.
#[derive(Clone, Debug)]
pub struct NewExpert {
    /// Expert id (also used to derive the tenant id).
    pub id: String,
    /// Tenant id.
    pub owner_id: String,
    /// Display name of expert and tenant.
    pub name: String,
    /// Hash of the expert key.
    pub key_hash: KeyHash,
    /// Creation time.
    pub created_at: Millis,
}

/// A client (agent) key, found by its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientKeyRecord {
    /// Opaque key id (`keyId`); never the key.
    pub id: String,
    /// The tenant.
    pub owner_id: String,
    /// The expert this key's requests are routed to.
    pub expert_id: String,
    /// Display name.
    pub name: Option<String>,
    /// Revoked keys are inactive.
    pub is_active: bool,
    /// Hash of the device token the key is bound to, if any.
    pub device_token_hash: Option<KeyHash>,
    /// Per-key rate limit override (requests per minute).
    pub rate_limit_per_minute: Option<u32>,
    /// Whether any signing device is enrolled (then every request must be signed).
    pub has_devices: bool,
    /// When the key last authenticated a request (updated at most once a minute).
    pub last_used_at: Option<Millis>,
}

/// What `client add` creates.
#[derive(Clone, Debug)]
pub struct NewClientKey {
    /// Key id.
    pub id: String,
    /// The expert the key is linked to.
    pub expert_id: String,
    /// Display name.
    pub name: Option<String>,
    /// Hash of the key.
    pub key_hash: KeyHash,
    /// Whether the key starts active.
    pub is_active: bool,
    /// Hash of a device token to bind the key to.
    pub device_token_hash: Option<KeyHash>,
    /// Creation time.
    pub created_at: Millis,
}

/// An enrolled signing device (PROTOCOL B4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Hex SHA-256 of the DER SPKI.
    pub id: String,
    /// The client key it signs for.
    pub client_key_id: String,
    /// Hex DER SPKI of the Ed25519 key.
    pub public_key: String,
    /// Enrollment time.
    pub created_at: Millis,
}
