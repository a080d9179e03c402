"""The process's one asyncpg pool: from DATABASE_URL locally, or in Azure from POSTGRES_HOST,
POSTGRES_DATABASE and POSTGRES_USER with a Microsoft Entra token as the password of each new
connection. Created lazily on first use and reused; JSONB travels through orjson."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
import orjson

from shared.settings import Settings

log = logging.getLogger(__name__)

ENTRA_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
SERVER_SETTINGS = {"application_name": "log-pipeline", "jit": "off", "timezone": "UTC"}
JSONB_FORMAT_VERSION = b"\x01"
CONNECT_TIMEOUT_SECONDS = 10.0

_pool: asyncpg.Pool | None = None
_pool_loop: asyncio.AbstractEventLoop | None = None
_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}


def _encode_jsonb(value: Any) -> bytes:
    return JSONB_FORMAT_VERSION + orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _decode_jsonb(data: bytes) -> Any:
    return orjson.loads(data[1:])


async def init_connection(conn: asyncpg.Connection) -> None:
    """Per-connection setup: JSONB as Python objects (binary format, so COPY can carry it)."""
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        format="binary",
    )


async def _entra_token(settings: Settings) -> str:
    from shared.identity import credential

    token = await credential(settings.azure_client_id).get_token(ENTRA_SCOPE)
    return token.token


def connect_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for asyncpg.connect / create_pool for these settings."""
    options: dict[str, Any] = {
        "server_settings": dict(SERVER_SETTINGS),
        "timeout": CONNECT_TIMEOUT_SECONDS,
    }
    if settings.database_url:
        options["dsn"] = settings.database_url
        return options
    if not (settings.postgres_host and settings.postgres_user):
        raise RuntimeError(
            "PostgreSQL is not configured: set DATABASE_URL, or POSTGRES_HOST and POSTGRES_USER"
        )

    async def password() -> str:
        return await _entra_token(settings)

    options.update(
        host=settings.postgres_host,
        port=5432,
        database=settings.postgres_database,
        user=settings.postgres_user,
        password=password,
        ssl="require",
    )
    return options


async def connect(settings: Settings) -> asyncpg.Connection:
    """One connection outside the pool (migrations, tools), set up like pooled ones."""
    conn = await asyncpg.connect(**connect_options(settings))
    await init_connection(conn)
    return conn


def _lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        _locks.clear()
        lock = _locks[loop] = asyncio.Lock()
    return lock


async def pool(settings: Settings) -> asyncpg.Pool:
    """The process's pool, created on the first call (concurrent first calls share it)."""
    global _pool, _pool_loop
    loop = asyncio.get_running_loop()
    if _pool is not None and _pool_loop is loop:
        return _pool
    async with _lock():
        if _pool is not None and _pool_loop is not loop:
            log.warning("discarding a PostgreSQL pool created on another event loop")
            _pool = None
        if _pool is None:
            _pool = await asyncpg.create_pool(
                **connect_options(settings),
                min_size=min(settings.postgres_pool_min, settings.postgres_pool_max),
                max_size=settings.postgres_pool_max,
                command_timeout=settings.postgres_command_timeout,
                init=init_connection,
            )
            _pool_loop = loop
        return _pool


async def ping(settings: Settings) -> None:
    """Raise unless PostgreSQL answers a trivial query."""
    p = await pool(settings)
    async with p.acquire() as conn:
        await conn.fetchval("SELECT 1")


async def expire_connections() -> None:
    """After a connection-level failure (e.g. a PostgreSQL restart): replace every pooled
    connection on its next use, so no later call meets a dead one. Connections in use finish
    their work first."""
    if _pool is not None and _pool_loop is asyncio.get_running_loop():
        await _pool.expire_connections()


def discard() -> None:
    """Forget the pool, closing its connections at once (the next call creates a new one)."""
    global _pool, _pool_loop
    stale, _pool, _pool_loop = _pool, None, None
    if stale is not None:
        stale.terminate()


async def close() -> None:
    """Close the pool gracefully (process shutdown, tests)."""
    global _pool, _pool_loop
    stale, _pool, _pool_loop = _pool, None, None
    if stale is not None:
        try:
            await asyncio.wait_for(stale.close(), 10)
        except (TimeoutError, asyncpg.PostgresError, OSError):
            stale.terminate()
