//! Provisioning (PROTOCOL part D): what `heysummon-server expert add`, `client add`, … do,
//! as library functions over a [`Store`] so tests drive them in-process.

use heysummon_sdk::keys::SignPublicKey;
use heysummon_sdk::wire::{
    ClientAdded, ClientRevoked, ClientRotated, ExpertAdded, ExpertId, KeyId, RequestExpired,
    RequestId, RequestsListResponse, Status,
};

use crate::audit::{Actor, AuditKind, AuditNote};
use crate::clock::{Clock, timestamp};
use crate::ids::{CLIENT_KEY_PREFIX, EXPERT_KEY_PREFIX, hash_secret, new_id, new_key};
use crate::lifecycle::{self, Action, LifecycleError};
use crate::store::{DeviceRecord, NewClientKey, NewExpert, Store, StoreError};

/// How long a rotated-out client key keeps working.
pub const ROTATION_GRACE_MS: i64 = 24 * 3600 * 1000;

/// A provisioning failure, for people at a terminal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such expert, key or request.
    #[error("{0} not found")]
    NotFound(String),
    /// An argument is unusable.
    #[error("{0}")]
    Invalid(String),
}

/// `expert add --name NAME [--key VALUE]`: a new tenant with one expert.
pub async fn add_expert(
    store: &Store,
    clock: &Clock,
    name: &str,
    key: Option<String>,
) -> Result<ExpertAdded, ProvisionError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ProvisionError::Invalid("--name must not be empty".into()));
    }
    let key = key.unwrap_or_else(|| new_key(EXPERT_KEY_PREFIX));
    if key.is_empty() {
        return Err(ProvisionError::Invalid("--key must not be empty".into()));
    }
    let id = new_id();
    let now = clock.now();
    let created =
        AuditNote::new(AuditKind::KeyCreated, Actor::Admin, &id, now).with("keyType", "expert");
    store
        .insert_expert(
            NewExpert {
                id: id.clone(),
                owner_id: new_id(),
                name: name.to_owned(),
                key_hash: hash_secret(&key),
                created_at: now,
            },
            created,
        )
        .await
        .map_err(|e| duplicate_key(e, "expert"))?;
    Ok(ExpertAdded {
        expert_id: ExpertId::new(id),
        expert_key: key,
    })
}

/// Options of `client add`.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// Display name.
    pub name: Option<String>,
    /// Store exactly this key instead of generating one.
    pub key: Option<String>,
    /// Create the key inactive.
    pub inactive: bool,
    /// Bind the key to `x-device-token: TOKEN`.
    pub device_token: Option<String>,
    /// Enroll an Ed25519 device key (hex DER SPKI, PEM or base64).
    pub device_key: Option<String>,
    /// Who creates the key, for the audit log (default: an operator at the command line).
    pub created_by: Actor,
}

/// A new tenant with one expert named `expert_name` and one client key linked to it, named
/// `client_name` (the first run of `serve`, test and benchmark servers).
pub async fn add_tenant(
    store: &Store,
    clock: &Clock,
    expert_name: &str,
    client_name: Option<String>,
) -> Result<(ExpertAdded, ClientAdded), ProvisionError> {
    let expert = add_expert(store, clock, expert_name, None).await?;
    let options = ClientOptions {
        name: client_name,
        ..ClientOptions::default()
    };
    let client = add_client(store, clock, expert.expert_id.as_str(), options).await?;
    Ok((expert, client))
}

/// `client add --expert ID …`: a client key linked to an expert.
pub async fn add_client(
    store: &Store,
    clock: &Clock,
    expert_id: &str,
    options: ClientOptions,
) -> Result<ClientAdded, ProvisionError> {
    if store.expert(expert_id).await?.is_none() {
        return Err(ProvisionError::NotFound(format!("expert {expert_id}")));
    }
    let device = options
        .device_key
        .as_deref()
        .map(SignPublicKey::parse)
        .transpose()
        .map_err(|e| ProvisionError::Invalid(format!("--device-key: {e}")))?;
    let key = options.key.unwrap_or_else(|| new_key(CLIENT_KEY_PREFIX));
    if key.is_empty() {
        return Err(ProvisionError::Invalid("--key must not be empty".into()));
    }
    let now = clock.now();
    let id = new_id();
    let created = AuditNote::new(AuditKind::KeyCreated, options.created_by.clone(), &id, now)
        .with("keyType", "client")
        .with("expertId", expert_id);
    let record = store
        .insert_client_key(
            NewClientKey {
                id,
                expert_id: expert_id.to_owned(),
                name: options.name,
                key_hash: hash_secret(&key),
                is_active: !options.inactive,
                device_token_hash: options.device_token.as_deref().map(hash_secret),
                created_at: now,
            },
            created,
        )
        .await
        .map_err(|e| duplicate_key(e, "client"))?;
    if let Some(device) = device {
        let device = DeviceRecord {
            id: device.device_id(),
            client_key_id: record.id.clone(),
            public_key: device.to_hex(),
            created_at: now,
        };
        let note = crate::audit::device_note(options.created_by.clone(), &device);
        let enrolled = store.insert_device(device, false, note).await?;
        if !enrolled {
            // Never leave a key that was meant to require signatures without its device.
            let revoked = AuditNote::new(AuditKind::KeyRevoked, Actor::System, &record.id, now)
                .with("reason", "device already enrolled");
            store.revoke_client_key(&record.id, revoked).await?;
            return Err(ProvisionError::Invalid(
                "--device-key: that device is already enrolled for another key".into(),
            ));
        }
    }
    Ok(ClientAdded {
        key_id: KeyId::new(record.id),
        client_key: key,
    })
}

