//! Every table of the schema with its columns, in foreign-key order: the one list a copy
//! follows. A test checks it against both backends' migrated schemas (tables, columns, their
//! order and types, primary keys), so a migration that adds a table or a column fails it
//! until the list says how to copy it.

/// How a column's values are typed on each backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit integer: `INTEGER` in SQLite, `BIGINT` in PostgreSQL.
    BigInt,
    /// A small integer (the key of a one-row table): `INTEGER` in both, 32 bits in PostgreSQL.
    Int,
    /// A flag: `INTEGER` 0 or 1 in SQLite, `BOOLEAN` in PostgreSQL.
    Bool,
    /// `TEXT` in both.
    Text,
    /// Bytes (hashes): `BLOB` in SQLite, `BYTEA` in PostgreSQL.
    Bytes,
}

impl Kind {
    /// The declared type in the SQLite schema.
    pub fn sqlite_type(self) -> &'static str {
        match self {
            Self::BigInt | Self::Int | Self::Bool => "INTEGER",
            Self::Text => "TEXT",
            Self::Bytes => "BLOB",
        }
    }

    /// The type in PostgreSQL's catalog (`information_schema.columns.data_type`).
    pub fn postgres_type(self) -> &'static str {
        match self {
            Self::BigInt => "bigint",
            Self::Int => "integer",
            Self::Bool => "boolean",
            Self::Text => "text",
            Self::Bytes => "bytea",
        }
    }
}

/// A column: its name and type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
}

/// A table: how to read it in a stable order and how to put it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table {
    /// The table's name.
    pub name: &'static str,
    /// Its primary key (rows are read in this order).
    pub key: &'static [&'static str],
    /// Every column, in the schema's order.
    pub columns: &'static [Column],
    /// The column numbered by the database (SQLite `AUTOINCREMENT`, a PostgreSQL identity):
    /// its counter is carried over, so ids handed out before (even of rows since deleted,
    /// such as pruned events) are never handed out again.
    pub counter: Option<&'static str>,
    /// A one-row table its migration fills (the log's pruned mark, the dispatch cursor): the
    /// copy replaces that row instead of adding one.
    pub singleton: bool,
}

macro_rules! columns {
    ($($name:ident: $kind:ident),* $(,)?) => {
        &[$(Column { name: stringify!($name), kind: Kind::$kind }),*]
    };
}

macro_rules! table {
    ($name:ident, key($($key:ident),*), counter($($counter:ident)?), singleton($singleton:expr),
     [$($columns:tt)*]) => {
        Table {
            name: stringify!($name),
            key: &[$(stringify!($key)),*],
            columns: columns!($($columns)*),
            counter: table!(@counter $($counter)?),
            singleton: $singleton,
        }
    };
    (@counter) => { None };
    (@counter $counter:ident) => { Some(stringify!($counter)) };
}

