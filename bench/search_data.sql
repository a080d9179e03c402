-- One day of realistic trading-bot records: $1 day start, $2 first sequence number,
-- $3 the service names, $4 how many. Records of one request share a request id and lie
-- milliseconds apart; level frequencies follow a production mix (INFO 55 %, ERROR 3 %).
INSERT INTO {table} (id, "timestamp", received_at, level, level_no, service, logger_name, message,
    request_id, user_id, session_id, event_type, extra_data, exception_type, exception_message,
    stack_trace, ip_address, user_agent)
SELECT gen_random_uuid()::text, ts, ts + interval '40 ms', (lv).name, (lv).no, svc, svc || '.' || lg,
    msg, 'req-' || (g / 4)::text, 'user-' || (hash % 5000)::text, 'sess-' || (hash % 40000)::text,
    evt, extra, exc_type, exc_msg, stack, ip, ua
FROM (
    SELECT g, hash, ts, svc, lv, lg, sym, evt,
        CASE lv.name
            WHEN 'ERROR' THEN (ARRAY[
                'Trade execution failed for order ' || oid || ' on ' || sym || ': exchange rejected',
                'Database query failed after ' || ms || ' ms',
                'Order placement failed: insufficient margin for ' || sym,
                'Websocket connection to exchange lost while streaming ' || sym])[1 + hash % 4]
            WHEN 'CRITICAL' THEN (ARRAY[
                'Trading halted: risk engine unreachable',
                'Exchange API key rejected, all orders stopped',
                'Position reconciliation mismatch on ' || sym])[1 + hash % 3]
            WHEN 'WARNING' THEN (ARRAY[
                'Slow response from exchange: ' || ms || ' ms for ' || sym,
                'Rate limit at 80 percent on order endpoint',
                'Retrying order ' || oid || ' after timeout',
                'Stale price for ' || sym || ', using last known'])[1 + hash % 4]
            WHEN 'RISK_ALERT' THEN 'Risk limit exceeded on ' || sym || ': exposure ' || ms || ' USDT'
            WHEN 'TRADE_EXECUTED' THEN (ARRAY['Bought ', 'Sold '])[1 + hash % 2]
                || (hash % 90 + 1)::text || ' ' || sym || ' at ' || px || ', order ' || oid
            WHEN 'SIGNAL_RECEIVED' THEN 'Signal received: ' || (ARRAY['BUY', 'SELL', 'HOLD'])[1 + hash % 3]
                || ' ' || sym || ' strength 0.' || (hash % 100)::text
            WHEN 'AI_DECISION' THEN 'Model decided ' || (ARRAY['long', 'short', 'flat'])[1 + hash % 3]
                || ' on ' || sym || ' with confidence 0.' || (hash % 100)::text
            WHEN 'DEBUG' THEN (ARRAY[
                'Cache hit for ticker ' || sym,
                'Heartbeat sent to ' || svc,
                'Order book snapshot for ' || sym || ' depth ' || (hash % 50)::text])[1 + hash % 3]
            ELSE (ARRAY[
                'Request completed GET /api/portfolio in ' || ms || ' ms',
                'Price update for ' || sym || ': ' || px,
                'Position updated for ' || sym || ', size ' || (hash % 1000)::text,
                'User command /balance handled',
                'Order ' || oid || ' accepted by exchange',
                'Portfolio value recalculated: ' || px || ' USDT'])[1 + hash % 6]
        END AS msg,
        jsonb_build_object('symbol', sym, 'duration_ms', hash % 2000) AS extra,
        CASE WHEN lv.no >= 40 THEN (ARRAY['TimeoutError', 'ConnectionError', 'ValueError'])[1 + hash % 3] END AS exc_type,
        CASE WHEN lv.no >= 40 THEN 'upstream did not answer in time (order ' || oid || ')' END AS exc_msg,
        CASE WHEN lv.no >= 40 THEN 'Traceback (most recent call last):' || E'\n'
            || '  File "/app/' || svc || '/engine.py", line ' || (hash % 900)::text || ', in execute' || E'\n'
            || '    result = await client.place_order(order)' || E'\n'
            || 'TimeoutError: upstream did not answer in time' END AS stack,
        CASE WHEN svc IN ('api-gateway', 'telegram-bot') THEN '10.' || (hash % 250)::text || '.' || (hash % 199)::text || '.7' END AS ip,
        CASE WHEN svc = 'api-gateway' THEN 'python-httpx/0.27 bot/' || (hash % 40)::text END AS ua
    FROM (
        SELECT g, hash,
            $1::timestamptz + ((((g / 4) * 2654435761) % 86390000) + (g % 4) * 9) * interval '1 ms' AS ts,
            $3::text[] AS services,
            (ARRAY['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BNBUSDT', 'XRPUSDT', 'ADAUSDT', 'DOGEUSDT'])[1 + hash % 7] AS sym,
            'ord-' || (hash % 1000000)::text AS oid,
            (hash % 3000)::text AS ms,
            (20000 + hash % 50000)::text || '.' || (hash % 100)::text AS px
        FROM (SELECT g, ((g::bigint * 11400714819323198485::numeric) % 1000003)::bigint AS hash
              FROM generate_series($2::bigint, $2::bigint + $4 - 1) AS g) AS seq
    ) AS base
    CROSS JOIN LATERAL (SELECT services[1 + (g / 4 + g % 4) % 6] AS svc) AS s
    CROSS JOIN LATERAL (
        SELECT (ARRAY['engine', 'client', 'handler', 'worker'])[1 + hash % 4] AS lg,
               (ARRAY['order', 'signal', 'decision', 'request', 'heartbeat'])[1 + g % 5] AS evt
    ) AS e
    CROSS JOIN LATERAL (
        SELECT name, no FROM (VALUES
            ('DEBUG', 10, 150), ('INFO', 20, 700), ('SIGNAL_RECEIVED', 22, 770),
            ('AI_DECISION', 23, 820), ('TRADE_EXECUTED', 25, 880), ('WARNING', 30, 950),
            ('RISK_ALERT', 35, 965), ('ERROR', 40, 995), ('CRITICAL', 50, 1000)
        ) AS l(name, no, upto)
        WHERE upto > (hash * 7 + g) % 1000 ORDER BY upto LIMIT 1
    ) AS lv
) AS rows
