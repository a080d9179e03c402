-- request_id is only ever looked up by equality: a hash index costs less than half of the B-tree
-- per inserted row (measured by bench/bench_store.py; see docs/storage.md) and never stores NULLs.
DROP INDEX system_logs_request_id;
CREATE INDEX system_logs_request_id ON system_logs USING hash (request_id);
