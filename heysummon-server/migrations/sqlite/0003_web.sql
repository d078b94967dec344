-- The expert's side on the web (PROTOCOL E): sessions, one-time sign-in links, identities of
-- sign-in providers linked to experts, and when each client key was last used. Session and
-- link tokens are stored only as SHA-256 hashes.

CREATE TABLE sessions (
    token_hash      BLOB PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,       -- shown in the session list; not a secret
    expert_id       TEXT NOT NULL REFERENCES experts(id),
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,           -- the absolute end, whatever the activity
    user_agent      TEXT
);
CREATE INDEX sessions_expert ON sessions(expert_id);

CREATE TABLE login_links (
    token_hash      BLOB PRIMARY KEY,
    expert_id       TEXT NOT NULL REFERENCES experts(id),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER
);

CREATE TABLE identities (
    provider        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    expert_id       TEXT NOT NULL REFERENCES experts(id),
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_expert ON identities(expert_id);

ALTER TABLE client_keys ADD COLUMN last_used_at INTEGER;
