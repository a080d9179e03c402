-- `q` matches one text per record: message, service, logger_name, event_type, request_id,
-- exception_type and extra_data (keys and values), with / . : ? & = # @ _ turned into spaces so
-- that the words inside URLs, paths and dotted names are words of their own. The live filter of
-- the dashboard applies the same rule (dashboard/src/filters.js). The expression must be
-- written exactly so (shared/search.py SEARCH_TEXT) for the index to be used.
CREATE INDEX IF NOT EXISTS system_logs_search_fts ON system_logs USING gin (
    to_tsvector('simple'::regconfig, translate(
        message || ' ' || service || ' ' || coalesce(logger_name, '') || ' '
        || coalesce(event_type, '') || ' ' || coalesce(request_id, '') || ' '
        || coalesce(exception_type, '') || ' ' || coalesce(extra_data::text, ''),
        '/.:?&=#@_', '         '))
);
DROP INDEX IF EXISTS system_logs_message_fts;