fn duplicate_key(error: StoreError, kind: &str) -> ProvisionError {
    match &error {
        StoreError::UniqueViolation { .. } => {
            ProvisionError::Invalid(format!("that {kind} key is already in use"))
        }
        _ => ProvisionError::Store(error),
    }
}

/// `client revoke KEY_ID` (by `actor`: an operator, or the key's expert in the dashboard).
pub async fn revoke_client(
    store: &Store,
    clock: &Clock,
    actor: Actor,
    key_id: &str,
) -> Result<ClientRevoked, ProvisionError> {
    let revoked = AuditNote::new(AuditKind::KeyRevoked, actor, key_id, clock.now());
    if !store.revoke_client_key(key_id, revoked).await? {
        return Err(ProvisionError::NotFound(format!("client key {key_id}")));
    }
    Ok(ClientRevoked {
        key_id: KeyId::new(key_id),
        status: "revoked".into(),
    })
}

/// `client rotate KEY_ID`: a new key; the old one keeps working for 24 h (by `actor`: an
/// operator, or the key's expert in the dashboard).
pub async fn rotate_client(
    store: &Store,
    clock: &Clock,
    actor: Actor,
    key_id: &str,
) -> Result<ClientRotated, ProvisionError> {
    let key = new_key(CLIENT_KEY_PREFIX);
    let now = clock.now();
    let grace_until = now + ROTATION_GRACE_MS;
    let rotated = AuditNote::new(AuditKind::KeyRotated, actor, key_id, now)
        .with("previousKeyExpiresAt", grace_until);
    if !store
        .rotate_client_key(key_id, hash_secret(&key), grace_until, rotated)
        .await?
    {
        return Err(ProvisionError::NotFound(format!(
            "active client key {key_id}"
        )));
    }
    Ok(ClientRotated {
        key_id: KeyId::new(key_id),
        client_key: key,
        previous_key_expires_at: timestamp(grace_until),
    })
}

/// `request expire REQUEST_ID`: force a live request to `expired`.
pub async fn expire_request(
    store: &Store,
    clock: &Clock,
    request_id: &str,
) -> Result<RequestExpired, ProvisionError> {
    let request = store
        .request(request_id)
        .await?
        .ok_or_else(|| ProvisionError::NotFound(format!("request {request_id}")))?;
    match lifecycle::perform(store, request, Action::ExpireNow, clock.now()).await {
        Ok(_) => {}
        Err(LifecycleError::Refused(lifecycle::Refusal::Terminal(Status::Expired))) => {}
        Err(LifecycleError::Refused(refusal)) => {
            return Err(ProvisionError::Invalid(format!(
                "request {request_id} cannot expire: {refusal:?}"
            )));
        }
        Err(LifecycleError::Store(error)) => return Err(error.into()),
    }
    Ok(RequestExpired {
        request_id: RequestId::new(request_id),
        status: Status::Expired,
    })
}

/// `request list [--status S]`.
pub async fn list_requests(
    store: &Store,
    status: Option<&str>,
) -> Result<RequestsListResponse, ProvisionError> {
    let records = store
        .all_requests(status.map(|s| s.to_ascii_lowercase()))
        .await?;
    let requests = records
        .iter()
        .map(|r| {
            crate::views::request_summary(r, false)
                .ok_or_else(|| ProvisionError::Invalid(format!("corrupt request {}", r.id)))
        })
        .collect::<Result<_, _>>()?;
    Ok(RequestsListResponse { requests })
}

/// Printed by `expert link --json`.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityLinked {
    /// The expert.
    pub expert_id: String,
    /// The provider's name.
    pub provider: String,
    /// The provider's stable id of the person.
    pub subject: String,
}

/// `expert link EXPERT_ID --provider NAME --subject ID`: the identity signs in as the expert.
pub async fn link_identity(
    store: &Store,
    clock: &Clock,
    expert_id: &str,
    provider: &str,
    subject: &str,
) -> Result<IdentityLinked, ProvisionError> {
    let (provider, subject) = (provider.trim(), subject.trim());
    if provider.is_empty() || subject.is_empty() {
        return Err(ProvisionError::Invalid(
            "--provider and --subject must not be empty".into(),
        ));
    }
    if !crate::config::PROVIDER_IDS.contains(&provider) {
        return Err(ProvisionError::Invalid(format!(
            "--provider must be one of {}",
            crate::config::PROVIDER_IDS.join(", ")
        )));
    }
    if store.expert(expert_id).await?.is_none() {
        return Err(ProvisionError::NotFound(format!("expert {expert_id}")));
    }
    store
        .link_identity(provider, subject, expert_id, clock.now())
        .await
        .map_err(|error| match error {
            StoreError::UniqueViolation { .. } => ProvisionError::Invalid(format!(
                "{provider} identity {subject} is already linked to an expert"
            )),
            other => ProvisionError::Store(other),
        })?;
    Ok(IdentityLinked {
        expert_id: expert_id.to_owned(),
        provider: provider.to_owned(),
        subject: subject.to_owned(),
    })
}
