"""End to end through `python -m devhost`: HTTP POST /api/logs to rows in PostgreSQL."""

from __future__ import annotations

import asyncio
import gzip
import time
import uuid
from collections.abc import Iterable
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest

INGEST = {"Authorization": "Bearer dev-ingest-key"}


async def post(
    base_url: str,
    body: Any,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any], dict[str, str]]:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base_url}/api/logs",
            data=data,
            headers={"Content-Type": content_type, **INGEST, **(headers or {})},
        ) as response,
    ):
        return response.status, await response.json(), dict(response.headers)


async def wait_for_rows(url: str, ids: Iterable[str], timeout: float = 15) -> list[asyncpg.Record]:
    wanted = list(ids)
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            rows = await conn.fetch("SELECT * FROM system_logs WHERE id = ANY($1::text[])", wanted)
            if len(rows) >= len(wanted) or time.monotonic() > deadline:
                return rows
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


def record(**fields: Any) -> dict[str, Any]:
    base = {
        "id": str(uuid.uuid4()),
        "level": "INFO",
        "service": "trading-engine",
        "logger_name": "engine.orders",
        "message": "Order filled",
        "extra_data": {"symbol": "BTCUSDT", "qty": 0.5},
    }
    return {**base, **fields}


async def test_posted_records_become_rows_within_a_second(dev_host) -> None:
    records = [record(message=f"fill {i}") for i in range(20)]
    started = time.monotonic()
    status, body, _ = await post(dev_host.base_url, records)
    assert status == 202, body
    assert body["accepted"] == 20 and body["rejected"] == []
    assert body["ids"] == [r["id"] for r in records]
    rows = await wait_for_rows(dev_host.database_url, body["ids"], timeout=5)
    elapsed = time.monotonic() - started
    assert len(rows) == 20
    assert elapsed < 1.5, f"rows took {elapsed:.2f} s to land"
    by_id = {r["id"]: r for r in rows}
    first = by_id[records[0]["id"]]
    assert first["level"] == "INFO" and first["level_no"] == 20
    assert first["service"] == "trading-engine" and first["message"] == "fill 0"


async def test_ndjson_and_gzip_are_accepted(dev_host) -> None:
    records = [record(level="trade_executed"), record(level="warn")]
    ndjson = b"\n".join(orjson.dumps(r) for r in records) + b"\n"
    status, body, _ = await post(
        dev_host.base_url,
        gzip.compress(ndjson),
        headers={"Content-Encoding": "gzip"},
        content_type="application/x-ndjson",
    )
    assert status == 202, body
    rows = await wait_for_rows(dev_host.database_url, body["ids"])
    assert sorted(r["level"] for r in rows) == ["TRADE_EXECUTED", "WARNING"]


async def test_the_same_batch_twice_is_stored_once(dev_host) -> None:
    records = [record(message=f"dup {i}") for i in range(10)]
    for _ in range(2):
        status, _body, _ = await post(dev_host.base_url, records)
        assert status == 202
    marker = record(message="after duplicates")
    await post(dev_host.base_url, [marker])
    await wait_for_rows(dev_host.database_url, [marker["id"]])
    conn = await asyncpg.connect(dev_host.database_url)
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM system_logs WHERE id = ANY($1::text[])",
            [r["id"] for r in records],
        )
    finally:
        await conn.close()
    assert count == 10


async def test_mixed_request_keeps_the_valid_records(dev_host) -> None:
    good = record(message="valid one")
    odd = record(level="LOUD", ip_address="bot-7.internal")
    bad = [
        {"level": "INFO", "service": "x"},
        record(message="  "),
        record(timestamp="2999-01-01T00:00:00Z"),
    ]
    status, body, _ = await post(dev_host.base_url, [bad[0], good, bad[1], odd, bad[2]])
    assert status == 202, body
    assert body["accepted"] == 2 and body["ids"] == [good["id"], odd["id"]]
    assert body["coerced"] == 1
    assert [r["index"] for r in body["rejected"]] == [0, 2, 4]
    assert all(r["error"] for r in body["rejected"])
    rows = await wait_for_rows(dev_host.database_url, [good["id"], odd["id"]])
    assert len(rows) == 2
    kept = next(r for r in rows if r["id"] == odd["id"])
    assert kept["level"] == "INFO" and kept["ip_address"] is None
    assert orjson.loads(kept["extra_data"])["_coerced"] == {
        "level": "LOUD",
        "ip_address": "bot-7.internal",
    }


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Authorization": ""}, 401), ({"Authorization": "Bearer wrong"}, 401)],
)
async def test_missing_or_wrong_key_is_refused(dev_host, headers, status) -> None:
    got, body, _ = await post(dev_host.base_url, record(), headers=headers)
    assert got == status
    assert body["error"]


async def test_reader_key_may_not_ingest(dev_host) -> None:
    got, body, _ = await post(
        dev_host.base_url, record(), headers={"Authorization": "Bearer dev-reader-key"}
    )
    assert got == 403 and body["error"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b"message=hi", "application/x-www-form-urlencoded", 415),
        (orjson.dumps([{"message": "m"}] * 1001), "application/json", 413),
        (b"x" * (2 * 1024 * 1024), "application/json", 413),
    ],
)
async def test_bad_requests_get_their_status(dev_host, body, content_type, status) -> None:
    got, reply, _ = await post(dev_host.base_url, body, content_type=content_type)
    assert got == status, reply
    assert reply["error"]


async def test_secrets_never_reach_the_database(dev_host) -> None:
    secret = "sk_live_51HrTq2LkZr0aBcDeFgHiJkLmN"
    rec = record(
        message=f"login with password={secret}",
        extra_data={"api_key": secret, "nested": {"binance_secret": secret}},
        exception_message=f"Bearer {secret}",
        stack_trace=f'File "bot.py" token={secret}',
    )
    status, body, _ = await post(dev_host.base_url, [rec])
    assert status == 202
    rows = await wait_for_rows(dev_host.database_url, body["ids"])
    stored = orjson.dumps({k: v for k, v in dict(rows[0]).items()}, default=str)
    assert secret.encode() not in stored


async def test_health_reports_each_dependency(dev_host) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{dev_host.base_url}/api/health") as response,
    ):
        body = await response.json()
    assert response.status == 200
    assert body["checks"]["postgres"]["status"] == "ok"
    assert body["checks"]["blob"]["status"] == "ok"
    assert "dev-" not in orjson.dumps(body).decode()


async def test_basic_auth_with_the_key_as_password_ingests(dev_host) -> None:
    """What shippers that offer only Basic send: aiohttp's own BasicAuth, any user name."""
    good = record(message="sent with basic auth")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{dev_host.base_url}/api/logs",
            data=orjson.dumps(good),
            headers={"Content-Type": "application/json"},
            auth=aiohttp.BasicAuth("fluent-bit", "dev-ingest-key"),
        ) as response,
    ):
        assert response.status == 202, await response.text()
    rows = await wait_for_rows(dev_host.database_url, [good["id"]])
    assert len(rows) == 1
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{dev_host.base_url}/api/logs",
            data=orjson.dumps(record()),
            headers={"Content-Type": "application/json"},
            auth=aiohttp.BasicAuth("dev-ingest-key", "wrong"),
        ) as response,
    ):
        assert response.status == 401
