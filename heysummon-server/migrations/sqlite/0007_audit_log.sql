-- The tamper-evident audit log (see src/audit/): one row per entry, numbered 1, 2, 3, …
-- without gaps, each linked to the one before by its hash and signed by the server's audit
-- key. Rows are only ever inserted: retention and every other write leave them alone.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    subject     TEXT NOT NULL,
    details     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    signature   TEXT NOT NULL
);

CREATE INDEX audit_log_subject ON audit_log (subject, seq);
