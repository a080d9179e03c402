"""Fixtures for the shipper protocol tests: settings, callers and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.access import Caller, Role
from shared.settings import Settings

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def caller() -> Caller:
    return Caller(name="fleet", role=Role.INGEST)


@pytest.fixture
def bound_caller() -> Caller:
    return Caller(name="engine-key", role=Role.INGEST, service="trading-engine")
