"""Fixtures for analysis: settings on the session's database (with Azurite for reports), a clean
alerts state per test, and a factory for log records."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from shared import analysis, blob, db, notify
from shared.settings import Connection, Settings
from tests.stream.conftest import listen  # noqa: F401  (the SignalR client fixture)

_ids = itertools.count()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return replace(Settings(), database_url=database_url)


@pytest.fixture
async def clean(pg: asyncpg.Connection, settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """An empty alerts state, and the process-wide analyzer and notifier reset."""
    await pg.execute("TRUNCATE alerts, analyzer_positions, service_activity")
    analysis._analyzer = None
    await notify.close()
    yield pg
    await notify.close()
    await db.close()


Record = dict[str, Any]


@pytest.fixture
def make_record() -> Callable[..., Record]:
    def make(
        service: str = "trading-engine",
        level: str = "INFO",
        message: str = "tick",
        timestamp: datetime | None = None,
        **extra: Any,
    ) -> Record:
        from shared import levels

        moment = timestamp or datetime.now(UTC)
        record: Record = {
            "id": f"rec-{next(_ids)}",
            "timestamp": moment.isoformat(),
            "received_at": datetime.now(UTC).isoformat(),
            "level": level,
            "level_no": levels.number(level),
            "service": service,
            "message": message,
        }
        record.update(extra)
        return record

    return make


@pytest.fixture
async def report_settings(settings: Settings, azurite: Any) -> AsyncIterator[Settings]:
    await blob.close()
    configured = replace(
        settings,
        storage_connection=Connection(
            "ArchiveStorage", connection_string=azurite.connection_string
        ),
        reports_container=f"reports-{uuid.uuid4().hex[:8]}",
    )
    yield configured
    await blob.close()
    await db.close()
