"""End to end through `python -m devhost`: posted logs become alerts served by GET /api/alerts,
and the report routes answer."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
import pytest

INGEST = {"Authorization": "Bearer dev-ingest-key"}
READER = {"Authorization": "Bearer dev-reader-key"}


async def call(method: str, url: str, headers: dict[str, str], body: Any = None) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            url,
            data=orjson.dumps(body) if body is not None else None,
            headers={"Content-Type": "application/json", **headers},
        ) as response,
    ):
        return response.status, await response.json()


async def wait_for_alerts(base: str, service: str, rules: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        status, body = await call("GET", f"{base}/api/alerts?service={service}", READER)
        assert status == 200, body
        found = {a["rule"]: a for a in body["items"]}
        if rules <= set(found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_posted_errors_become_deduplicated_alerts(dev_host) -> None:  # type: ignore[no-untyped-def]
    service = f"bot-{uuid.uuid4().hex[:8]}"
    minute = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(seconds=1)
    errors = [
        {
            "level": "ERROR",
            "service": service,
            "message": "Connection refused by exchange",
            "timestamp": (minute + timedelta(milliseconds=10 * i)).isoformat(),
        }
        for i in range(11)
    ]
    status, body = await call("POST", f"{dev_host.base_url}/api/logs", INGEST, errors)
    assert status == 202 and body["accepted"] == 11
    found = await wait_for_alerts(dev_host.base_url, service, {"error_rate", "exchange_connection"})
    assert found["error_rate"]["count"] == 11
    assert found["exchange_connection"]["count"] == 11
    assert found["exchange_connection"]["severity"] == "critical"
    assert found["exchange_connection"]["status"] == "active"
    assert set(found["exchange_connection"]["sample_ids"]) <= set(body["ids"])

    more = [{**errors[0], "timestamp": (minute + timedelta(seconds=30)).isoformat()}]
    await call("POST", f"{dev_host.base_url}/api/logs", INGEST, more)
    deadline = time.monotonic() + 20
    while found["exchange_connection"]["count"] < 12 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        found = await wait_for_alerts(dev_host.base_url, service, set())
    assert found["exchange_connection"]["count"] == 12
    assert found["error_rate"]["count"] == 12
    status, resolved = await call("GET", f"{dev_host.base_url}/api/alerts?status=resolved", READER)
    assert status == 200 and all(a["status"] == "resolved" for a in resolved["items"])


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/api/alerts", {}, 401),
        ("/api/alerts", INGEST, 403),
        ("/api/alerts?status=open", READER, 400),
        ("/api/reports", {}, 401),
        ("/api/reports?limit=0", READER, 400),
        ("/api/reports", READER, 200),
    ],
)
async def test_alert_and_report_routes_answer(dev_host, path, headers, status) -> None:  # type: ignore[no-untyped-def]
    got, body = await call("GET", f"{dev_host.base_url}{path}", headers)
    assert got == status, body
    assert ("error" in body) == (status >= 400)


async def test_report_timer_runs_at_start_and_reports_the_last_hour(dev_host) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 30
    while True:
        status, body = await call("GET", f"{dev_host.base_url}/api/reports/latest", READER)
        if status == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert status == 200, body
    last_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    assert datetime.fromisoformat(body["hour"]) >= last_hour
    assert {"total", "by_level", "by_service", "top_errors", "response_times"} <= set(body)
    status, listing = await call("GET", f"{dev_host.base_url}/api/reports?limit=5", READER)
    assert status == 200 and listing["items"][0]["hour"] == body["hour"]


async def test_alert_reaches_dashboard_clients_over_signalr(dev_host, listen) -> None:  # type: ignore[no-untyped-def]
    listener = await listen(f"{dev_host.base_url}/api", targets=("alert",), headers=READER)
    service = f"bot-{uuid.uuid4().hex[:8]}"
    record = {"level": "ERROR", "service": service, "message": "Invalid API key for account 7"}
    status, _ = await call("POST", f"{dev_host.base_url}/api/logs", INGEST, [record])
    assert status == 202
    deadline = time.monotonic() + 20
    pushed: list[dict[str, Any]] = []
    while not pushed and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            await listener.wait_for("alert", len(listener.received.get("alert", [])) + 1, 2)
        pushed = [a for (a,) in listener.received.get("alert", []) if a["service"] == service]
    assert [(a["rule"], a["count"], a["status"]) for a in pushed] == [
        ("authentication_failure", 1, "active")
    ]
