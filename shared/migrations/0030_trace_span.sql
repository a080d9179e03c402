-- Trace and span ids of a record (W3C / OTLP ids, or whatever a logger sends under their
-- aliases), searchable by equality. Like request_id, trace_id is only ever looked up by
-- equality, so a hash index (which stores no NULLs, the common case) is the cheap one.
-- span_id is searched within a time window and needs no index of its own.
ALTER TABLE system_logs ADD COLUMN IF NOT EXISTS trace_id text, ADD COLUMN IF NOT EXISTS span_id text;
CREATE INDEX IF NOT EXISTS system_logs_trace_id ON system_logs USING hash (trace_id);
