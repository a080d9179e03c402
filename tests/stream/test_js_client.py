"""The official @microsoft/signalr client (as the dashboard uses it) against the dev host's hub,
through an app negotiate endpoint that redirects it to the hub as Azure SignalR does."""

from __future__ import annotations

import asyncio

import orjson

from tests.stream.conftest import JS_CLIENT, ROOT, HubFactory


async def test_official_client_negotiates_connects_and_receives(
    hub_server: HubFactory, node: str
) -> None:
    server = await hub_server()
    await server.hub.apply({"userId": "js-user", "groupName": "readers", "action": "add"})
    proc = await asyncio.create_subprocess_exec(
        node,
        str(JS_CLIENT),
        server.base_url,
        '{"X-User-Id": "js-user"}',
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
