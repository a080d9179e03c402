-- Secrets redacted at ingest, counted per record, service and kind (never the value), so the
-- team can see which service leaks what. One row per record and kind: a redelivered event
-- counts once.
CREATE TABLE IF NOT EXISTS secret_leaks (
    record_id  text        NOT NULL,
    kind       text        NOT NULL,
    service    text        NOT NULL,
    seen_at    timestamptz NOT NULL,
    count      integer     NOT NULL CHECK (count > 0),
    PRIMARY KEY (record_id, kind)
);
CREATE INDEX IF NOT EXISTS secret_leaks_seen_at ON secret_leaks (seen_at, service);
