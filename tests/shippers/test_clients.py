"""The shippers' real client libraries against `python -m devhost`, down to the stored rows:
the Elasticsearch Python client's `helpers.bulk`, python-logging-loki, seqlog."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import asyncpg

INGEST_KEY = "dev-ingest-key"


async def rows_where(url: str, sql: str, *args: Any, want: int = 1, timeout: float = 15) -> list:
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            rows = await conn.fetch(f"SELECT * FROM system_logs WHERE {sql}", *args)
            if len(rows) >= want or time.monotonic() > deadline:
                return rows
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def test_elasticsearch_client_bulk_lands_in_postgres(dev_host) -> None:
    from elasticsearch import Elasticsearch, helpers

    marker = uuid.uuid4().hex
    client = Elasticsearch(f"{dev_host.base_url}/api", api_key=("fleet", INGEST_KEY))
    try:
        info = client.info()
        assert info["version"]["number"].startswith("8.")
        actions = [
            {
                "_index": "trading",
                "_id": f"es-{marker}-{i}",
                "_source": {
                    "@timestamp": f"2026-03-14T12:00:0{i}.500Z",
                    "message": f"order {i} filled {marker}",
                    "level": "trade_executed",
                    "service": "trading-engine",
                    "symbol": "BTCUSDT",
                },
            }
            for i in range(3)
        ]
        ok, errors = helpers.bulk(client, actions)
    finally:
        client.close()
    assert ok == 3 and errors == []
    rows = await rows_where(dev_host.database_url, "message LIKE $1", f"%{marker}", want=3)
    by_id = {r["id"]: r for r in rows}
    assert sorted(by_id) == [f"es-{marker}-{i}" for i in range(3)]
    first = by_id[f"es-{marker}-0"]
    assert first["level"] == "TRADE_EXECUTED" and first["service"] == "trading-engine"
    assert first["timestamp"].isoformat() == "2026-03-14T12:00:00.500000+00:00"
    assert '"symbol": "BTCUSDT"' in str(first["extra_data"])


async def test_python_logging_loki_handler_lands_in_postgres(dev_host) -> None:
    import logging_loki

    marker = uuid.uuid4().hex
    handler = logging_loki.LokiHandler(
        url=f"{dev_host.base_url}/api/loki/api/v1/push",
        tags={"service": "telegram-bot", "env": "test"},
        version="1",
    )
    # the library offers only Basic auth; a Bearer key goes on its requests session
    handler.emitter.session.headers["Authorization"] = f"Bearer {INGEST_KEY}"
    logger = logging.getLogger(f"bot.loki.{marker}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        await asyncio.to_thread(logger.warning, "user %s muted %s", 42, marker)
    finally:
        logger.removeHandler(handler)
        handler.close()
    rows = await rows_where(dev_host.database_url, "message = $1", f"user 42 muted {marker}")
    assert len(rows) == 1
    row = rows[0]
    assert row["service"] == "telegram-bot"
    assert row["level"] == "WARNING"
    assert row["logger_name"] == f"bot.loki.{marker}"
    assert '"env": "test"' in str(row["extra_data"])


async def test_seqlog_clef_lands_in_postgres(dev_host) -> None:
    import seqlog
    from seqlog.feature_flags import FeatureFlag, configure_feature

    marker = uuid.uuid4().hex
    configure_feature(FeatureFlag.USE_CLEF, True)
    handler = seqlog.SeqLogHandler(
        server_url=f"{dev_host.base_url}/api", api_key=INGEST_KEY, batch_size=10
    )
    handler.setFormatter(logging.Formatter())
    logger = seqlog.StructuredLogger(f"ai.processor.{marker}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"model timeout {marker}")
        except ValueError:
            logger.error(  # only queues the record: the handler posts from its own thread
                "Decision failed for {symbol}",
                symbol="ETHUSDT",
                service="ai-processor",
                exc_info=True,
            )
        await asyncio.to_thread(handler.log_queue.join)  # taken into the consumer's batch
        await asyncio.to_thread(handler.flush)
    finally:
        logger.removeHandler(handler)
        handler.close()
        configure_feature(FeatureFlag.USE_CLEF, False)
    rows = await rows_where(
        dev_host.database_url, "exception_message = $1", f"model timeout {marker}"
    )
    assert len(rows) == 1
    row = rows[0]
    assert row["message"] == "Decision failed for ETHUSDT"
    assert row["level"] == "ERROR" and row["service"] == "ai-processor"
    assert row["logger_name"] == f"ai.processor.{marker}"
    assert row["exception_type"] == "ValueError"
    assert "Traceback (most recent call last)" in row["stack_trace"]
    assert '"message_template": "Decision failed for {symbol}"' in str(row["extra_data"])


async def test_seqlog_events_body_lands_in_postgres(dev_host) -> None:
    """seqlog's default: the `{"Events": [...]}` body to `{server}/api/events/raw`."""
    import seqlog

    marker = uuid.uuid4().hex
    handler = seqlog.SeqLogHandler(server_url=dev_host.base_url, api_key=INGEST_KEY)
    handler.setFormatter(logging.Formatter())
    logger = seqlog.StructuredLogger(f"gateway.{marker}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("Spread {spread} wide on {marker}", spread=12, marker=marker)
        await asyncio.to_thread(handler.log_queue.join)
        await asyncio.to_thread(handler.flush)
    finally:
        logger.removeHandler(handler)
        handler.close()
    rows = await rows_where(dev_host.database_url, "message = $1", f"Spread 12 wide on {marker}")
    assert len(rows) == 1
    row = rows[0]
    assert row["level"] == "WARNING" and row["logger_name"] == f"gateway.{marker}"
    assert '"spread": 12' in str(row["extra_data"])
