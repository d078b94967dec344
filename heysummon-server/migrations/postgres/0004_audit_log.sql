-- The tamper-evident audit log (see src/audit/): one row per entry, numbered 1, 2, 3, …
-- without gaps, each linked to the one before by its hash and signed by the server's audit
-- key. Appends are serialised by an advisory lock held to the end of the appending
-- transaction (src/store/postgres/audit.rs), so the chain stays linear with several
-- instances. Rows are only ever inserted: retention and every other write leave them alone.
-- `details` is TEXT, not JSONB: it is hashed exactly as written.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    created_at  BIGINT NOT NULL,
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

-- Append-only in the database too, against mistakes (an owner of the table can drop this;
-- `heysummon-server audit verify` is what finds their edits).
CREATE FUNCTION heysummon_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION heysummon_audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION heysummon_audit_log_append_only();
