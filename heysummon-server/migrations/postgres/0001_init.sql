-- HeySummon-rs schema, PostgreSQL: the SQLite schema (migrations/sqlite/0001 to 0005) in one
-- step, with BIGINT times and ids, BYTEA hashes, BOOLEAN flags and identity columns.

-- HeySummon-rs schema, SQLite. Times are milliseconds since the Unix epoch. Keys and tokens are
-- stored only as SHA-256 hashes.

CREATE TABLE owners (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE experts (
    id                  TEXT PRIMARY KEY,
    owner_id            TEXT NOT NULL REFERENCES owners(id),
    name                TEXT NOT NULL,
    key_hash            BYTEA NOT NULL UNIQUE,
    is_active           BOOLEAN NOT NULL DEFAULT TRUE,
    sign_public_key     TEXT,
    encrypt_public_key  TEXT,
    fingerprint         TEXT,
    created_at          BIGINT NOT NULL
);

CREATE TABLE client_keys (
    id                      TEXT PRIMARY KEY,
    owner_id                TEXT NOT NULL REFERENCES owners(id),
    expert_id               TEXT NOT NULL REFERENCES experts(id),
    name                    TEXT,
    key_hash                BYTEA NOT NULL UNIQUE,
    previous_key_hash       BYTEA,
    previous_key_expires_at BIGINT,
    is_active               BOOLEAN NOT NULL DEFAULT TRUE,
    device_token_hash       BYTEA,
    rate_limit_per_minute   BIGINT,
    created_at              BIGINT NOT NULL
);
CREATE INDEX client_keys_previous ON client_keys(previous_key_hash);

CREATE TABLE devices (
    id              TEXT PRIMARY KEY,           -- hex SHA-256 of the DER SPKI
    client_key_id   TEXT NOT NULL REFERENCES client_keys(id),
    public_key      TEXT NOT NULL,              -- hex DER SPKI
    created_at      BIGINT NOT NULL
);
CREATE INDEX devices_client ON devices(client_key_id);

CREATE TABLE requests (
    id                      TEXT PRIMARY KEY,
    ref_code                TEXT NOT NULL UNIQUE,
    client_key_id           TEXT NOT NULL REFERENCES client_keys(id),
    expert_id               TEXT NOT NULL REFERENCES experts(id),
    status                  TEXT NOT NULL,
    -- Bumped by every lifecycle step; steps apply only to the version they were planned on.
    version                 BIGINT NOT NULL DEFAULT 0,
    response_required       BOOLEAN NOT NULL,
    requires_approval       BOOLEAN NOT NULL,
    approval_decision       TEXT,
    sealed                  BOOLEAN NOT NULL DEFAULT FALSE,
    question                TEXT,
    messages_json           TEXT,
    content_flags           TEXT,
    consumer_sign_key       TEXT,
    consumer_encrypt_key    TEXT,
    legacy_public_key       TEXT,
    expert_sign_key         TEXT,
    expert_encrypt_key      TEXT,
    created_at              BIGINT NOT NULL,
    expires_at              BIGINT NOT NULL,
    status_changed_at       BIGINT NOT NULL,
    responded_at            BIGINT,
    closed_at               BIGINT,
    acknowledged_at         BIGINT,
    client_timed_out_at     BIGINT,
    expert_delivered_at     BIGINT,
    consumer_delivered_at   BIGINT,
    latest_expert_message_at BIGINT,
    message_count           BIGINT NOT NULL DEFAULT 0,
    -- Event-log positions: the newest expert message, the newest status change, and what the
    -- consumer acknowledged in its pending feed (positions, not times: two things can happen
    -- in one millisecond).
    last_expert_event       BIGINT,
    last_status_event       BIGINT,
    consumer_ack_event      BIGINT,
    rating                  BIGINT,
    rating_feedback         TEXT,
    rated_at                BIGINT
);
CREATE INDEX requests_client ON requests(client_key_id, created_at);
CREATE INDEX requests_expert ON requests(expert_id, created_at);
CREATE INDEX requests_open_expiry ON requests(expires_at)
    WHERE status NOT IN ('closed', 'expired', 'cancelled', 'acknowledged');

CREATE TABLE messages (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    request_id      TEXT NOT NULL REFERENCES requests(id),
    sender          TEXT NOT NULL,
    ciphertext      TEXT NOT NULL,
    iv              TEXT NOT NULL,
    auth_tag        TEXT NOT NULL,
    signature       TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    plaintext       TEXT,
    created_at      BIGINT NOT NULL,
    UNIQUE (request_id, message_id)
);

-- The durable event log (PROTOCOL B1): ids, types, statuses, never content.
CREATE TABLE events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_type      TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    client_key_id   TEXT NOT NULL,
    expert_id       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX events_request ON events(request_id, id);
CREATE INDEX events_client ON events(client_key_id, id);
CREATE INDEX events_expert ON events(expert_id, id);
CREATE INDEX events_created ON events(created_at);

-- How far retention has pruned the log: a cursor at or below this id can no longer be
-- replayed completely.
CREATE TABLE event_log (
    singleton       INTEGER PRIMARY KEY CHECK (singleton = 1),
    pruned_through  BIGINT NOT NULL
);
INSERT INTO event_log (singleton, pruned_through) VALUES (1, 0);

CREATE TABLE idempotency_keys (
    client_key_id   TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    response_json   TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (client_key_id, idempotency_key)
);

CREATE TABLE nonces (
    device_id   TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (device_id, nonce)
);
CREATE INDEX nonces_expiry ON nonces(expires_at);

-- Retention of finished requests: found by when their status last changed.
CREATE INDEX requests_status_changed ON requests(status_changed_at);

-- The expert's side on the web (PROTOCOL E): sessions, one-time sign-in links, identities of
-- sign-in providers linked to experts, and when each client key was last used. Session and
-- link tokens are stored only as SHA-256 hashes.

CREATE TABLE sessions (
    token_hash      BYTEA PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,       -- shown in the session list; not a secret
    expert_id       TEXT NOT NULL REFERENCES experts(id),
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,           -- the absolute end, whatever the activity
    user_agent      TEXT
);
CREATE INDEX sessions_expert ON sessions(expert_id);

CREATE TABLE login_links (
    token_hash      BYTEA PRIMARY KEY,
    expert_id       TEXT NOT NULL REFERENCES experts(id),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);

CREATE TABLE identities (
    provider        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    expert_id       TEXT NOT NULL REFERENCES experts(id),
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_expert ON identities(expert_id);

ALTER TABLE client_keys ADD COLUMN last_used_at BIGINT;

-- Sign-ins in progress with an OAuth 2.0 / OpenID Connect provider (PROTOCOL E2): one row from
-- `GET /auth/login/{provider}` until its callback uses it (once) or it expires (10 minutes).
-- Only the SHA-256 hash of the `state` is stored; the PKCE verifier and the nonce are derived
-- from a secret held in the browser's cookie and are never stored.

CREATE TABLE sign_in_flows (
    state_hash      BYTEA PRIMARY KEY,
    provider        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);

-- Notification channels (PROTOCOL F): where an expert is reached, what is waiting to be sent
-- there (the outbox, filled from the event log), the chat messages sent (to edit them after a
-- decision), the chat users linked to the expert, one-time connect codes and the inbound
-- actions already handled. Connect codes and Telegram's webhook token are stored as SHA-256
-- hashes; the credentials the server must present to a third party (bot tokens, signing and
-- webhook secrets) are stored as given and never shown again.

CREATE TABLE channels (
    id                  TEXT PRIMARY KEY,
    expert_id           TEXT NOT NULL REFERENCES experts(id),
    kind                TEXT NOT NULL,
    name                TEXT NOT NULL,
    settings            TEXT NOT NULL,          -- JSON, shown to the expert
    secrets             TEXT NOT NULL,          -- JSON, write-only
    inbound_token_hash  BYTEA,                   -- Telegram's webhook secret token
    paused              BOOLEAN NOT NULL DEFAULT FALSE,
    failures            BIGINT NOT NULL DEFAULT 0,   -- consecutive failed attempts
    last_error          TEXT,
    last_error_at       BIGINT,
    last_delivered_at   BIGINT,
    created_at          BIGINT NOT NULL
);
CREATE INDEX channels_expert ON channels(expert_id);

CREATE TABLE channel_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id      TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    request_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,              -- new | reminder | update
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT,
    UNIQUE (channel_id, request_id, kind)
);
CREATE INDEX channel_outbox_waiting ON channel_outbox(channel_id, id) WHERE delivered_at IS NULL;
CREATE INDEX channel_outbox_delivered ON channel_outbox(delivered_at) WHERE delivered_at IS NOT NULL;

-- How far the event log has been turned into outbox rows. Starts at the log's end: channels
-- hear of what happens from now on.
CREATE TABLE channel_dispatch (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    cursor      BIGINT NOT NULL
);
INSERT INTO channel_dispatch (singleton, cursor) SELECT 1, COALESCE(MAX(id), 0) FROM events;

CREATE TABLE channel_messages (
    channel_id  TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    request_id  TEXT NOT NULL,
    external_id TEXT NOT NULL,                  -- Telegram message_id, Slack ts, Discord id
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (channel_id, request_id)
);
CREATE INDEX channel_messages_external ON channel_messages(channel_id, external_id);

CREATE TABLE channel_links (
    channel_id      TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    display_name    TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);

CREATE TABLE channel_connect_codes (
    code_hash   BYTEA PRIMARY KEY,
    channel_id  TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE channel_inbound (
    channel_id  TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (channel_id, external_id)
);
CREATE INDEX channel_inbound_created ON channel_inbound(created_at);
