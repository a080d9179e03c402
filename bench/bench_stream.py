"""Live stream speed, measured with pysignalr as the client against the running dev host.

1. POST-to-client latency: 500 records posted one per request at a steady pace, each timed
   from the start of its POST to its arrival at a client that negotiated at /api/negotiate.
2. Highest sustained rate: records posted in 100 ms batches at rising rates; a rate is kept
   up with when every record arrives, the client is less than a second behind when posting
   stops, and the step's p95 latency is under a second.
3. Side by side, on an in-process hub: the same records delivered as one message per batch
   and as one message per record, which is why the stream function sends batches."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from pysignalr.client import SignalRClient

from bench import databases
from devhost.environment import DEV_KEYS
from devhost.process import DevHostProcess
from devhost.signalr import Hub

LATENCY_RECORDS = 500
LATENCY_PACE_PER_SECOND = 50
RATES = (500, 1000, 2000, 4000)
STEP_SECONDS = 5.0
TARGET_P95_SECONDS = 1.0
TARGET_RATE = 1000
SIDE_BY_SIDE_RECORDS = 4000


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class Receiver:
    """A pysignalr client counting the bench's records as they arrive."""

    prefix: str
    arrived: dict[int, float] = field(default_factory=dict)
    messages: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_logs(self, arguments: list[Any]) -> None:
        now = time.perf_counter()
        self.messages += 1
        for record in arguments[0]:
            message = record.get("message") or ""
            if message.startswith(self.prefix):
                self.arrived.setdefault(int(message[len(self.prefix) :]), now)
        self.changed.set()

    async def on_other(self, arguments: list[Any]) -> None:
        """Alerts and reports share the connection; the bench only counts records."""

    async def wait_for(self, indexes: range, timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while not all(i in self.arrived for i in indexes):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)
        return True


@contextlib.contextmanager
def dev_host() -> Iterator[DevHostProcess]:
    server = databases.server_url("postgres")
    database = asyncio.run(databases.create(server, "bench_stream", migrated=False))
    host = DevHostProcess(database)
    host.start()
    try:
        yield host
    finally:
        host.remove()


async def connect(url: str, headers: dict[str, str], receiver: Receiver) -> asyncio.Task[None]:
    client = SignalRClient(url, headers=headers, retry_count=1, max_size=None)
    opened = asyncio.Event()

    async def on_open() -> None:
        opened.set()

    client.on_open(on_open)
    client.on("logs", receiver.on_logs)
    client.on("alert", receiver.on_other)
    client.on("report", receiver.on_other)
    task = asyncio.get_running_loop().create_task(client.run())
    await asyncio.wait_for(opened.wait(), 15)
    return task


def record(prefix: str, index: int) -> dict[str, Any]:
    return {
        "level": "INFO",
        "service": "trading-engine",
        "message": f"{prefix}{index}",
        "request_id": f"bench-{index}",
        "extra_data": {"symbol": "BTCUSDT", "price": 67000.5, "quantity": 0.25, "n": index},
    }


async def measure_latency(http: aiohttp.ClientSession, api: str, receiver: Receiver) -> list[float]:
    posted: dict[int, float] = {}
    interval = 1 / LATENCY_PACE_PER_SECOND
    started = time.perf_counter()
    for i in range(LATENCY_RECORDS):
        await asyncio.sleep(max(0.0, started + i * interval - time.perf_counter()))
        posted[i] = time.perf_counter()
        async with http.post(f"{api}/logs", json=record(receiver.prefix, i)) as response:
            assert response.status == 202, await response.text()
    await receiver.wait_for(range(LATENCY_RECORDS), 15)
    return [receiver.arrived[i] - posted[i] for i in posted if i in receiver.arrived]


