-- HeySummon-rs schema, SQLite. Times are milliseconds since the Unix epoch. Keys and tokens are
-- stored only as SHA-256 hashes.

CREATE TABLE owners (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE experts (
    id                  TEXT PRIMARY KEY,
    owner_id            TEXT NOT NULL REFERENCES owners(id),
    name                TEXT NOT NULL,
    key_hash            BLOB NOT NULL UNIQUE,
    is_active           INTEGER NOT NULL DEFAULT 1,
    sign_public_key     TEXT,
    encrypt_public_key  TEXT,
    fingerprint         TEXT,
    created_at          INTEGER NOT NULL
);

CREATE TABLE client_keys (
    id                      TEXT PRIMARY KEY,
    owner_id                TEXT NOT NULL REFERENCES owners(id),
    expert_id               TEXT NOT NULL REFERENCES experts(id),
    name                    TEXT,
    key_hash                BLOB NOT NULL UNIQUE,
    previous_key_hash       BLOB,
    previous_key_expires_at INTEGER,
    is_active               INTEGER NOT NULL DEFAULT 1,
    device_token_hash       BLOB,
    rate_limit_per_minute   INTEGER,
    created_at              INTEGER NOT NULL
);
CREATE INDEX client_keys_previous ON client_keys(previous_key_hash);

CREATE TABLE devices (
    id              TEXT PRIMARY KEY,           -- hex SHA-256 of the DER SPKI
    client_key_id   TEXT NOT NULL REFERENCES client_keys(id),
    public_key      TEXT NOT NULL,              -- hex DER SPKI
    created_at      INTEGER NOT NULL
);
CREATE INDEX devices_client ON devices(client_key_id);

CREATE TABLE requests (
    id                      TEXT PRIMARY KEY,
    ref_code                TEXT NOT NULL UNIQUE,
    client_key_id           TEXT NOT NULL REFERENCES client_keys(id),
    expert_id               TEXT NOT NULL REFERENCES experts(id),
    status                  TEXT NOT NULL,
    -- Bumped by every lifecycle step; steps apply only to the version they were planned on.
    version                 INTEGER NOT NULL DEFAULT 0,
    response_required       INTEGER NOT NULL,
    requires_approval       INTEGER NOT NULL,
    approval_decision       TEXT,
    sealed                  INTEGER NOT NULL DEFAULT 0,
    question                TEXT,
    messages_json           TEXT,
    content_flags           TEXT,
    consumer_sign_key       TEXT,
    consumer_encrypt_key    TEXT,
    legacy_public_key       TEXT,
    expert_sign_key         TEXT,
    expert_encrypt_key      TEXT,
    created_at              INTEGER NOT NULL,
    expires_at              INTEGER NOT NULL,
    status_changed_at       INTEGER NOT NULL,
    responded_at            INTEGER,
    closed_at               INTEGER,
    acknowledged_at         INTEGER,
    client_timed_out_at     INTEGER,
    expert_delivered_at     INTEGER,
    consumer_delivered_at   INTEGER,
    latest_expert_message_at INTEGER,
    message_count           INTEGER NOT NULL DEFAULT 0,
    -- Event-log positions: the newest expert message, the newest status change, and what the
    -- consumer acknowledged in its pending feed (positions, not times: two things can happen
    -- in one millisecond).
    last_expert_event       INTEGER,
    last_status_event       INTEGER,
    consumer_ack_event      INTEGER,
    rating                  INTEGER,
    rating_feedback         TEXT,
    rated_at                INTEGER
);
CREATE INDEX requests_client ON requests(client_key_id, created_at);
CREATE INDEX requests_expert ON requests(expert_id, created_at);
CREATE INDEX requests_open_expiry ON requests(expires_at)
    WHERE status NOT IN ('closed', 'expired', 'cancelled', 'acknowledged');

CREATE TABLE messages (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    request_id      TEXT NOT NULL REFERENCES requests(id),
    sender          TEXT NOT NULL,
    ciphertext      TEXT NOT NULL,
    iv              TEXT NOT NULL,
    auth_tag        TEXT NOT NULL,
    signature       TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    plaintext       TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (request_id, message_id)
);

-- The durable event log (PROTOCOL B1): ids, types, statuses, never content.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type      TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    client_key_id   TEXT NOT NULL,
    expert_id       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX events_request ON events(request_id, id);
CREATE INDEX events_client ON events(client_key_id, id);
CREATE INDEX events_expert ON events(expert_id, id);
CREATE INDEX events_created ON events(created_at);

-- How far retention has pruned the log: a cursor at or below this id can no longer be
-- replayed completely.
CREATE TABLE event_log (
    singleton       INTEGER PRIMARY KEY CHECK (singleton = 1),
    pruned_through  INTEGER NOT NULL
);
INSERT INTO event_log (singleton, pruned_through) VALUES (1, 0);

CREATE TABLE idempotency_keys (
    client_key_id   TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    response_json   TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (client_key_id, idempotency_key)
);

CREATE TABLE nonces (
    device_id   TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (device_id, nonce)
);
CREATE INDEX nonces_expiry ON nonces(expires_at);
