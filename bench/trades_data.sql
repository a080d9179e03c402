-- One day of trading-bot records in which trades run from signal to outcome: $1 the day's
-- start, $2 how many rows. Rows come in groups of 20 sharing a request id: a signal, a
-- decision and an outcome of one trade (keyed by extra_data.signal_id), then 17 INFO/DEBUG
-- records around it. Fates: executed 70 %, blocked 10 %, failed 7 %, held 8 %, stalled 5 %.
INSERT INTO {table} (id, "timestamp", received_at, level, level_no, service, logger_name,
    message, request_id, extra_data)
SELECT 'bt-' || g::text, ts, ts + interval '40 ms', lv, lno, svc, svc || '.trades', msg,
    'req-' || grp::text, extra
FROM (
    SELECT g, grp, fate, sym,
        $1::timestamptz + (grp * 86390000 / ($2 / 20)) * interval '1 ms'
            + CASE pos WHEN 0 THEN interval '0'
                       WHEN 1 THEN (200 + h % 1800) * interval '1 ms'
                       WHEN 2 THEN (400 + h % 1800 + (h / 7) % 1500) * interval '1 ms'
                       ELSE (pos * 150) * interval '1 ms' END AS ts,
        CASE
            WHEN pos = 0 THEN 'SIGNAL_RECEIVED'
            WHEN pos = 1 AND fate < 95 THEN 'AI_DECISION'
            WHEN pos = 2 AND fate < 70 THEN 'TRADE_EXECUTED'
            WHEN pos = 2 AND fate < 80 THEN 'RISK_ALERT'
            WHEN pos = 2 AND fate < 87 THEN 'ERROR'
            WHEN pos % 5 = 4 THEN 'DEBUG'
            ELSE 'INFO'
        END AS lv,
        CASE
            WHEN pos = 0 THEN 22 WHEN pos = 1 AND fate < 95 THEN 23
            WHEN pos = 2 AND fate < 70 THEN 25 WHEN pos = 2 AND fate < 80 THEN 35
            WHEN pos = 2 AND fate < 87 THEN 40 WHEN pos % 5 = 4 THEN 10 ELSE 20
        END AS lno,
        CASE
            WHEN pos = 0 THEN 'api-gateway' WHEN pos = 1 THEN 'ai-processor'
            WHEN pos = 2 AND fate >= 70 AND fate < 80 THEN 'portfolio-manager'
            WHEN pos = 2 THEN 'exchange-connector'
            ELSE (ARRAY['trading-engine', 'telegram-bot', 'api-gateway', 'portfolio-manager'])[1 + pos % 4]
        END AS svc,
        CASE WHEN pos < 3 THEN 'trade step ' || pos::text || ' of sig-' || grp::text || ' on ' || sym
             ELSE 'Price update for ' || sym || ': ' || (h % 90000)::text END AS msg,
        CASE
            WHEN pos = 0 THEN jsonb_build_object('signal_id', 'sig-' || grp::text, 'symbol', sym,
                'side', (ARRAY['buy', 'sell'])[1 + h % 2])
            WHEN pos = 1 THEN jsonb_build_object('signal_id', 'sig-' || grp::text, 'symbol', sym,
                'decision', CASE WHEN fate >= 87 THEN 'hold' ELSE (ARRAY['buy', 'sell'])[1 + h % 2] END)
            WHEN pos = 2 AND fate < 87 THEN jsonb_build_object('signal_id', 'sig-' || grp::text,
                'symbol', sym)
            ELSE jsonb_build_object('symbol', sym, 'duration_ms', h % 2000)
        END AS extra
    FROM (
        SELECT g, g / 20 AS grp, g % 20 AS pos, (g / 20 * 2654435761) % 100 AS fate,
            (g * 40503 + 17) % 1000003 AS h,
            (ARRAY['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BNBUSDT', 'XRPUSDT', 'ADAUSDT', 'DOGEUSDT'])[1 + (g / 20) % 7] AS sym
        FROM generate_series(0::bigint, $2::bigint - 1) AS g
    ) AS base
) AS rows
