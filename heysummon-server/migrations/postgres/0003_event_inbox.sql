-- Events as their transactions write them: without a lock, so that those transactions commit
-- side by side (and share their WAL flushes). A sequencer moves them into `events` in batches,
-- under the append lock, which gives the log its positions in commit order
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
