"""The read API over real HTTP on `python -m devhost`, with the dev keys: records posted to
/api/logs become searchable, and search, by id, stats, export, OpenAPI and preflight answer as
documented."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp
import orjson
import pytest

from shared.access import READER_HIDDEN_FIELDS

pytestmark = pytest.mark.slow
ADMIN = {"X-Api-Key": "dev-admin-key"}
READER = {"Authorization": "Bearer dev-reader-key"}


async def get(
    url: str, headers: dict[str, str], method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, headers=headers) as response,
    ):
        return response.status, dict(response.headers), await response.read()


async def posted(base: str, records: list[dict[str, Any]], service: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base}/api/logs",
            data=orjson.dumps(records),
            headers={"Content-Type": "application/json", "X-Api-Key": "dev-ingest-key"},
        ) as response,
    ):
        assert response.status == 202, await response.text()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, _, body = await get(f"{base}/api/logs/search?service={service}", ADMIN)
        items = orjson.loads(body)["items"] if status == 200 else []
        if len(items) == len(records):
            return items
        await asyncio.sleep(0.2)
    raise AssertionError("the posted records never became searchable")


async def test_read_api_on_the_dev_host(dev_host: Any) -> None:
    base = dev_host.base_url
    service = f"dh-engine-{uuid.uuid4().hex[:8]}"
    request_id = f"req-{uuid.uuid4().hex[:8]}"
    records = [
        {
            "service": service,
            "level": "ERROR" if i % 2 else "INFO",
            "message": f"Trade execution failed for order {i}" if i % 2 else f"Order {i} filled",
            "request_id": request_id,
            "exception_message": "timed out" if i % 2 else None,
            "stack_trace": "Traceback ..." if i % 2 else None,
            "ip_address": "10.0.0.1",
            "user_agent": "bot/2",
        }
        for i in range(6)
    ]
    stored = await posted(base, records, service)
    assert any(item.get("stack_trace") for item in stored)

    status, _, body = await get(
        f"{base}/api/logs/search?service={service}&service=other&min_level=error&limit=2", READER
    )
    page = orjson.loads(body)
    assert status == 200 and len(page["items"]) == 2 and page["next_cursor"]
    assert all(not set(READER_HIDDEN_FIELDS) & set(item) for item in page["items"])
    status, _, body = await get(
        f"{base}/api/logs/search?service={service}&min_level=error&cursor={page['next_cursor']}",
        READER,
    )
    rest = orjson.loads(body)["items"]
    assert [i["id"] for i in page["items"] + rest] == [
        i["id"] for i in stored if i["level"] == "ERROR"
    ]

    status, _, body = await get(f"{base}/api/logs/search?q=%22Trade+execution+failed%22", ADMIN)
    assert {i["id"] for i in orjson.loads(body)["items"]} >= {
        i["id"] for i in stored if i["level"] == "ERROR"
    }

    status, _, body = await get(f"{base}/api/logs/{stored[0]['id']}", READER)
    assert status == 200 and orjson.loads(body)["id"] == stored[0]["id"]

    status, _, body = await get(f"{base}/api/logs/stats?range=1h", READER)
    assert status == 200 and orjson.loads(body)["by_service"][service] == len(records)

    status, headers, body = await get(
        f"{base}/api/logs/export?request_id={request_id}&format=csv", READER
    )
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert len(body.decode().strip().splitlines()) == len(records) + 1

    status, _, body = await get(f"{base}/api/logs/search?limit=0", READER)
    assert status == 400 and orjson.loads(body)["detail"]["parameter"] == "limit"
    status, _, _ = await get(f"{base}/api/logs/search", {})
    assert status == 401

    status, _, body = await get(f"{base}/api/openapi.json", {})
    assert status == 200 and "/logs/search" in orjson.loads(body)["paths"]
    status, _, _ = await get(f"{base}/api/logs/search", {"Origin": "https://x"}, "OPTIONS")
    assert status == 204


async def test_me_says_the_role_and_the_fields_withheld(dev_host: Any) -> None:
    base = dev_host.base_url
    status, _, body = await get(f"{base}/api/me", READER)
    assert status == 200
    assert orjson.loads(body) == {
        "role": "reader",
        "services": None,
        "hidden_fields": list(READER_HIDDEN_FIELDS),
    }
    status, _, body = await get(f"{base}/api/me", ADMIN)
    assert (status, orjson.loads(body)["hidden_fields"]) == (200, [])
    status, _, _ = await get(f"{base}/api/me", {"X-Api-Key": "dev-ingest-key"})
    assert status == 403
    status, _, _ = await get(f"{base}/api/me", {})
    assert status == 401
