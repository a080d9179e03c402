-- `where=order_id=...` picks a handful of records: a hash index on the extracted text answers it
-- without scanning the range. Hash indexes store no NULLs, so records without an order id cost
-- the writer nothing; the others one hash entry (measured by bench/bench_fields.py).
CREATE INDEX IF NOT EXISTS system_logs_extra_order_id
    ON system_logs USING hash ((extra_data ->> 'order_id'));