async def sustain(
    http: aiohttp.ClientSession, api: str, receiver: Receiver, rate: int, first: int
) -> dict[str, float]:
    """Post `rate` records a second for STEP_SECONDS; how the client kept up."""
    per_batch = max(1, rate // 10)
    batches = int(STEP_SECONDS * 10)
    posted: dict[int, float] = {}
    started = time.perf_counter()

    async def post(first_index: int) -> None:
        batch = [record(receiver.prefix, first_index + k) for k in range(per_batch)]
        sent_at = time.perf_counter()
        for k in range(per_batch):
            posted[first_index + k] = sent_at
        async with http.post(f"{api}/logs", json=batch) as response:
            assert response.status == 202, await response.text()

    posts = []
    for b in range(batches):
        await asyncio.sleep(max(0.0, started + b * 0.1 - time.perf_counter()))
        posts.append(asyncio.ensure_future(post(first + b * per_batch)))
    await asyncio.gather(*posts)
    index = first + batches * per_batch
    post_seconds = time.perf_counter() - started
    stopped = time.perf_counter()
    complete = await receiver.wait_for(range(first, index), 20)
    arrived = [receiver.arrived[i] for i in posted if i in receiver.arrived]
    lag = (max(arrived) - stopped) if arrived else float("inf")
    latencies = [receiver.arrived[i] - posted[i] for i in posted if i in receiver.arrived]
    return {
        "rate": rate,
        "posted_rate": len(posted) / post_seconds,
        "received": len(arrived) / len(posted),
        "lag": max(lag, 0.0),
        "p95": percentile(latencies, 95) if latencies else float("inf"),
        "kept_up": float(
            complete
            and lag < TARGET_P95_SECONDS
            and percentile(latencies, 95) < TARGET_P95_SECONDS
            and len(posted) / post_seconds >= 0.9 * rate
        ),
        "next": index,
    }


async def through_dev_host(base_url: str) -> tuple[list[float], list[dict[str, float]]]:
    api = f"{base_url}/api"
    receiver = Receiver(prefix=f"bench-{uuid.uuid4().hex[:8]}-")
    headers = {"X-Api-Key": DEV_KEYS["admin"]}
    client = await connect(api, headers, receiver)
    ingest = {"X-Api-Key": DEV_KEYS["ingest"]}
    try:
        async with aiohttp.ClientSession(headers=ingest) as http:
            latencies = await measure_latency(http, api, receiver)
            steps = []
            first = LATENCY_RECORDS
            for rate in RATES:
                step = await sustain(http, api, receiver, rate, first)
                first = int(step["next"])
                steps.append(step)
                if not step["kept_up"]:
                    break
                await asyncio.sleep(1.0)
    finally:
        client.cancel()
        with contextlib.suppress(BaseException):
            await client
    return latencies, steps


async def side_by_side() -> dict[str, float]:
    """Seconds to deliver the same records to one client: batched vs one message each."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    hub = Hub("logs", base, "bench-key", max_queued_frames=SIDE_BY_SIDE_RECORDS + 10)
    app = web.Application()
    app.add_routes(hub.routes())
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    results: dict[str, float] = {}
    try:
        for label, per_message in (("batched", 500), ("per_record", 1)):
            receiver = Receiver(prefix=f"{label}-")
            info = hub.connection_info(label)
            task = await connect(
                info["url"], {"Authorization": f"Bearer {info['accessToken']}"}, receiver
            )
            records = [record(receiver.prefix, i) for i in range(SIDE_BY_SIDE_RECORDS)]
            started = time.perf_counter()
            for i in range(0, len(records), per_message):
                chunk = records[i : i + per_message]
                await hub.apply({"target": "logs", "arguments": [chunk], "userId": label})
            await receiver.wait_for(range(SIDE_BY_SIDE_RECORDS), 60)
            results[label] = time.perf_counter() - started
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
    finally:
        await hub.close()
        await runner.cleanup()
    return results


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


async def run(base_url: str) -> bool:
    latencies, steps = await through_dev_host(base_url)
    delivery = await side_by_side()

    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    kept = [s for s in steps if s["kept_up"]]
    best = int(max((s["rate"] for s in kept), default=0))
    print(f"POST-to-client latency over {len(latencies)} of {LATENCY_RECORDS} records")
    print_table(
        [
            ("p50", f"{p50 * 1000:.0f} ms"),
            ("p95", f"{p95 * 1000:.0f} ms  (target < {TARGET_P95_SECONDS * 1000:.0f} ms)"),
            ("max", f"{max(latencies) * 1000:.0f} ms"),
        ]
    )
    print(f"\nsustained rate, {STEP_SECONDS:.0f} s per step")
    print("  rate/s  posted/s  received  lag after stop  p95      kept up")
    for s in steps:
        print(
            f"  {s['rate']:>6.0f}  {s['posted_rate']:>8.0f}  {s['received']:>7.1%}"
            f"  {s['lag'] * 1000:>11.0f} ms  {s['p95'] * 1000:>5.0f} ms  "
            f"{'yes' if s['kept_up'] else 'no'}"
        )
    print(f"  highest rate kept up with: {best}/s (target >= {TARGET_RATE}/s)")
    ratio = delivery["per_record"] / delivery["batched"]
    print(f"\nhub delivery of {SIDE_BY_SIDE_RECORDS} records to one client (same run)")
    print_table(
        [
            ("one message per 500-record batch", f"{delivery['batched'] * 1000:.0f} ms"),
            ("one message per record", f"{delivery['per_record'] * 1000:.0f} ms"),
            ("per-record / batched", f"{ratio:.1f}x"),
        ]
    )
    return p95 < TARGET_P95_SECONDS and best >= TARGET_RATE


def main() -> bool:
    with dev_host() as host:
        return asyncio.run(run(host.base_url))


if __name__ == "__main__":
    main()
