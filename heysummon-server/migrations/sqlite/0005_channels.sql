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
    inbound_token_hash  BLOB,                   -- Telegram's webhook secret token
    paused              INTEGER NOT NULL DEFAULT 0,
    failures            INTEGER NOT NULL DEFAULT 0,   -- consecutive failed attempts
    last_error          TEXT,
    last_error_at       INTEGER,
    last_delivered_at   INTEGER,
    created_at          INTEGER NOT NULL
);
CREATE INDEX channels_expert ON channels(expert_id);

CREATE TABLE channel_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id      TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    request_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,              -- new | reminder | update
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (channel_id, request_id, kind)
);
CREATE INDEX channel_outbox_waiting ON channel_outbox(channel_id, id) WHERE delivered_at IS NULL;
CREATE INDEX channel_outbox_delivered ON channel_outbox(delivered_at) WHERE delivered_at IS NOT NULL;

-- How far the event log has been turned into outbox rows. Starts at the log's end: channels
-- hear of what happens from now on.
CREATE TABLE channel_dispatch (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    cursor      INTEGER NOT NULL
);
INSERT INTO channel_dispatch (singleton, cursor) SELECT 1, COALESCE(MAX(id), 0) FROM events;

CREATE TABLE channel_messages (
    channel_id  TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    request_id  TEXT NOT NULL,
    external_id TEXT NOT NULL,                  -- Telegram message_id, Slack ts, Discord id
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (channel_id, request_id)
);
CREATE INDEX channel_messages_external ON channel_messages(channel_id, external_id);

CREATE TABLE channel_links (
    channel_id      TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    display_name    TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);

CREATE TABLE channel_connect_codes (
    code_hash   BLOB PRIMARY KEY,
    channel_id  TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

CREATE TABLE channel_inbound (
    channel_id  TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (channel_id, external_id)
);
CREATE INDEX channel_inbound_created ON channel_inbound(created_at);
