"""Migrations: applied in order once, recorded, safe when two processes start together."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from shared import migrate


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}" + (f"?{query}" if query else "")


async def _fresh_database(server_url: str) -> tuple[str, str]:
    name = f"mig_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, _with_database(server_url, name)


async def _drop(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def test_migrations_apply_once_then_nothing(pg_server_url: str) -> None:
    name, url = await _fresh_database(pg_server_url)
    try:
        expected = [p.stem for p in migrate.pending_files()]
        assert await migrate.apply(url) == expected
        assert await migrate.apply(url) == []
        conn = await asyncpg.connect(url)
        try:
            recorded = await conn.fetch("SELECT name FROM schema_migrations ORDER BY name")
            tables = {
                r["relname"]
                for r in await conn.fetch("SELECT relname FROM pg_class WHERE relkind IN ('r','p')")
            }
        finally:
            await conn.close()
        assert [r["name"] for r in recorded] == expected
        assert {"system_logs", "log_counts_minute", "log_counts_hour"} <= tables
    finally:
        await _drop(pg_server_url, name)


async def test_concurrent_starters_apply_each_migration_once(pg_server_url: str) -> None:
    name, url = await _fresh_database(pg_server_url)
    try:
        results = await asyncio.gather(*(migrate.apply(url) for _ in range(3)))
        expected = [p.stem for p in migrate.pending_files()]
        assert sorted(results, key=len) == [[], [], expected]
    finally:
        await _drop(pg_server_url, name)


async def test_session_database_is_fully_migrated(database_url: str) -> None:
    assert await migrate.apply(database_url) == []


def test_migration_numbers_are_unique_and_ordered() -> None:
    names = [p.name for p in migrate.pending_files()]
    assert names == sorted(names)
    assert names[0].startswith("0001_")
