-- Work only one instance may do at a time (the sweeper, a channel's deliveries): a named lease
-- held by an instance until a time, taken over once it lapses. And per-key rate-limit windows
-- shared by every instance (PostgreSQL; SQLite serves one instance and counts in memory).

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    until       BIGINT NOT NULL
);

CREATE TABLE rate_windows (
    bucket          TEXT NOT NULL,
    window_start    BIGINT NOT NULL,
    hits            BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
