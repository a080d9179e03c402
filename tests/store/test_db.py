"""The process's pool: one, created lazily even under concurrent first calls; JSONB as Python
objects; Entra token passwords in Azure."""

from __future__ import annotations

import asyncio

import pytest

from shared import db
from shared.settings import Settings


async def test_concurrent_first_calls_share_one_pool(settings: Settings) -> None:
    await db.close()
    pools = await asyncio.gather(*(db.pool(settings) for _ in range(8)))
    assert all(p is pools[0] for p in pools)
    assert await db.pool(settings) is pools[0]
    await db.ping(settings)


async def test_jsonb_travels_as_python_objects(settings: Settings) -> None:
    value = {"symbol": "BTCUSDT", "levels": [1, 2.5, None], "nested": {"ok": True}}
    pool = await db.pool(settings)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT $1::jsonb", value) == value
        assert await conn.fetchval("SELECT '{\"a\": [1]}'::jsonb") == {"a": [1]}
        assert await conn.fetchval("SHOW timezone") == "UTC"


async def test_expired_connections_are_replaced(settings: Settings) -> None:
    pool = await db.pool(settings)
    async with pool.acquire() as conn:
        before = conn.get_server_pid()
    await db.expire_connections()
    async with pool.acquire() as conn:
        assert conn.get_server_pid() != before


def test_azure_connections_use_an_entra_token_over_tls() -> None:
    settings = Settings(
        postgres_host="logs.postgres.database.azure.com",
        postgres_database="logs",
        postgres_user="log-pipeline-identity",
    )
    options = db.connect_options(settings)
    assert options["host"] == "logs.postgres.database.azure.com"
    assert options["user"] == "log-pipeline-identity"
    assert options["database"] == "logs"
    assert options["ssl"] == "require"
    assert callable(options["password"])
    assert "dsn" not in options


def test_a_database_url_wins_over_azure_settings() -> None:
    settings = Settings(database_url="postgresql://u@h/db", postgres_host="x", postgres_user="y")
    options = db.connect_options(settings)
    assert options["dsn"] == "postgresql://u@h/db"
    assert "password" not in options


def test_unconfigured_postgres_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        db.connect_options(Settings())


async def test_each_new_azure_connection_asks_for_a_fresh_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scopes: list[str] = []

    class Token:
        def __init__(self, n: int) -> None:
            self.token = f"token-{n}"

    class Credential:
        async def get_token(self, scope: str) -> Token:
            scopes.append(scope)
            return Token(len(scopes))

    from shared import identity

    monkeypatch.setattr(identity, "credential", lambda client_id="": Credential())
    settings = Settings(postgres_host="h", postgres_user="u", azure_client_id="abc")
    password = db.connect_options(settings)["password"]
    assert [await password(), await password()] == ["token-1", "token-2"]
    assert scopes == [db.ENTRA_SCOPE] * 2
    assert db.ENTRA_SCOPE == "https://ossrdbms-aad.database.windows.net/.default"
