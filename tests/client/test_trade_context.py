"""The client's trade context: signal_id carried across asyncio tasks and threads, into
outgoing headers, read back by the middleware, and shipped in every record of the trade."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import FastAPI
from tradinglog import (
    PipelineHandler,
    carry,
    current_signal_id,
    get_logger,
    signal_from_headers,
    signal_headers,
    trade_context,
)
from tradinglog.integrations.starlette import RequestLoggingMiddleware

from tests.client.conftest import wait_rows
from tests.client.test_handler import isolated_logger


async def test_signal_id_follows_tasks_and_carried_threads_only() -> None:
    seen: dict[str, str | None] = {}
    with trade_context("sig-1") as signal_id:
        assert signal_id == "sig-1" == current_signal_id()

        async def decide() -> None:
            await asyncio.sleep(0)
            seen["task"] = current_signal_id()

        await asyncio.create_task(decide())
        plain = threading.Thread(target=lambda: seen.update(thread=current_signal_id()))
        plain.start()
        plain.join()
        carried = threading.Thread(target=carry(lambda: seen.update(carried=current_signal_id())))
        carried.start()
        carried.join()
        with ThreadPoolExecutor(1) as pool:
            seen["pool"] = pool.submit(carry(current_signal_id)).result()
        assert signal_headers({"Accept": "x"}) == {"Accept": "x", "X-Signal-Id": "sig-1"}
    assert seen == {"task": "sig-1", "thread": None, "carried": "sig-1", "pool": "sig-1"}
    assert current_signal_id() is None and signal_headers() == {}
    with trade_context() as made:
        assert made.startswith("sig-") and current_signal_id() == made
    assert signal_from_headers([(b"x-signal-id", b" sig-9 ")]) == "sig-9"
    assert signal_from_headers({"X-SIGNAL-ID": "\x00"}) is None


async def test_a_trade_across_two_services_lands_as_one_chain(dev_host) -> None:
    """The signal service logs and calls the decision service with signal_headers(); the
    decision service's middleware takes the signal id on; every record carries it."""
    handler = PipelineHandler(dev_host.base_url, "dev-ingest-key", "ai-processor")
    name = isolated_logger(handler).name
    log = get_logger(name)
    app = FastAPI()
    app.add_middleware(RequestLoggingMiddleware, service="ai-processor", logger_name=name)

    @app.post("/decide")
    async def decide() -> dict[str, str | None]:
        log.ai_decision("buy it", symbol="BTCUSDT", decision="buy", confidence=0.9)
        return {"signal_id": current_signal_id()}

    transport = httpx.ASGITransport(app=app)
    with trade_context() as signal_id:
        log.signal_received("cross", symbol="BTCUSDT", signal="buy")
        async with httpx.AsyncClient(transport=transport, base_url="http://ai") as client:
            answer = await client.post("/decide", headers=signal_headers())
        order = ThreadPoolExecutor(1).submit(
            carry(log.trade_executed), "filled", symbol="BTCUSDT", side="buy", quantity=1, price=1
        )
        order.result()
    assert answer.json() == {"signal_id": signal_id}
    async with httpx.AsyncClient(transport=transport, base_url="http://ai") as client:
        from_header = await client.post("/decide", headers={"X-Signal-Id": "sig-from-header"})
        without = await client.post("/decide")
    assert from_header.json() == {"signal_id": "sig-from-header"}
    assert without.json() == {"signal_id": None}
    assert handler.flush(10)
    rows = await wait_rows(dev_host.database_url, handler.process_id, 5)
    carried = [r for r in rows if json.loads(r["extra_data"]).get("signal_id") == signal_id]
    levels = {r["level"] for r in carried}
    assert {"SIGNAL_RECEIVED", "AI_DECISION", "TRADE_EXECUTED"} <= levels
    handler.close()
