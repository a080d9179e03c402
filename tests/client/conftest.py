"""Fixtures for the bots' side: a switchable TCP proxy in front of the dev host (to take the
pipeline down and bring it back), and queries on the stored rows."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from tests.conftest import free_port


class SwitchableProxy:
    """Forwards TCP from a local port to the dev host; `down()` refuses and cuts connections."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._up = threading.Event()
        self._up.set()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update({client, upstream})
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        self._up.clear()
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self._sockets.clear()

    def up(self) -> None:
        self._up.set()

    def close(self) -> None:
        self.down()
        self._listener.close()


@pytest.fixture
def proxy(dev_host: Any) -> Iterator[SwitchableProxy]:
    p = SwitchableProxy(dev_host.port)
    yield p
    p.close()


async def rows_of_process(database_url: str, process_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(
            "SELECT id, message, level, service, request_id, extra_data"
            " FROM system_logs WHERE extra_data->>'process_id' = $1",
            process_id,
        )
    finally:
        await conn.close()


async def wait_rows(database_url: str, process_id: str, count: int, seconds: float = 30) -> list:
    deadline = time.monotonic() + seconds
    while True:
        rows = await rows_of_process(database_url, process_id)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)
