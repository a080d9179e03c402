-- One day of trading-bot records with rich extra_data: $1 day start, $2 first sequence number,
-- $3 the service names, $4 how many. Every fifth record is an order (a unique order_id), every
-- tenth a system-metrics sample (cpu/memory/disk percent); every record has a symbol, and the
-- api-gateway's a response_time.
INSERT INTO {table} (id, "timestamp", received_at, level, level_no, service, logger_name, message,
    request_id, event_type, extra_data)
SELECT 'f-' || g::text, ts, ts, lv, lvno, svc, svc || '.engine', msg, 'req-' || (g / 4)::text, evt,
    CASE evt
        WHEN 'order' THEN jsonb_build_object('symbol', sym, 'order_id', 'ord-' || g::text,
            'side', (ARRAY['buy', 'sell'])[1 + h % 2], 'price', 20000 + h % 50000,
            'order', jsonb_build_object('type', (ARRAY['limit', 'market'])[1 + h % 2], 'qty', h % 90 + 1))
        WHEN 'metrics' THEN jsonb_build_object('symbol', sym, 'cpu_percent', (h % 1000) / 10.0,
            'memory_percent', 30 + (h % 600) / 10.0, 'disk_percent', 40 + (h % 550) / 10.0)
        ELSE jsonb_build_object('symbol', sym, 'strategy', 'momentum-v3')
    END || CASE WHEN svc = 'api-gateway' THEN jsonb_build_object('response_time', h % 3000)
        ELSE '{{}}'::jsonb END
FROM (
    SELECT g, h, ts, svc, sym, evt,
        CASE WHEN h % 100 < 3 THEN 'ERROR' WHEN h % 100 < 10 THEN 'WARNING' ELSE 'INFO' END AS lv,
        CASE WHEN h % 100 < 3 THEN 40 WHEN h % 100 < 10 THEN 30 ELSE 20 END AS lvno,
        CASE evt
            WHEN 'order' THEN 'Order ord-' || g::text || ' placed on ' || sym
            WHEN 'metrics' THEN 'System metrics sample'
            ELSE 'Price update for ' || sym
        END AS msg
    FROM (
        SELECT g, h,
            $1::timestamptz + (g - $2::bigint) * (interval '86400 s' / $4::bigint::float8) AS ts,
            ($3::text[])[1 + g % 6] AS svc,
            (ARRAY['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BNBUSDT', 'XRPUSDT', 'ADAUSDT', 'DOGEUSDT'])[1 + h % 7] AS sym,
            CASE WHEN g % 5 = 0 THEN 'order' WHEN g % 10 = 1 THEN 'metrics' ELSE 'price' END AS evt
        FROM (SELECT g, ((g::bigint * 2654435761) % 1000003)::bigint AS h
              FROM generate_series($2::bigint, $2::bigint + $4::bigint - 1) AS g) AS seq
    ) AS base
) AS rows
