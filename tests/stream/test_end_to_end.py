"""Through the running dev host: a record POSTed to /api/logs reaches pysignalr clients that
negotiated at /api/negotiate, each in its role's view."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import aiohttp
import orjson
import pytest

from devhost.environment import DEV_KEYS
from shared.access import READER_HIDDEN_FIELDS
from tests.conftest import DevHostProcess
from tests.stream.conftest import JS_CLIENT, ROOT, ListenerFactory

pytestmark = pytest.mark.slow


async def test_negotiate_refuses_missing_and_ingest_keys(
    dev_host: DevHostProcess, http: aiohttp.ClientSession
) -> None:
    url = f"{dev_host.base_url}/api/negotiate"
    async with http.post(url) as response:
        assert response.status == 401
        assert (await response.json())["error"]
    async with http.post(url, headers={"X-Api-Key": "not-a-key"}) as response:
        assert response.status == 401
    async with http.post(url, headers={"X-Api-Key": DEV_KEYS["ingest"]}) as response:
        assert response.status == 403
    tokens = set()
    for role in ("reader", "admin"):
        headers = {"Authorization": f"Bearer {DEV_KEYS[role]}"}
        async with http.post(url, headers=headers) as response:
            assert response.status == 200
            info = await response.json()
        assert set(info) == {"url", "accessToken"}
        assert info["url"].startswith(dev_host.base_url + "/signalr/client/")
        tokens.add(info["accessToken"])
    assert len(tokens) == 2


async def test_posted_record_reaches_readers_and_admins_in_their_views(
    dev_host: DevHostProcess, http: aiohttp.ClientSession, listen: ListenerFactory
) -> None:
    api = f"{dev_host.base_url}/api"
    clients = {}
    for role in ("reader", "admin"):
        clients[role] = await listen(api, headers={"X-Api-Key": DEV_KEYS[role]})

    marker = f"e2e-{uuid.uuid4()}"
    record = {
        "level": "ERROR",
        "service": "trading-engine",
        "message": marker,
        "request_id": marker,
        "exception_type": "ExchangeError",
        "exception_message": "connection reset",
        "stack_trace": 'Traceback (most recent call last):\n  File "engine.py", line 1',
        "ip_address": "10.0.0.7",
        "user_agent": "bot/1",
        "extra_data": {"symbol": "BTCUSDT"},
    }
    async with http.post(
        f"{api}/logs", json=record, headers={"X-Api-Key": DEV_KEYS["ingest"]}
    ) as response:
        assert response.status == 202, await response.text()

    seen = {}
    for role, listener in clients.items():
        with contextlib.suppress(TimeoutError):
            while True:
                arrays = listener.received.get("logs", [])
                found = [r for (array,) in arrays for r in array if r.get("message") == marker]
                if found:
                    seen[role] = found
                    break
                await listener.wait_for("logs", len(arrays) + 1, timeout=10)
    assert set(seen) == {"reader", "admin"}, dev_host.log()[-3000:]
    (reader_view,) = seen["reader"]
    (admin_view,) = seen["admin"]
    assert admin_view["stack_trace"].startswith("Traceback")
    assert admin_view["extra_data"] == {"symbol": "BTCUSDT"}
    assert reader_view["extra_data"] == {"symbol": "BTCUSDT"}
    assert not {k for k in READER_HIDDEN_FIELDS if reader_view.get(k) is not None}


async def test_official_client_receives_a_posted_record_as_a_reader(
    dev_host: DevHostProcess, http: aiohttp.ClientSession, node: str
) -> None:
    marker = f"js-e2e-{uuid.uuid4()}"
    headers = orjson.dumps({"X-Api-Key": DEV_KEYS["reader"]}).decode()
    proc = await asyncio.create_subprocess_exec(
        node,
        str(JS_CLIENT),
        dev_host.base_url,
        headers,
        "1000",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(30):
            line = await proc.stdout.readline()
            assert line.startswith(b"connected "), (line, await proc.stderr.read())
            record = {
                "level": "CRITICAL",
                "service": "exchange-connector",
                "message": marker,
                "stack_trace": "secret frames",
                "ip_address": "10.9.9.9",
            }
            async with http.post(
                f"{dev_host.base_url}/api/logs",
                json=record,
                headers={"X-Api-Key": DEV_KEYS["ingest"]},
            ) as response:
                assert response.status == 202
            while True:
                found = [
                    r for r in orjson.loads(await proc.stdout.readline()) if r["message"] == marker
                ]
                if found:
                    break
    finally:
        proc.kill()
        await proc.wait()
    (seen,) = found
    assert seen["level"] == "CRITICAL" and seen["service"] == "exchange-connector"
    assert "stack_trace" not in seen and "ip_address" not in seen
