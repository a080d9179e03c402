"""The demo fleet: every scenario the issue names shows up early, every record is valid for
ingest, and the traffic reaches the live stream through the dev host."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from devhost import demo
from devhost.environment import DEV_KEYS
from shared.access import Caller, Role
from shared.ingest import build_batch
from shared.settings import Settings
from tests.conftest import DevHostProcess
from tests.stream.conftest import ListenerFactory


@pytest.fixture(scope="module")
def first_ninety_seconds() -> list[dict]:
    return demo.sample(seconds=90)


def test_every_service_and_scenario_appears_within_ninety_seconds(
    first_ninety_seconds: list[dict],
) -> None:
    records = first_ninety_seconds
    assert {r["service"] for r in records} == set(demo.SERVICES)
    levels = Counter(r["level"] for r in records)
    for level in ("SIGNAL_RECEIVED", "AI_DECISION", "TRADE_EXECUTED", "RISK_ALERT", "ERROR"):
        assert levels[level] > 0, level
    assert any((r.get("extra_data") or {}).get("response_time", 0) > 5000 for r in records)
    assert any(r.get("stack_trace", "").startswith("Traceback") for r in records)
    assert any(r["message"].startswith("Failed to connect to exchange") for r in records)


def test_a_burst_of_trading_engine_errors_trips_the_error_rate_rule(
    first_ninety_seconds: list[dict],
) -> None:
    errors = sorted(
        datetime.fromisoformat(r["timestamp"])
        for r in first_ninety_seconds
        if r["service"] == "trading-engine" and r["level"] == "ERROR"
    )
    in_a_minute = max(
        sum(1 for t in errors if start <= t < start + timedelta(minutes=1)) for start in errors
    )
    assert in_a_minute > 10


def test_request_flows_share_one_request_id_across_services(
    first_ninety_seconds: list[dict],
) -> None:
    services_by_request: dict[str, set[str]] = defaultdict(set)
    for r in first_ninety_seconds:
        if r.get("request_id"):
            services_by_request[r["request_id"]].add(r["service"])
    assert max(len(s) for s in services_by_request.values()) >= 5


def test_every_demo_record_is_accepted_by_ingest(first_ninety_seconds: list[dict]) -> None:
    caller = Caller("demo", Role.INGEST)
    now = datetime(2026, 1, 1, 0, 2, tzinfo=UTC)
    batch = build_batch(first_ninety_seconds, caller, Settings(), now)
    assert batch.rejected == []
    assert len(batch.accepted) == len(first_ninety_seconds)


def test_rate_sets_the_volume() -> None:
    slow = demo.sample(seconds=60, rate=2)
    fast = demo.sample(seconds=60, rate=20)
    assert 3 < len(fast) / len(slow) < 20


@pytest.mark.slow
async def test_demo_traffic_reaches_the_live_stream(
    dev_host: DevHostProcess, listen: ListenerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="devhost.demo")
    headers = {"X-Api-Key": DEV_KEYS["reader"]}
    listener = await listen(f"{dev_host.base_url}/api", headers=headers)
    stop = asyncio.Event()
    task = asyncio.create_task(demo.run(dev_host.base_url, DEV_KEYS["ingest"], stop, rate=40))
    try:
        arrays = await listener.wait_for("logs", 3, timeout=15)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    services = {r["service"] for (array,) in arrays for r in array}
    assert len(services) >= 3
    assert not [r for r in caplog.records if r.name == "devhost.demo" and r.levelname == "WARNING"]


async def test_demo_retries_what_the_pipeline_could_not_take_and_drops_what_it_refused() -> None:
    answers = iter([503, 503, 401])
    requests: list[tuple[int, list[str]]] = []

    async def logs(request: web.Request) -> web.Response:
        status = next(answers, 202)
        stamps = [r["timestamp"] + r["message"] for r in await request.json()]
        requests.append((status, stamps))
        return web.json_response({}, status=status)

    app = web.Application()
    app.add_routes([web.post("/api/logs", logs)])
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    stop = asyncio.Event()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    task = asyncio.create_task(demo.run(base, "key", stop, rate=20, interval=0.05, seed=3))
    try:
        async with asyncio.timeout(10):
            while len(requests) < 5:
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await runner.cleanup()
    statuses, batches = zip(*requests, strict=True)
    assert statuses[:5] == (503, 503, 401, 202, 202)
    assert batches[0] and set(batches[0]) <= set(batches[1]), "kept after a 503"
    assert set(batches[1]) <= set(batches[2])
    assert not set(batches[2]) & set(batches[3]), "dropped once refused for good"
