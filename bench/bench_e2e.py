"""End to end through the dev host, HTTP POST /api/logs to rows in PostgreSQL, with 500-record
requests: the sustained rate (target at least 20,000 records/s) and, at 5,000 records/s
offered, the time from POST to the row (target p95 under 1 s). The latency of a request is
the time until all of its 500 rows are visible: the slowest record of each request.

Side by side in one run: the dev host with every function in one process, with the Event
Hub-triggered functions in one worker process, and with its default workers (one per core),
all sending through the `azure-eventhub` producer over AMQP as in Azure, then the default
workers with ingest handing records to the in-process hub instead (DEVHOST_EVENTHUB=memory),
each with the CPU the dev host (and its workers) spent per record, measured until it is
idle again, so that the figures can be read on a machine loaded by other work."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import orjson
import psutil

from bench.bench_client import bench_database
from devhost.process import DevHostProcess

REQUEST_SIZE = 500
THROUGHPUT_RECORDS = 100_000
CONCURRENCY = 8
OFFERED_RATE = 5_000
LATENCY_SECONDS = 10
SERVICES = (
    "api-gateway",
    "trading-engine",
    "ai-processor",
    "telegram-bot",
    "portfolio-manager",
    "exchange-connector",
)
HEADERS = {"Authorization": "Bearer dev-ingest-key", "Content-Type": "application/json"}


def request_body(tag: str, n: int = REQUEST_SIZE) -> bytes:
    """500 realistic records (about 500 bytes each) sharing a request id, one service, each
    with its id and timestamp as the client library sends them."""
    service = random.choice(SERVICES)
    now = datetime.now(UTC)
    records = []
    for i in range(n):
        level = random.choices(
            ["INFO", "DEBUG", "TRADE_EXECUTED", "WARNING", "ERROR"], [70, 10, 10, 7, 3]
        )[0]
        records.append(
            {
                "id": str(uuid.uuid4()),
                "timestamp": (now + timedelta(microseconds=i)).isoformat(),
                "level": level,
                "service": service,
                "logger_name": f"{service}.worker",
                "message": f"order {i} filled at {random.uniform(90_000, 100_000):.2f} on binance",
                "request_id": tag,
                "session_id": f"s-{random.randint(1, 50)}",
                "event_type": "order_update",
                "extra_data": {
                    "symbol": random.choice(["BTCUSDT", "ETHUSDT", "SOLUSDT"]),
                    "qty": round(random.random(), 4),
                    "response_time": random.randint(5, 900),
                    "exchange": "binance",
                    "strategy": "momentum-v3",
                },
            }
        )
    return orjson.dumps(records)


async def count_rows(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM system_logs")


async def counted_rows(conn: asyncpg.Connection) -> int:
    """The rows stored, from the per-minute rollup the store writes in the same transaction as
    the rows: as exact, and a few rows to read where count(*) scans a growing table 20 times a
    second on the cores it measures."""
    return await conn.fetchval("SELECT coalesce(sum(count), 0) FROM log_counts_minute")


async def throughput(base_url: str, database_url: str) -> float:
    bodies = [request_body(f"t-{i}") for i in range(THROUGHPUT_RECORDS // REQUEST_SIZE)]
    conn = await asyncpg.connect(database_url)
    before = await counted_rows(conn)
    queue = iter(bodies)
    async with aiohttp.ClientSession() as session:

        async def sender() -> None:
            for body in queue:
                while True:
                    async with session.post(
                        f"{base_url}/api/logs", data=body, headers=HEADERS
                    ) as response:
                        if response.status == 202:
                            break
                        await asyncio.sleep(float(response.headers.get("Retry-After", 1)))

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
        while await counted_rows(conn) - before < THROUGHPUT_RECORDS:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        stored = await count_rows(conn)
        if stored < THROUGHPUT_RECORDS:
            raise AssertionError(f"the rollup counts {THROUGHPUT_RECORDS} but {stored} rows exist")
    await conn.close()
    return THROUGHPUT_RECORDS / elapsed


async def latency(base_url: str, database_url: str) -> tuple[list[float], int]:
    """(POST-to-row delays of the accepted requests, how many requests were refused): a
    refused request (503 when the producer's send timed out) has no rows to wait for."""
    interval = REQUEST_SIZE / OFFERED_RATE
    count = int(LATENCY_SECONDS / interval)
    tags = [f"l-{uuid.uuid4().hex[:10]}" for _ in range(count)]
    bodies = [request_body(tag) for tag in tags]
    posted: dict[str, float] = {}
    landed: dict[str, float] = {}
    refused: set[str] = set()
    answered = asyncio.Event()
    conn = await asyncpg.connect(database_url)

    async def watch() -> None:
        while not answered.is_set() or len(landed) + len(refused) < count:
            waiting = [t for t in posted if t not in landed and t not in refused]
            if waiting:
                rows = await conn.fetch(
                    "SELECT request_id, count(*) AS n FROM system_logs"
                    " WHERE request_id = ANY($1::text[]) GROUP BY request_id",
                    waiting,
                )
                now = time.perf_counter()
                for r in rows:
                    if r["n"] >= REQUEST_SIZE:
                        landed[r["request_id"]] = now
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    async with aiohttp.ClientSession() as session:

        async def send(tag: str, body: bytes) -> None:
            async with session.post(f"{base_url}/api/logs", data=body, headers=HEADERS) as r:
                if r.status != 202:
                    refused.add(tag)

        start = time.perf_counter()
        tasks = []
        for n, (tag, body) in enumerate(zip(tags, bodies, strict=True)):
            await asyncio.sleep(max(0.0, start + n * interval - time.perf_counter()))
            posted[tag] = time.perf_counter()
            tasks.append(asyncio.create_task(send(tag, body)))
        await asyncio.gather(*tasks)
        answered.set()
    await asyncio.wait_for(watcher, 60)
    await conn.close()
    return [landed[t] - posted[t] for t in tags if t in landed], len(refused)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def tree_cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its live descendants (the dev host's workers)."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def settled_cpu_seconds(pid: int, timeout: float = 30) -> float:
    """tree_cpu_seconds once the consumers that lag the store (archive, analyze, stream) are
    done too: when half a second passes with under 5% of a core used."""
    deadline = time.monotonic() + timeout
    last = tree_cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = tree_cpu_seconds(pid)
        if now - last < 0.025:
            return now
        last = now
    return last


@dataclass(frozen=True)
class Run:
    rate: float
    host_cpu_us: float
    """Dev host CPU (its own and its workers') per record, in microseconds."""
    delays: list[float]
    refused: int = 0
    """Requests of the latency run answered other than 202."""


def measure(layout: dict[str, str], with_latency: bool) -> Run:
    host = DevHostProcess(bench_database(), env=layout)
    host.start()
    try:
        assert host.proc is not None
        cpu_before = tree_cpu_seconds(host.proc.pid)
        rate = asyncio.run(throughput(host.base_url, host.database_url))
        cpu = settled_cpu_seconds(host.proc.pid) - cpu_before
        delays, refused = (
            asyncio.run(latency(host.base_url, host.database_url)) if with_latency else ([], 0)
        )
    finally:
        host.remove()
    return Run(rate, cpu / THROUGHPUT_RECORDS * 1e6, delays, refused)


ONE_PROCESS = {"DEVHOST_WORKERS": "0"}
ONE_WORKER = {"DEVHOST_WORKERS": "1"}
DEFAULT: dict[str, str] = {}
"""Workers as the dev host chooses by default: one per core, at most one per function."""
IN_PROCESS_HUB = {"DEVHOST_EVENTHUB": "memory"}
"""Default workers, ingest handing records to the in-process hub instead of sending them
through the `azure-eventhub` producer over AMQP (what every other layout does)."""


def main() -> bool:
    load = os.getloadavg()[0]
    single = measure(ONE_PROCESS, with_latency=False)
    one_worker = measure(ONE_WORKER, with_latency=False)
    worker = measure(DEFAULT, with_latency=True)
    shortcut = measure(IN_PROCESS_HUB, with_latency=False)
    load = max(load, os.getloadavg()[0])
    workers = min(os.cpu_count() or 1, 4)
    p50, p95 = (
        (statistics.median(worker.delays), percentile(worker.delays, 95))
        if worker.delays
        else (float("nan"), float("nan"))
    )
    rows: list[tuple[str, Any]] = [
        ("sustained, one process (records/s)", f"{single.rate:,.0f}"),
        ("sustained, one worker (records/s)", f"{one_worker.rate:,.0f}"),
        (f"sustained, default {workers} workers (records/s)", f"{worker.rate:,.0f}"),
        ("  ratio default / one process", f"{worker.rate / single.rate:.2f}"),
        ("  ratio default / 20,000 target", f"{worker.rate / 20_000:.2f}"),
        ("sustained, in-process hub, no producer (records/s)", f"{shortcut.rate:,.0f}"),
        ("  ratio producer over AMQP / in-process hub", f"{worker.rate / shortcut.rate:.2f}"),
        ("dev host CPU, one process (us/record)", f"{single.host_cpu_us:.0f}"),
        ("dev host CPU, one worker (us/record)", f"{one_worker.host_cpu_us:.0f}"),
        ("dev host CPU, default (us/record)", f"{worker.host_cpu_us:.0f}"),
        ("  ratio default / one process", f"{worker.host_cpu_us / single.host_cpu_us:.2f}"),
        ("dev host CPU, in-process hub (us/record)", f"{shortcut.host_cpu_us:.0f}"),
        (
            "  producer over AMQP - in-process hub (us/record)",
            f"{worker.host_cpu_us - shortcut.host_cpu_us:.0f}",
        ),
        (f"POST to row at {OFFERED_RATE:,}/s offered, p50 (s)", f"{p50:.3f}"),
        (f"POST to row at {OFFERED_RATE:,}/s offered, p95 (s)", f"{p95:.3f}"),
        ("  ratio p95 / 1 s target", f"{p95:.2f}"),
        ("  requests refused (503) in that run", f"{worker.refused}"),
        ("load average (1 min, highest seen)", f"{load:.2f}"),
        ("cores", f"{os.cpu_count()}"),
    ]
    for name, value in itertools.chain([("measure", "value")], rows):
        print(f"{name:<52}{value:>14}")
    return worker.rate >= 20_000 and p95 < 1.0 and worker.refused == 0
