-- The log records, partitioned by day (UTC) on their timestamp. Idempotency key: (id, timestamp);
-- a redelivered or replayed record carries both, so it is stored once.
CREATE TABLE system_logs (
    id text NOT NULL,
    "timestamp" timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    level text NOT NULL,
    level_no smallint NOT NULL,
    service text NOT NULL,
    logger_name text,
    message text NOT NULL DEFAULT '',
    request_id text,
    user_id text,
    session_id text,
    event_type text,
    extra_data jsonb,
    exception_type text,
    exception_message text,
    stack_trace text,
    ip_address text,
    user_agent text,
    PRIMARY KEY (id, "timestamp")
) PARTITION BY RANGE ("timestamp");

-- Newest first over a time range (also the keyset order: timestamp desc, id desc).
CREATE INDEX system_logs_timestamp ON system_logs ("timestamp");
-- One service, newest first.
CREATE INDEX system_logs_service_timestamp ON system_logs (service, "timestamp");
-- WARNING and above (rare): min_level / level filters for the levels that matter.
CREATE INDEX system_logs_warning_timestamp ON system_logs ("timestamp") WHERE level_no >= 30;
-- One request's records.
CREATE INDEX system_logs_request_id ON system_logs (request_id) WHERE request_id IS NOT NULL;
-- Full text on the message: to_tsvector('simple', message) @@ websearch_to_tsquery('simple', q).
CREATE INDEX system_logs_message_fts ON system_logs USING gin (to_tsvector('simple', message));

-- Per-minute and per-hour counts of the rows actually inserted, kept by the writer in the same
-- transaction; statistics and reports read these instead of raw rows.
CREATE TABLE log_counts_minute (
    minute timestamptz NOT NULL,
    service text NOT NULL,
    level text NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (minute, service, level)
);

CREATE TABLE log_counts_hour (
    hour timestamptz NOT NULL,
    service text NOT NULL,
    level text NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (hour, service, level)
);

-- The partition of one UTC day, created if missing. Named system_logs_pYYYYMMDD.
-- Safe to call concurrently: creators of the same day serialise on an advisory lock.
CREATE FUNCTION ensure_system_logs_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    name text := format('system_logs_p%s', to_char(day, 'YYYYMMDD'));
    lower_bound timestamptz := day::timestamp AT TIME ZONE 'UTC';
    upper_bound timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass(format('public.%I', name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('system_logs_partition'), day - date '2000-01-01');
    IF to_regclass(format('public.%I', name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format(
        'CREATE TABLE public.%I PARTITION OF public.system_logs FOR VALUES FROM (%L) TO (%L)',
        name, lower_bound, upper_bound
    );
    RETURN true;
END
$$;
