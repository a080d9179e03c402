"""The bots' logging client against the dev host: delivery exactly once, outages, spool,
a full queue, and records the server refuses."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from pathlib import Path

import pytest
from tradinglog import PipelineHandler, get_logger, log_context

from tests.client.conftest import wait_rows


def isolated_logger(handler: PipelineHandler) -> logging.Logger:
    logger = logging.getLogger(f"bot.{uuid.uuid4().hex[:8]}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return logger


def seqs(rows: list) -> list[int]:
    return sorted(json.loads(r["extra_data"])["seq"] for r in rows)


async def test_two_lines_of_setup_ship_the_seed_api(dev_host) -> None:
    handler = PipelineHandler(dev_host.base_url, "dev-ingest-key", "trading-engine")
    name = isolated_logger(handler).name
    log = get_logger(name)
    with log_context(request_id="req-42", user_id="u-7"):
        log.info("Order placed", symbol="BTCUSDT", qty=0.5)
        log.trade_executed("Bought", symbol="BTCUSDT", side="buy", quantity=0.5, price=97000.5)
        log.signal_received("RSI crossed", symbol="ETHUSDT", signal="buy")
        log.ai_decision("Hold position", decision="hold", confidence=0.82)
        log.risk_alert("Exposure high", risk_type="exposure", exposure=0.93)
        try:
            raise ConnectionError("Failed to connect to exchange")
        except ConnectionError:
            log.exception("Exchange call failed", exchange="binance")
    assert handler.flush(10)
    rows = {r["message"]: r for r in await wait_rows(dev_host.database_url, handler.process_id, 6)}
    assert set(rows) == {
        "Order placed",
        "Bought",
        "RSI crossed",
        "Hold position",
        "Exposure high",
        "Exchange call failed",
    }
    assert rows["Bought"]["level"] == "TRADE_EXECUTED"
    assert rows["RSI crossed"]["level"] == "SIGNAL_RECEIVED"
    assert rows["Hold position"]["level"] == "AI_DECISION"
    assert rows["Exposure high"]["level"] == "RISK_ALERT"
    assert all(r["request_id"] == "req-42" for r in rows.values())
    trade = json.loads(rows["Bought"]["extra_data"])
    assert trade["price"] == 97000.5 and trade["side"] == "buy"
    handler.close()


async def test_ten_thousand_records_from_threads_and_asyncio_arrive_exactly_once(
    dev_host,
) -> None:
    handler = PipelineHandler(dev_host.base_url, "dev-ingest-key", "portfolio-manager")
    logger = isolated_logger(handler)

    def worker(n: int) -> None:
        for i in range(2000):
            with log_context(request_id=f"thread-{n}"):
                logger.info("thread %d record %d", n, i)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()

    async def task(n: int) -> None:
        for i in range(500):
            with log_context(request_id=f"task-{n}"):
                logger.info("task %d record %d", n, i)
            if i % 100 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(*(task(n) for n in range(4)))
    for t in threads:
        t.join()
    assert await asyncio.to_thread(handler.flush, 60)
    rows = await wait_rows(dev_host.database_url, handler.process_id, 10_000, 60)
    assert len(rows) == 10_000
    assert seqs(rows) == list(range(1, 10_001))
    assert all(r["request_id"] == r["message"].split(" record")[0].replace(" ", "-") for r in rows)
    handler.close()


@pytest.mark.slow
async def test_an_outage_of_ten_seconds_loses_nothing(dev_host, proxy) -> None:
    handler = PipelineHandler(proxy.url, "dev-ingest-key", "exchange-connector", max_backoff=2)
    logger = isolated_logger(handler)
    for i in range(300):
        logger.warning("before %d", i)
    assert await asyncio.to_thread(handler.flush, 10)
    proxy.down()
    for i in range(300):
        logger.warning("during %d", i)
    await asyncio.sleep(10)
    proxy.up()
    for i in range(300):
        logger.warning("after %d", i)
    assert await asyncio.to_thread(handler.flush, 30)
    rows = await wait_rows(dev_host.database_url, handler.process_id, 900)
    assert seqs(rows) == list(range(1, 901))
    handler.close()


async def test_the_spool_keeps_unsent_batches_across_a_restart(
    dev_host, proxy, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    proxy.down()
    first = PipelineHandler(
        proxy.url, "dev-ingest-key", "telegram-bot", spool_dir=spool, close_timeout=1
    )
    logger = isolated_logger(first)
    for i in range(250):
        logger.info("spooled %d", i)
    first.close()
    assert list(spool.glob("*.json")), "nothing was spooled"
    proxy.up()
    second = PipelineHandler(proxy.url, "dev-ingest-key", "telegram-bot", spool_dir=spool)
    rows = await wait_rows(dev_host.database_url, first.process_id, 250)
    assert seqs(rows) == list(range(1, 251))
    deadline = time.monotonic() + 5
    while list(spool.glob("*.json")) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not list(spool.glob("*.json"))
    second.close()


async def test_a_full_queue_never_blocks_and_reports_what_it_dropped(dev_host, proxy) -> None:
    proxy.down()
    handler = PipelineHandler(
        proxy.url, "dev-ingest-key", "ai-processor", max_queue=100, max_backoff=0.5
    )
    logger = isolated_logger(handler)
    started = time.perf_counter()
    for i in range(5000):
        logger.info("burst %d", i)
    logging_took = time.perf_counter() - started
    assert logging_took < 2.0, "logging calls waited for the network"
    proxy.up()
    assert await asyncio.to_thread(handler.flush, 20)
    rows = await wait_rows(dev_host.database_url, handler.process_id, 100)
    reports = [json.loads(r["extra_data"]) for r in rows if r["message"].startswith("log client")]
    delivered = [r for r in rows if r["message"].startswith("burst")]
    assert reports and sum(r["dropped"] for r in reports) == 5000 - len(delivered)
    assert seqs(delivered)[-1] == 5000
    handler.close()


async def test_refused_records_are_reported_not_retried_and_the_rest_delivered(
    dev_host,
) -> None:
    handler = PipelineHandler(
        dev_host.base_url, "dev-ingest-key", "api-gateway", batch_size=1000, flush_interval=0.2
    )
    logger = isolated_logger(handler)
    logger.info("x" * 40_000)
    for i in range(700):
        logger.info("padded %d %s", i, "p" * 2000)
    assert await asyncio.to_thread(handler.flush, 30)
    rows = await wait_rows(dev_host.database_url, handler.process_id, 700)
    assert len([r for r in rows if r["message"].startswith("padded")]) == 700
    assert len(handler.rejected) == 1
    assert "message" in handler.rejected[0]["error"]
    handler.close()
