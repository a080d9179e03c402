"""Fixtures for the live stream: a dev-host SignalR hub on a free loopback port, and clients."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pysignalr.client import SignalRClient

from devhost.signalr import Hub

ACCESS_KEY = "test-signalr-access-key"
ROOT = Path(__file__).resolve().parents[2]
JS_CLIENT = Path(__file__).with_name("signalr_client.js")


@dataclass
class HubServer:
    hub: Hub
    base_url: str
    runner: web.AppRunner


HubFactory = Callable[..., Awaitable[HubServer]]


@pytest.fixture
async def hub_server() -> AsyncIterator[HubFactory]:
    """Start hubs (with optional shorter timeouts) on free ports; stop them afterwards."""
    started: list[HubServer] = []

    async def start(**options: Any) -> HubServer:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        hub = Hub("logs", base_url, ACCESS_KEY, **options)
        app = web.Application()
        app.add_routes(hub.routes())

        async def negotiate(request: web.Request) -> web.Response:
            return web.json_response(hub.connection_info(request.headers.get("X-User-Id")))

        app.add_routes([web.post("/api/negotiate", negotiate)])
        runner = web.AppRunner(app, shutdown_timeout=1)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        server = HubServer(hub, base_url, runner)
        started.append(server)
        return server

    yield start
    for server in started:
        await server.hub.close()
        await server.runner.cleanup()


@dataclass
class Listener:
    """A pysignalr client and everything it received, by target."""

    client: SignalRClient
    task: asyncio.Task[None]
    received: dict[str, list[list[Any]]] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, target: str, count: int = 1, timeout: float = 5.0) -> list[list[Any]]:
        async with asyncio.timeout(timeout):
            while len(self.received.get(target, [])) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received[target]


ListenerFactory = Callable[..., Awaitable[Listener]]


@pytest.fixture
async def listen() -> AsyncIterator[ListenerFactory]:
    """Connect pysignalr clients to a hub URL with a token; wait until each is connected."""
    listeners: list[Listener] = []

    async def connect(
        url: str,
        token: str | None = None,
        targets: tuple[str, ...] = ("logs",),
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> Listener:
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        client = SignalRClient(url, headers=headers, retry_count=1, **options)
        opened = asyncio.Event()

        async def on_open() -> None:
            opened.set()

        client.on_open(on_open)
        listener = Listener(client, asyncio.get_running_loop().create_task(client.run()))
        for target in targets:

            async def on_message(arguments: list[Any], target: str = target) -> None:
                listener.received.setdefault(target, []).append(arguments)
                listener.arrived.set()

            client.on(target, on_message)
        listeners.append(listener)
        async with asyncio.timeout(10):
            done, _ = await asyncio.wait(
                [listener.task, asyncio.ensure_future(opened.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
        if listener.task in done:
            listener.task.result()
            raise AssertionError("the client stopped before connecting")
        return listener

    yield connect
    for listener in listeners:
        listener.task.cancel()
        with contextlib.suppress(BaseException):
            await listener.task


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def node() -> str:
    """The node binary, with the official @microsoft/signalr client installed."""
    binary = shutil.which("node")
    if binary is None or not (ROOT / "node_modules" / "@microsoft" / "signalr").is_dir():
        pytest.fail("node and @microsoft/signalr are required: run `make setup`")
    return binary
