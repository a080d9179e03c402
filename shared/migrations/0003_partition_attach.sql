-- Create a day's partition as a plain table, then ATTACH it: ATTACH takes only a SHARE UPDATE
-- EXCLUSIVE lock on system_logs, which lets inserts and searches go on, where CREATE TABLE ...
-- PARTITION OF would take ACCESS EXCLUSIVE and queue every query behind any long search.
-- The lock timeout turns a rare wait into an error the store retries, never a pile-up.
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
    IF to_regclass(format('public.%I', name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format(
        'CREATE TABLE public.%I (LIKE public.system_logs INCLUDING DEFAULTS)',
        name
    );
    EXECUTE format(
        'ALTER TABLE public.system_logs ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)',
        name, lower_bound, upper_bound
    );
    RETURN true;
END
$$;