/// The tables, parents before children (the order of inserts and of the copy's report).
pub const TABLES: &[Table] = &[
    table!(owners, key(id), counter(), singleton(false), [
        id: Text, name: Text, created_at: BigInt,
    ]),
    table!(experts, key(id), counter(), singleton(false), [
        id: Text, owner_id: Text, name: Text, key_hash: Bytes, is_active: Bool,
        sign_public_key: Text, encrypt_public_key: Text, fingerprint: Text, created_at: BigInt,
    ]),
    table!(client_keys, key(id), counter(), singleton(false), [
        id: Text, owner_id: Text, expert_id: Text, name: Text, key_hash: Bytes,
        previous_key_hash: Bytes, previous_key_expires_at: BigInt, is_active: Bool,
        device_token_hash: Bytes, rate_limit_per_minute: BigInt, created_at: BigInt,
        last_used_at: BigInt,
    ]),
    table!(devices, key(id), counter(), singleton(false), [
        id: Text, client_key_id: Text, public_key: Text, created_at: BigInt,
    ]),
    table!(requests, key(id), counter(), singleton(false), [
        id: Text, ref_code: Text, client_key_id: Text, expert_id: Text, status: Text,
        version: BigInt, response_required: Bool, requires_approval: Bool,
        approval_decision: Text, sealed: Bool, question: Text, messages_json: Text,
        content_flags: Text, consumer_sign_key: Text, consumer_encrypt_key: Text,
        legacy_public_key: Text, expert_sign_key: Text, expert_encrypt_key: Text,
        created_at: BigInt, expires_at: BigInt, status_changed_at: BigInt,
        responded_at: BigInt, closed_at: BigInt, acknowledged_at: BigInt,
        client_timed_out_at: BigInt, expert_delivered_at: BigInt,
        consumer_delivered_at: BigInt, latest_expert_message_at: BigInt,
        message_count: BigInt, last_expert_event: BigInt, last_status_event: BigInt,
        consumer_ack_event: BigInt, rating: BigInt, rating_feedback: Text, rated_at: BigInt,
        action_json: Text, action_hash: Text, decision_signature: Text, decided_at: BigInt,
    ]),
    table!(messages, key(seq), counter(seq), singleton(false), [
        seq: BigInt, id: Text, request_id: Text, sender: Text, ciphertext: Text, iv: Text,
        auth_tag: Text, signature: Text, message_id: Text, plaintext: Text, created_at: BigInt,
    ]),
    table!(events, key(id), counter(id), singleton(false), [
        id: BigInt, event_type: Text, request_id: Text, client_key_id: Text, expert_id: Text,
        payload: Text, created_at: BigInt,
    ]),
    table!(event_log, key(singleton), counter(), singleton(true), [
        singleton: Int, pruned_through: BigInt,
    ]),
    table!(idempotency_keys, key(client_key_id, idempotency_key), counter(), singleton(false), [
        client_key_id: Text, idempotency_key: Text, request_id: Text, response_json: Text,
        created_at: BigInt,
    ]),
    table!(nonces, key(device_id, nonce), counter(), singleton(false), [
        device_id: Text, nonce: Text, expires_at: BigInt,
    ]),
    table!(sessions, key(token_hash), counter(), singleton(false), [
        token_hash: Bytes, id: Text, expert_id: Text, created_at: BigInt, last_seen_at: BigInt,
        expires_at: BigInt, user_agent: Text,
    ]),
    table!(login_links, key(token_hash), counter(), singleton(false), [
        token_hash: Bytes, expert_id: Text, created_at: BigInt, expires_at: BigInt,
        used_at: BigInt,
    ]),
    table!(identities, key(provider, subject), counter(), singleton(false), [
        provider: Text, subject: Text, expert_id: Text, created_at: BigInt,
    ]),
    table!(sign_in_flows, key(state_hash), counter(), singleton(false), [
        state_hash: Bytes, provider: Text, created_at: BigInt, expires_at: BigInt,
    ]),
    table!(channels, key(id), counter(), singleton(false), [
        id: Text, expert_id: Text, kind: Text, name: Text, settings: Text, secrets: Text,
        inbound_token_hash: Bytes, paused: Bool, failures: BigInt, last_error: Text,
        last_error_at: BigInt, last_delivered_at: BigInt, created_at: BigInt,
    ]),
    table!(channel_outbox, key(id), counter(id), singleton(false), [
        id: BigInt, channel_id: Text, request_id: Text, kind: Text, attempts: BigInt,
        next_attempt_at: BigInt, created_at: BigInt, delivered_at: BigInt,
    ]),
    table!(channel_dispatch, key(singleton), counter(), singleton(true), [
        singleton: Int, cursor: BigInt,
    ]),
    table!(channel_messages, key(channel_id, request_id), counter(), singleton(false), [
        channel_id: Text, request_id: Text, external_id: Text, created_at: BigInt,
    ]),
    table!(channel_links, key(channel_id, user_id), counter(), singleton(false), [
        channel_id: Text, user_id: Text, display_name: Text, created_at: BigInt,
    ]),
    table!(channel_connect_codes, key(code_hash), counter(), singleton(false), [
        code_hash: Bytes, channel_id: Text, expires_at: BigInt, used_at: BigInt,
    ]),
    table!(channel_inbound, key(channel_id, external_id), counter(), singleton(false), [
        channel_id: Text, external_id: Text, created_at: BigInt,
    ]),
    // Coordination of several instances: copied as they are (a lease lapses at `until`, a
    // rate-limit window with its minute).
    table!(leases, key(name), counter(), singleton(false), [
        name: Text, holder: Text, until: BigInt,
    ]),
    table!(rate_windows, key(bucket, window_start), counter(), singleton(false), [
        bucket: Text, window_start: BigInt, hits: BigInt,
    ]),
    // The audit log, copied entry for entry: its hashes and signatures hold only if every
    // field is as written (verify the copy with the same audit key).
    table!(audit_log, key(seq), counter(), singleton(false), [
        seq: BigInt, created_at: BigInt, kind: Text, actor: Text, subject: Text, details: Text,
        prev_hash: Text, hash: Text, key_id: Text, signature: Text,
    ]),
];

impl Table {
    /// The columns, comma-separated, for a query.
    pub(crate) fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `SELECT` of every column in key order.
    pub(crate) fn select(&self) -> String {
        format!(
            "SELECT {} FROM {} ORDER BY {}",
            self.column_list(),
            self.name,
            self.key.join(", ")
        )
    }
}
