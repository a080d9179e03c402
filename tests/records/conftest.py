"""Fixtures for the record, redaction and ingest tests: settings, callers and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.access import Caller, Role
from shared.settings import Settings

NOW = datetime(2026, 3, 14, 12, 0, 0, 250_000, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def caller() -> Caller:
    return Caller(name="fleet", role=Role.INGEST)


@pytest.fixture
def bound_caller() -> Caller:
    return Caller(name="engine-key", role=Role.INGEST, service="trading-engine")


@pytest.fixture
def now() -> datetime:
    return NOW


CORPUS_RESULT: dict[str, int] = {}
"""Filled by test_secrets_corpus: secrets, redacted, lookalikes, damaged."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CORPUS_RESULT:
        r = CORPUS_RESULT
        terminalreporter.write_line(
            f"{r['redacted']}/{r['secrets']} secrets redacted, "
            f"{r['damaged']} look-alikes damaged (of {r['lookalikes']})"
        )
