"""The official @microsoft/signalr client (as the dashboard uses it) against the dev host's hub,
through an app negotiate endpoint that redirects it to the hub as Azure SignalR does."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import orjson
import pytest

from tests.stream.conftest import HubFactory

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("signalr_client.js")


@pytest.fixture
def node() -> str:
    binary = shutil.which("node")
    if binary is None or not (ROOT / "node_modules" / "@microsoft" / "signalr").is_dir():
        pytest.fail("node and @microsoft/signalr are required: run `make setup`")
    return binary


async def test_official_client_negotiates_connects_and_receives(
    hub_server: HubFactory, node: str
) -> None:
    server = await hub_server()
    await server.hub.apply({"userId": "js-user", "groupName": "readers", "action": "add"})
    proc = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        server.base_url,
        "js-user",
        "2",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(20):
            line = await proc.stdout.readline()
            assert line.startswith(b"connected "), (line, await proc.stderr.read())
            batch = [{"id": "1", "message": "<img src=x onerror=alert(1)>\n\x1b[31m"}]
            await server.hub.apply({"target": "logs", "arguments": [[]], "groupName": "admins"})
            await server.hub.apply({"target": "logs", "arguments": [batch], "groupName": "readers"})
            await server.hub.apply({"target": "logs", "arguments": [[{"id": "2"}]]})
            first = orjson.loads(await proc.stdout.readline())
            second = orjson.loads(await proc.stdout.readline())
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert first == batch
    assert second == [{"id": "2"}]
