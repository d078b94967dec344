//! What the conformance tests get: a store on a fresh database of one backend, and fixtures.

use std::path::PathBuf;

use heysummon_sdk::wire::{Sender, Status};
use heysummon_server::audit::{Actor, AuditKey, AuditKind, AuditNote};
use heysummon_server::clock::Millis;
use heysummon_server::store::{
    Change, KeyHash, MessageRecord, NewClientKey, NewEvent, NewExpert, NewRequest, RequestPatch,
    RequestRecord, Store,
};
use heysummon_server::testing::postgres::TestDatabase;

/// A store freshly opened on an empty database, and the means to open another store on the
/// same database (as another process would).
pub(crate) struct TestDb {
    /// The store under test, with a bus of its own.
    pub(crate) store: Store,
    database: Database,
}

enum Database {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    /// With the audit key its stores share (a PostgreSQL store has no key file of its own).
    Postgres(TestDatabase, Box<AuditKey>),
}

impl TestDb {
    /// SQLite on a file in a temporary directory.
    pub(crate) async fn sqlite() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        Some(Self {
            store: Store::open_sqlite(&path).await.unwrap(),
            database: Database::Sqlite { _dir: dir, path },
        })
    }

    /// PostgreSQL on a database of its own (`None`: skipped, see `testing::postgres`).
    pub(crate) async fn postgres() -> Option<Self> {
        let database = TestDatabase::create().await?;
        let key = AuditKey::generate();
        Some(Self {
            store: Store::open(database.url())
                .await
                .unwrap()
                .with_audit_key(key.clone()),
            database: Database::Postgres(database, Box::new(key)),
        })
    }

    /// The PostgreSQL database's URL (`None` on SQLite).
    pub(crate) fn postgres_url(&self) -> Option<&str> {
        match &self.database {
            Database::Sqlite { .. } => None,
            Database::Postgres(database, _) => Some(database.url()),
        }
    }

    /// Runs SQL on the database behind the store's back (as someone editing it by hand); the
    /// database's error message when it refuses.
    pub(crate) async fn execute(&self, sql: &str) -> Result<(), String> {
        match &self.database {
            Database::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.execute_batch(sql).map_err(|e| e.to_string())
            }
            Database::Postgres(database, _) => {
                let (client, connection) =
                    tokio_postgres::connect(database.url(), tokio_postgres::NoTls)
                        .await
                        .unwrap();
                let driver = tokio::spawn(connection);
                let done = client.batch_execute(sql).await.map_err(|e| {
                    e.as_db_error()
                        .map_or_else(|| e.to_string(), |db| db.message().to_owned())
                });
                drop(client);
                let _ = driver.await;
                done
            }
        }
    }

    /// Another store on the same database with a bus of its own, like a second process (or
    /// a second server instance).
    pub(crate) async fn open_another(&self) -> Store {
        match &self.database {
            Database::Sqlite { path, .. } => Store::open_sqlite(path).await.unwrap(),
            Database::Postgres(database, key) => Store::open(database.url())
                .await
                .unwrap()
                .with_audit_key(AuditKey::clone(key)),
        }
    }
}

/// An expert and a client key routed to it.
#[derive(Clone)]
pub(crate) struct Tenant {
    /// The expert id.
    pub(crate) expert: String,
    /// The client key id.
    pub(crate) key: String,
}

/// A key hash derived from a name (distinct names, distinct hashes).
pub(crate) fn hash(name: &str) -> KeyHash {
    let mut hash = [0_u8; 32];
    for (slot, byte) in hash.iter_mut().zip(name.bytes()) {
        *slot = byte;
    }
    hash
}

/// An audit note by an operator at 1 000.
pub(crate) fn note(kind: AuditKind, subject: &str) -> AuditNote {
    AuditNote::new(kind, Actor::Admin, subject, 1_000)
}

