"""Fixtures for the sinks' shared seam, policy and replay routes: settings on the session's
PostgreSQL and Azurite with containers of their own per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared import analysis, blob, db, notify, store
from shared.settings import Settings, get_settings, reset_settings
from tests.analysis.test_notify import receiver  # noqa: F401  (a loopback webhook)
from tests.archive.conftest import storage  # noqa: F401  (Azurite containers per test)


@pytest.fixture
async def pipeline(
    storage: Settings,  # noqa: F811
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Settings]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("POSTGRES_DAYS_AHEAD", "1")
    reset_settings()
    await db.close()
    analysis._analyzer = None
    await notify.close()
    yield get_settings()
    await notify.close()
    await db.close()
    await blob.close()
    store.forget_partitions()
