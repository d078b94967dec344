//! Persistence. [`Store`] is one concrete type over a backend enum; today the backend is an
//! embedded SQLite file (WAL, busy timeout, migrations compiled into the binary). The routes
//! and the lifecycle only see `Store`, the records and [`StoreError`], so a PostgreSQL backend
//! slots in behind the same methods. Appended events reach live subscribers through an
//! [`EventBus`], which the store publishes on but does not own. [`copy`] moves a store's rows
//! to another database (SQLite to PostgreSQL, or back); [`backup`] keeps a copy of an SQLite
//! one. Writes that the audit log records (keys, sign-ins, decisions, a request's end) take
//! their [`crate::audit::AuditNote`]s and append the entries in their own transaction; the
//! store signs them with its audit key (`with_audit_key_file`, beside an SQLite database by
//! default).

pub mod backup;
mod columns;
pub mod copy;
mod error;
mod location;
mod postgres;
mod records;
mod sqlite;
mod statuses;
mod turns;

use std::path::Path;
use std::sync::Arc;

pub use crate::bus::Feed;
pub use error::StoreError;
pub use records::*;
pub use turns::Turn;

use crate::bus::EventBus;
use crate::clock::Millis;

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

/// The server's storage.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    bus: EventBus,
    turns: Arc<turns::Turns>,
    audit: Arc<audit::AuditSigning>,
}

macro_rules! delegate {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Sqlite(db) => db.$method($($arg),*).await,
            Backend::Postgres(db) => db.$method($($arg),*).await,
        }
    };
}

mod accounts;
mod audit;
mod channels;
mod leases;
mod web;

