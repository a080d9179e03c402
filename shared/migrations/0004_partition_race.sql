-- Concurrent creators of one day: the advisory lock serialises them, but the second one's
-- catalog snapshot may predate the first one's commit, so its existence check can miss the new
-- table. A duplicate_table error now means "already there", as it is.
CREATE OR REPLACE FUNCTION ensure_system_logs_partition(day date) RETURNS boolean
LANGUAGE plpgsql
SET lock_timeout = '5s'
AS $$
DECLARE
    name text := format('system_logs_p%s', to_char(day, 'YYYYMMDD'));
    lower_bound timestamptz := day::timestamp AT TIME ZONE 'UTC';
    upper_bound timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass(format('public.%I', name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('system_logs_partition'), day - date '2000-01-01');
    BEGIN
        EXECUTE format(
            'CREATE TABLE public.%I (LIKE public.system_logs INCLUDING DEFAULTS)',
            name
        );
    EXCEPTION WHEN duplicate_table THEN
        RETURN false;
    END;
    EXECUTE format(
        'ALTER TABLE public.system_logs ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)',
        name, lower_bound, upper_bound
    );
    RETURN true;
END
$$;
