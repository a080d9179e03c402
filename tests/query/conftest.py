"""Fixtures for the read API tests: settings with keys of every role (one reader limited to
one service), a data set of this session's own services, and a way to call the functions of
`function_app` as the host would."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import asyncpg
import azure.functions as func
import orjson
import pytest

from shared import db, store
from shared.access import hash_key
from shared.settings import Settings, get_settings, reset_settings

KEYS = {
    "admin": "test-admin-key",
    "reader": "test-reader-key",
    "ingest": "test-ingest-key",
    "limited": "test-limited-reader-key",
}
ORIGIN = "https://ops.example"
SUFFIX = uuid.uuid4().hex[:8]
SERVICE_A = f"qa-engine-{SUFFIX}"
SERVICE_B = f"qb-gateway-{SUFFIX}"
SERVICE_C = f"qc-telegram-{SUFFIX}"
SERVICES = (SERVICE_A, SERVICE_B, SERVICE_C)
PHRASE = "Trade execution failed"
NEAR_PHRASE = "Trade execution: failed"
"""The phrase's words in order with punctuation between: a full-text phrase match, not exact."""


def key_entries() -> list[dict[str, Any]]:
    return [
        {"name": "t-admin", "hash": hash_key(KEYS["admin"]), "role": "admin"},
        {"name": "t-reader", "hash": hash_key(KEYS["reader"]), "role": "reader"},
        {"name": "t-ingest", "hash": hash_key(KEYS["ingest"]), "role": "ingest"},
        {
            "name": "t-limited",
            "hash": hash_key(KEYS["limited"]),
            "role": "reader",
            "services": [SERVICE_A],
        },
    ]


@pytest.fixture
def query_settings(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("API_KEYS", json.dumps(key_entries()))
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", ORIGIN)
    monkeypatch.setenv("CURSOR_SECRET", "test-cursor-secret")
    monkeypatch.setenv("TRUST_CLIENT_PRINCIPAL", "false")
    reset_settings()
    yield get_settings()
    reset_settings()


def make_records(now: datetime) -> list[dict[str, Any]]:
    """120 records over the last 40 minutes: 60 of service A, 40 of B, 20 of C; every tenth an
    ERROR with the phrase and the hidden fields; request ids shared across services."""
    records = []
    levels = ["INFO", "DEBUG", "WARNING", "TRADE_EXECUTED", "INFO", "AI_DECISION"]
    for i in range(120):
        service = SERVICES[0] if i % 2 == 0 else SERVICES[1] if i % 3 else SERVICES[2]
        error = i % 10 == 0 or i % 15 == 0
        level = "ERROR" if error else levels[i % len(levels)]
        message = (
            f"{PHRASE} for order ord-{i} on BTCUSDT"
            if error
            else f"Order ord-{i} filled: bought {i} ETHUSDT"
            if i % 3 == 0
            else f"Trade execution: failed retry {i} scheduled"
            if i % 7 == 0
            else f"Heartbeat {i} from {service}"
        )
        records.append(
            {
                "id": f"rec-{SUFFIX}-{i:03d}",
                "timestamp": now - timedelta(seconds=20 * i),
                "received_at": now,
                "level": level,
                "service": service,
                "logger_name": f"{service}.orders",
                "message": message,
                "request_id": f"req-{SUFFIX}-{i // 4}",
                "user_id": f"user-{i % 5}",
                "session_id": f"sess-{i % 3}",
                "event_type": "order" if i % 2 else "heartbeat",
                "extra_data": {"i": i, "symbol": "BTCUSDT"},
                "exception_type": "TimeoutError" if error else None,
                "exception_message": "upstream timed out" if error else None,
                "stack_trace": "Traceback (most recent call last): ..." if error else None,
                "ip_address": "10.1.2.3",
                "user_agent": "bot/1.0",
            }
        )
    return records


@dataclass(frozen=True)
class DataSet:
    records: list[dict[str, Any]]
    now: datetime

    def of(self, *services: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["service"] in services]


@pytest.fixture(scope="session")
async def dataset(database_url: str) -> AsyncIterator[DataSet]:
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    records = make_records(now)
    conn = await asyncpg.connect(database_url)
    try:
        await db.init_connection(conn)
        await store.write(conn, records)
    finally:
        await conn.close()
    newest_first = sorted(records, key=lambda r: (r["timestamp"], r["id"]), reverse=True)
    yield DataSet(records=newest_first, now=now)


@functools.cache
def app_functions() -> dict[str, Any]:
    """The app's functions by name (the app indexes them once: a second call refuses)."""
    import function_app
    from devhost.registry import indexed

    return {fn.get_function_name(): fn for fn in indexed(function_app.app)}


def function(name: str) -> Any:
    return app_functions()[name].get_user_function()


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes
    mimetype: str

    def json(self) -> Any:
        return orjson.loads(self.body)


async def call(
    name: str,
    path: str,
    query: Sequence[tuple[str, str]] | Mapping[str, str] = (),
    key: str | None = "admin",
    headers: Mapping[str, str] | None = None,
    route_params: Mapping[str, str] | None = None,
    method: str = "GET",
) -> Reply:
    """Invoke a function of the app as the host does, with the key of a role."""
    pairs = list(query.items()) if isinstance(query, Mapping) else list(query)
    all_headers = dict(headers or {})
    if key is not None:
        all_headers["X-Api-Key"] = KEYS.get(key, key)
    url = f"http://localhost/api/{path}" + (f"?{urlencode(pairs)}" if pairs else "")
    request = func.HttpRequest(
        method=method,
        url=url,
        headers=all_headers,
        params=dict(pairs),
        route_params=dict(route_params or {}),
        body=b"",
    )
    response = await function(name)(request)
    return Reply(
        response.status_code, dict(response.headers), response.get_body(), response.mimetype
    )


async def search(query: Sequence[tuple[str, str]] | Mapping[str, str], key: str = "admin") -> Reply:
    return await call("search_logs", "logs/search", query, key)
