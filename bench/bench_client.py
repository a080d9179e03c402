"""The bots' logging client: the cost of one log call on the bot's thread with the pipeline
handler attached, beside a StreamHandler writing to /dev/null (target: at most 1.5 times),
and the sustained records per second one client delivers to the dev host."""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
from pathlib import Path

import asyncpg

from bench import databases
from devhost.process import DevHostProcess

CALLS = 50_000
ROUNDS = 5
DELIVER = 100_000
ROOT = Path(__file__).resolve().parent.parent


def bench_database() -> str:
    """A fresh, empty database for a dev host (which applies the migrations itself)."""
    server = databases.server_url("postgres")
    return asyncio.run(databases.create(server, "client", migrated=False))


def per_call_us(logger: logging.Logger) -> float:
    started = time.perf_counter()
    for i in range(CALLS):
        logger.info("order %s filled at %s", i, 97000.5, extra={"symbol": "BTCUSDT"})
    return (time.perf_counter() - started) / CALLS * 1e6


def emit_costs(base_url: str) -> tuple[float, float]:
    from tradinglog import PipelineHandler

    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed below
    stream = logging.StreamHandler(devnull)
    stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    pipeline = PipelineHandler(base_url, "dev-ingest-key", "bench", max_queue=CALLS * 2)
    plain_logger = logging.getLogger("bench.stream")
    shipped_logger = logging.getLogger("bench.pipeline")
    for logger, handler in ((plain_logger, stream), (shipped_logger, pipeline)):
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
    plain, shipped = [], []
    for _ in range(ROUNDS):
        plain.append(per_call_us(plain_logger))
        shipped.append(per_call_us(shipped_logger))
        pipeline.flush(60)
    pipeline.close()
    devnull.close()
    return statistics.median(plain), statistics.median(shipped)


async def delivered_count(url: str, process_id: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM system_logs WHERE extra_data->>'process_id' = $1", process_id
        )
    finally:
        await conn.close()


def sustained_rate(base_url: str, database_url: str) -> float:
    from tradinglog import PipelineHandler

    handler = PipelineHandler(
        base_url, "dev-ingest-key", "bench", max_queue=DELIVER * 2, batch_size=1000
    )
    logger = logging.getLogger("bench.sustained")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    started = time.perf_counter()
    for i in range(DELIVER):
        logger.info("tick %d", i, extra={"symbol": "ETHUSDT", "price": 3500.25})
    handler.flush(300)
    while asyncio.run(delivered_count(database_url, handler.process_id)) < DELIVER:
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    handler.close()
    return DELIVER / elapsed


def main() -> bool:
    host = DevHostProcess(bench_database())
    host.start()
    try:
        plain, shipped = emit_costs(host.base_url)
        rate = sustained_rate(host.base_url, host.database_url)
    finally:
        host.remove()
    ratio = shipped / plain
    print(f"{'measure':<48}{'value':>14}")
    print(f"{'log call, StreamHandler to /dev/null (us)':<48}{plain:>14.2f}")
    print(f"{'log call, PipelineHandler attached (us)':<48}{shipped:>14.2f}")
    print(f"{'ratio pipeline / stream (target <= 1.5)':<48}{ratio:>14.2f}")
    print(f"{'sustained delivery, one client (records/s)':<48}{rate:>14,.0f}")
    return ratio <= 1.5
