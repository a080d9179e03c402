"""The examples log into the dev host with their two lines of set-up."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import subprocess
import sys
import time

import asyncpg
import httpx
from tradinglog import PipelineHandler

from tests.conftest import ROOT


async def count_where(url: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_the_plain_script_logs_into_the_pipeline(dev_host) -> None:
    env = {
        **os.environ,
        "TRADINGLOG_URL": dev_host.base_url,
        "TRADINGLOG_API_KEY": "dev-ingest-key",
    }
    started = time.time()
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(ROOT / "examples" / "plain_bot.py")],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    sql = (
        "SELECT count(DISTINCT extra_data->>'signal_id') FROM system_logs"
        " WHERE logger_name = 'engine.loop' AND level = 'TRADE_EXECUTED'"
        " AND received_at >= to_timestamp($1) AND extra_data ? 'signal_id'"
    )
    deadline = time.monotonic() + 15
    while await count_where(dev_host.database_url, sql, started) < 20:
        assert time.monotonic() < deadline, "the script's trades did not arrive"
        await asyncio.sleep(0.2)


async def test_the_fastapi_example_logs_requests_and_trades(dev_host, monkeypatch) -> None:
    monkeypatch.setenv("TRADINGLOG_URL", dev_host.base_url)
    monkeypatch.setenv("TRADINGLOG_API_KEY", "dev-ingest-key")
    module = importlib.import_module("examples.fastapi_service")
    transport = httpx.ASGITransport(app=module.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        response = await client.post(
            "/orders",
            json={"symbol": "ETHUSDT", "qty": 1},
            headers={"X-Request-ID": "ex-1", "X-Signal-Id": "sig-ex-1"},
        )
    assert response.status_code == 200 and response.headers["x-request-id"] == "ex-1"
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, PipelineHandler)]:
        handler.close()
        root.removeHandler(handler)
    sql = (
        "SELECT count(*) FROM system_logs WHERE request_id = 'ex-1' AND service = 'api-gateway'"
        " AND extra_data->>'signal_id' = 'sig-ex-1'"
    )
    deadline = time.monotonic() + 15
    while await count_where(dev_host.database_url, sql) < 3:
        assert time.monotonic() < deadline, "the service's logs did not arrive"
        await asyncio.sleep(0.2)