/// Creates an expert `expert-{name}` (tenant `owner-{name}`) and a client key `key-{name}`.
pub(crate) async fn tenant(store: &Store, name: &str) -> Tenant {
    let expert = store
        .insert_expert(
            NewExpert {
                id: format!("expert-{name}"),
                owner_id: format!("owner-{name}"),
                name: name.to_owned(),
                key_hash: hash(&format!("expert key {name}")),
                created_at: 1_000,
            },
            note(AuditKind::KeyCreated, &format!("expert-{name}")),
        )
        .await
        .unwrap();
    let key = store
        .insert_client_key(
            NewClientKey {
                id: format!("key-{name}"),
                expert_id: expert.id.clone(),
                name: Some(name.to_owned()),
                key_hash: hash(&format!("client key {name}")),
                is_active: true,
                device_token_hash: None,
                created_at: 1_000,
            },
            note(AuditKind::KeyCreated, &format!("key-{name}")),
        )
        .await
        .unwrap();
    Tenant {
        expert: expert.id,
        key: key.id,
    }
}

/// A pending request created at 1 000 and expiring at 2 000, with a question.
pub(crate) fn request(id: &str, ref_code: &str, expert: &str, key: &str) -> RequestRecord {
    RequestRecord {
        question: Some(format!("question {id}")),
        ..RequestRecord::new(
            id.into(),
            ref_code.into(),
            key.into(),
            expert.into(),
            1_000,
            2_000,
        )
    }
}

/// [`request`] for a tenant, its reference code derived from the id.
pub(crate) fn request_of(tenant: &Tenant, id: &str) -> RequestRecord {
    request(id, &format!("HS-{id}"), &tenant.expert, &tenant.key)
}

/// An event about a request.
pub(crate) fn event(event_type: &'static str, request: &RequestRecord, at: Millis) -> NewEvent {
    NewEvent {
        event_type,
        request_id: request.id.clone(),
        client_key_id: request.client_key_id.clone(),
        expert_id: request.expert_id.clone(),
        payload: format!(r#"{{"type":"{event_type}","requestId":"{}"}}"#, request.id),
        created_at: at,
    }
}

/// The creation of a request with its `new_request` event.
pub(crate) fn creation(request: RequestRecord) -> NewRequest {
    NewRequest {
        events: vec![event("new_request", &request, request.created_at)],
        request,
        first_message: None,
        idempotency: None,
    }
}

/// Creates requests of a tenant by id, in order; returns them as stored.
pub(crate) async fn create(store: &Store, tenant: &Tenant, ids: &[&str]) -> Vec<RequestRecord> {
    let mut created = Vec::new();
    for id in ids {
        store
            .create_request(creation(request_of(tenant, id)))
            .await
            .unwrap();
        created.push(store.request(id).await.unwrap().unwrap());
    }
    created
}

/// The ids of requests, in order.
pub(crate) fn ids_of(records: Vec<RequestRecord>) -> Vec<String> {
    records.into_iter().map(|r| r.id).collect()
}

/// A message on a request.
pub(crate) fn message(request: &RequestRecord, sender: Sender, message_id: &str) -> MessageRecord {
    MessageRecord {
        id: format!("{}/{message_id}", request.id),
        request_id: request.id.clone(),
        sender,
        ciphertext: "ciphertext".into(),
        iv: "iv".into(),
        auth_tag: "tag".into(),
        signature: "signature".into(),
        message_id: message_id.into(),
        plaintext: None,
        created_at: 1_100,
    }
}

/// A step planned on `request` as read: to `status` (or none), with one event.
pub(crate) fn step(
    request: &RequestRecord,
    status: Option<Status>,
    event_type: &'static str,
    at: Millis,
) -> Change {
    Change {
        request_id: request.id.clone(),
        expected_status: request.status.clone(),
        expected_version: request.version,
        patch: RequestPatch {
            status,
            ..RequestPatch::default()
        },
        message: None,
        events: vec![event(event_type, request, at)],
        audit: Vec::new(),
        at,
    }
}
