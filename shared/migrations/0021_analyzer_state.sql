-- The analyzer's progress per Event Hub partition (so a redelivered batch is not counted
-- twice) and the last time each service was heard from (for the silent-service rule).
CREATE TABLE IF NOT EXISTS analyzer_positions (
    partition_id     text        PRIMARY KEY,
    sequence_number  bigint      NOT NULL,
    enqueued_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS service_activity (
    service    text        PRIMARY KEY,
    last_seen  timestamptz NOT NULL
);
