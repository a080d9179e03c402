"""PostgreSQL stopped while the bots keep posting, then started: every accepted record lands,
exactly once. Ingest never touches PostgreSQL; the store retries until it is back."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import DevHostProcess
from tests.e2e.test_ingest_to_postgres import post, record


class StoppablePostgres:
    """A PostgreSQL server of its own (pgserver binaries) that the test stops and starts."""

    def __init__(self) -> None:
        self.data = Path(tempfile.mkdtemp(prefix="pg-outage-"))
        self.server: Any = None

    def start(self) -> str:
        from devhost import lifeline

        self.server = lifeline.embedded_postgres(self.data)
        return self.server.get_uri()

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


@pytest.fixture
def outage_host() -> Iterator[tuple[DevHostProcess, StoppablePostgres]]:
    pg = StoppablePostgres()
    url = pg.start()
    host = DevHostProcess(url)
    host.start()
    yield host, pg
    host.stop()
    pg.stop()
    shutil.rmtree(pg.data, ignore_errors=True)
    shutil.rmtree(host.data, ignore_errors=True)


async def _count(url: str, ids: list[str]) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM system_logs WHERE id = ANY($1::text[])", ids
        )
    finally:
        await conn.close()


@pytest.mark.slow
async def test_records_accepted_during_an_outage_land_exactly_once(outage_host) -> None:
    host, pg = outage_host
    accepted: list[str] = []

    async def send(n: int, tag: str) -> None:
        status, body, _ = await post(
            host.base_url, [record(message=f"{tag} {i}") for i in range(n)]
        )
        assert status == 202, body
        accepted.extend(body["ids"])

    await send(50, "before")
    pg.stop()
    for i in range(5):
        await send(40, f"during-{i}")
    url = pg.start()
    await send(50, "after")

    deadline = time.monotonic() + 60
    while await _count(url, accepted) < len(accepted) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert await _count(url, accepted) == len(accepted) == 300
    conn = await asyncpg.connect(url)
    try:
        total = await conn.fetchval("SELECT count(*) FROM system_logs")
        distinct = await conn.fetchval("SELECT count(DISTINCT id) FROM system_logs")
    finally:
        await conn.close()
    assert total == distinct == 300
