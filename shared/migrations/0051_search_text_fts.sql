-- `q` matches one text per record: message, service, logger_name, event_type, exception_type and
-- the string values of extra_data (at any depth), with / . : turned into spaces so that the
-- words inside URLs, paths, host names and dotted names are words of their own (the parser
-- splits at the other punctuation itself). The live filter of the dashboard applies the same
-- rule (dashboard/src/filters.js). The expression must be written exactly so
-- (shared/search.py SEARCH_TEXT) for the index to be used. It replaces the index on the
-- message alone; what it costs the writer is measured by bench/bench_fields.py.
CREATE INDEX IF NOT EXISTS system_logs_search_fts ON system_logs USING gin (
    to_tsvector('simple'::regconfig, replace(replace(replace(
        message || ' ' || service || ' ' || coalesce(logger_name, '') || ' '
        || coalesce(event_type, '') || ' ' || coalesce(exception_type, '') || ' '
        || coalesce(jsonb_path_query_array(extra_data, 'strict $.** ? (@.type() == "string")')::text, ''),
        '/', ' '), '.', ' '), ':', ' '))
);
DROP INDEX IF EXISTS system_logs_message_fts;
