"""The benchmarks' PostgreSQL: the server of BENCH_DATABASE_URL, or an embedded one kept under
.benchdata/, and fresh databases on it."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent


def server_url(folder: str) -> str:
    """BENCH_DATABASE_URL, else an embedded server with its data in .benchdata/<folder>."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    from devhost import lifeline

    return lifeline.embedded_postgres(ROOT / ".benchdata" / folder).get_uri()


def with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    return f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")


async def _admin(server: str, statement: str) -> None:
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def create(server: str, prefix: str, migrated: bool = True) -> str:
    """A new database on the server (with every migration applied); its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    if migrated:
        from shared import migrate

        await migrate.apply(url)
    return url


async def drop(server: str, url: str) -> None:
    name = url.partition("?")[0].rpartition("/")[2]
    await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def fresh(server: str, prefix: str) -> AsyncIterator[str]:
    """A new migrated database for the block, dropped after it."""
    url = await create(server, prefix)
    try:
        yield url
    finally:
        await drop(server, url)
