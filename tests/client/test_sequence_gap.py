"""The pipeline side of the client's sequence numbers: records a bot lost show up as an alert."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
from tradinglog import PipelineHandler

from tests.client.conftest import rows_of_process
from tests.client.test_handler import isolated_logger


async def alerts(base_url: str) -> list[dict]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{base_url}/api/alerts", headers={"Authorization": "Bearer dev-reader-key"}
        ) as response,
    ):
        assert response.status == 200
        return (await response.json())["items"]


async def test_records_dropped_by_a_full_client_queue_raise_an_alert(dev_host, proxy) -> None:
    service = "gap-bot"
    handler = PipelineHandler(proxy.url, "dev-ingest-key", service, max_queue=50, max_backoff=0.5)
    logger = isolated_logger(handler)
    logger.info("first record")
    assert await asyncio.to_thread(handler.flush, 10)
    proxy.down()
    for i in range(500):
        logger.info("burst %d", i)
    proxy.up()
    assert await asyncio.to_thread(handler.flush, 20)
    deadline = time.monotonic() + 20
    while True:
        found = [
            a
            for a in await alerts(dev_host.base_url)
            if a["rule"] == "client_records_lost" and a["service"] == service
        ]
        if found or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    assert found, "no alert for the lost records"
    deadline = time.monotonic() + 20
    while True:
        rows = await rows_of_process(dev_host.database_url, handler.process_id)
        dropped = sum(
            json.loads(r["extra_data"])["dropped"]
            for r in rows
            if r["message"].startswith("log client queue was full")
        )
        burst = [r for r in rows if r["message"].startswith("burst")]
        if dropped + len(burst) >= 500 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert dropped == 500 - len(burst) > 0
    assert found[0]["count"] == dropped
    handler.close()
