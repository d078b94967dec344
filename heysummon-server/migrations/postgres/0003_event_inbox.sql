-- Events as their transactions write them: without a lock, so that those transactions commit
-- side by side (and share their WAL flushes). A sequencer moves them into `events` in batches,
-- under the sequencer lock, which gives the log its positions in commit order
-- (see src/store/postgres/sequencer.rs).
CREATE TABLE event_inbox (
    seq             BIGINT PRIMARY KEY,
    event_type      TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    client_key_id   TEXT NOT NULL,
    expert_id       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

-- An inbox row is stamped from the log's own counter: the stamps a request records
-- (`last_status_event`, `last_expert_event`) keep growing past the positions it recorded before,
-- and a copied store's counter, set past the copied ids, covers both.
DO $$
BEGIN
    EXECUTE format(
        'ALTER TABLE event_inbox ALTER COLUMN seq SET DEFAULT nextval(%L::regclass)',
        pg_get_serial_sequence('events', 'id')
    );
END
$$;

-- One sequencer pass, in the calling statement's own transaction: nothing to do when the inbox
-- is empty; otherwise, under the sequencer lock (held until that transaction commits, so
-- passes commit one after the other), every event committed to the inbox moves into the log,
-- oldest stamp first, and the listening instances are notified. Returns how many moved.
CREATE FUNCTION heysummon_sequence_events() RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    moved BIGINT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM event_inbox) THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(5207666758572113922);
    WITH staged AS (
        DELETE FROM event_inbox
        RETURNING seq, event_type, request_id, client_key_id, expert_id, payload, created_at
    )
    INSERT INTO events (event_type, request_id, client_key_id, expert_id, payload, created_at)
    SELECT event_type, request_id, client_key_id, expert_id, payload, created_at
    FROM staged ORDER BY seq;
    GET DIAGNOSTICS moved = ROW_COUNT;
    IF moved > 0 THEN
        PERFORM pg_notify('heysummon_events', '');
    END IF;
    RETURN moved;
END
$$;