impl Store {
    /// Opens the store named by a database URL (`sqlite://PATH`, `sqlite:PATH` or a bare path),
    /// creating the file and running migrations on first start, with a bus of its own (for
    /// the administration commands).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with_bus(url, EventBus::new()).await
    }

    /// Like [`Store::open`], publishing appended events on `bus` (the running server's).
    /// `postgres://…` (or `postgresql://…`) opens the PostgreSQL backend.
    pub async fn open_with_bus(url: &str, bus: EventBus) -> Result<Self, StoreError> {
        match location::Location::parse(url)? {
            location::Location::Postgres(url) => {
                let db = postgres::PgStore::open(&url, bus.clone()).await?;
                Ok(Self {
                    backend: Backend::Postgres(db),
                    bus,
                    turns: Arc::default(),
                    // Instances share one key: its file is configured (`audit_key_file`).
                    audit: audit::AuditSigning::none(),
                })
            }
            location::Location::Sqlite(path) => Self::open_sqlite_with_bus(&path, bus).await,
        }
    }

    /// Waits until no other writer of this process is changing the request, and holds off
    /// the next one until the returned turn is dropped (see the lifecycle's `perform`).
    /// Cancel-safe: a wait that is dropped takes no turn.
    pub async fn take_turn(&self, request_id: &str) -> Turn {
        self.turns.take(request_id).await
    }

    /// Opens (or creates) an SQLite database file, with a bus of its own. Audit entries are
    /// signed with the key beside it (see [`crate::audit::default_key_path`]) unless
    /// [`Store::with_audit_key_file`] names another.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        Self::open_sqlite_with_bus(path, EventBus::new()).await
    }

    /// Opens (or creates) an SQLite database file publishing on `bus`.
    pub async fn open_sqlite_with_bus(path: &Path, bus: EventBus) -> Result<Self, StoreError> {
        let db = sqlite::SqliteStore::open(path.to_owned(), bus.clone()).await?;
        Ok(Self {
            backend: Backend::Sqlite(db),
            bus,
            turns: Arc::default(),
            audit: audit::AuditSigning::file(crate::audit::default_key_path(path)),
        })
    }

    /// The bus this store publishes appended events on.
    pub fn events(&self) -> &EventBus {
        &self.bus
    }

    /// Moves committed writes from the write-ahead log into the database file, keeping the
    /// log bounded under load and truncating it when idle. Run periodically in the background
    /// (see [`crate::sweeper`]).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.checkpoint().await.map(|_| ()),
            // PostgreSQL keeps its own write-ahead log.
            Backend::Postgres(_) => Ok(()),
        }
    }

    /// The last checkpoint before shutdown: everything into the database file, the log
    /// truncated, so the file is complete on its own.
    pub async fn final_checkpoint(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.checkpoint_and_truncate().await,
            Backend::Postgres(_) => Ok(()),
        }
    }

    /// A trivial query: is the database reachable?
    pub async fn ping(&self) -> Result<(), StoreError> {
        delegate!(self.ping())
    }

    /// Whether any expert exists (an empty store gets a first expert on `serve`).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        delegate!(self.is_empty())
    }

    /// The stored response of an earlier creation with this idempotency key, if any.
    pub async fn idempotent_response(
        &self,
        client_key_id: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        delegate!(self.idempotent_response(client_key_id, key))
    }

    /// Records a request nonce until `expires_at`; `false` when it was already recorded
    /// (a replay). Expired nonces are pruned by the sweeper.
    pub async fn record_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        expires_at: Millis,
        now: Millis,
    ) -> Result<bool, StoreError> {
        delegate!(self.record_nonce(device_id, nonce, expires_at, now))
    }

    /// Creates a request (and its sealed first message and idempotency record, when given) in
    /// one transaction. With an idempotency key already used by this client, nothing is created
    /// and the stored response is returned.
    pub async fn create_request(&self, new: NewRequest) -> Result<CreateOutcome, StoreError> {
        delegate!(self.create_request(new))
    }

    /// A request by id.
    pub async fn request(&self, id: &str) -> Result<Option<RequestRecord>, StoreError> {
        delegate!(self.request(id))
    }

    /// A request by reference code (already normalised to upper case).
    pub async fn request_by_ref(
        &self,
        ref_code: &str,
    ) -> Result<Option<RequestRecord>, StoreError> {
        delegate!(self.request_by_ref(ref_code))
    }

    /// Requests routed to an expert, newest first, optionally of one status.
    pub async fn requests_for_expert(
        &self,
        expert_id: &str,
        status: Option<String>,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        delegate!(self.requests_for_expert(expert_id, status))
    }

    /// All requests, newest first, optionally of one status (administration).
    pub async fn all_requests(
        &self,
        status: Option<String>,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        delegate!(self.all_requests(status))
    }

    /// Requests an expert has not acknowledged yet, oldest first (live ones only).
    pub async fn expert_pending(
        &self,
        expert_id: &str,
        now: Millis,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        delegate!(self.expert_pending(expert_id, now))
    }

    /// Deletes at most `limit` finished requests (a terminal status reached before `before`)
    /// with their messages; returns how many. Their events and idempotency records go with
    /// their own retention.
    pub async fn delete_finished_before(
        &self,
        before: Millis,
        limit: u32,
    ) -> Result<u64, StoreError> {
        delegate!(self.delete_finished_before(before, limit))
    }

    /// How many requests, of every tenant, still wait for their expert and have not expired.
    pub async fn waiting_count(&self, now: Millis) -> Result<u64, StoreError> {
        delegate!(self.waiting_count(now))
    }

    /// Requests of a client key with something the consumer has not acknowledged.
    pub async fn consumer_pending(
        &self,
        client_key_id: &str,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        delegate!(self.consumer_pending(client_key_id))
    }

    /// The messages of a request, oldest first.
    pub async fn messages(&self, request_id: &str) -> Result<Vec<MessageRecord>, StoreError> {
        delegate!(self.messages(request_id))
    }

    /// Applies one lifecycle step atomically: the patch (only if the request is still at
    /// `expected_version`, else [`StoreError::Conflict`]), the message (skipped as a duplicate
    /// when its message id exists on the request), the events and the audit entries. Only the
    /// lifecycle module calls this.
    pub async fn apply(&self, mut change: Change) -> Result<ApplyOutcome, StoreError> {
        let audit = self.audit_append(std::mem::take(&mut change.audit)).await?;
        delegate!(self.apply(change, audit))
    }

    /// Marks a request delivered to one side's pending feed.
    pub async fn mark_delivered(
        &self,
        request_id: &str,
        side: FeedSide,
        at: Millis,
    ) -> Result<(), StoreError> {
        delegate!(self.mark_delivered(request_id, side, at))
    }

    /// Ids of live requests whose expiry has passed, at most `limit`.
    pub async fn due_for_expiry(&self, now: Millis, limit: u32) -> Result<Vec<String>, StoreError> {
        delegate!(self.due_for_expiry(now, limit))
    }

    /// A live feed of the appended events in `scope`, in log order; it wakes only for those.
    /// A receiver that lags behind gets `RecvError::Lagged` and should re-read the log with
    /// [`Store::events_after`]. Shorthand for [`EventBus::subscribe`] on [`Store::events`].
    pub fn subscribe(&self, scope: &EventScope) -> Feed {
        self.bus.subscribe(scope)
    }

    /// The newest log position published to live subscribers.
    pub fn last_event_id(&self) -> i64 {
        self.bus.last_event_id()
    }

    /// Publishes on the bus, in log order, the events appended since its cursor that it has
    /// not heard of (appended by another process on the same database, such as a CLI
    /// command); returns how many. Ordered with the store's own publications.
    pub async fn catch_up(&self) -> Result<usize, StoreError> {
        delegate!(self.catch_up())
    }

    /// Events after a log position within a scope, in order, reading at most `limit` rows;
    /// with the last position read (`None` when the log has nothing more in the scope).
    pub async fn events_after(
        &self,
        after: i64,
        scope: EventScope,
        limit: u32,
    ) -> Result<(Vec<LoggedEvent>, Option<i64>), StoreError> {
        delegate!(self.events_after(after, scope, limit))
    }

    /// The highest log position retention has pruned (0 when none).
    pub async fn pruned_through(&self) -> Result<i64, StoreError> {
        delegate!(self.pruned_through())
    }

    /// Deletes events appended before `before`; returns how many.
    pub async fn prune_events(&self, before: Millis) -> Result<u64, StoreError> {
        delegate!(self.prune_events(before))
    }

    /// Deletes expired nonces and idempotency records older than `idempotency_before`.
    pub async fn prune(&self, now: Millis, idempotency_before: Millis) -> Result<(), StoreError> {
        delegate!(self.prune(now, idempotency_before))
    }
}
