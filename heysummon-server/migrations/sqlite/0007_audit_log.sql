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

-- Append-only in the database too, against mistakes (an attacker with the file can drop these;
-- `heysummon-server audit verify` is what finds their edits).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
