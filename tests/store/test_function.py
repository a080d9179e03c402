"""The store function's adapter: event bodies and the retry context reach the sink."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import azure.functions as func
import pytest

from functions import store as store_function
from shared import sink
from shared.settings import Settings
from shared.sink_policy import Attempt
from tests.store.conftest import body, dead_letters, record


@dataclass
class RetryContext:
    retry_count: int
    max_retry_count: int


@dataclass
class Context:
    retry_context: RetryContext | None


async def test_the_function_stores_a_batch_and_passes_the_retry_context(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Attempt] = []
    real = sink.store_events

    async def spy(s, batch, attempt):  # type: ignore[no-untyped-def]
        seen.append(attempt)
        return await real(s, batch, attempt)

    monkeypatch.setattr(sink, "store_events", spy)
    records = [record() for _ in range(3)]
    events = [func.EventHubEvent(body=body(r)) for r in records]
    await store_function.store(events, Context(RetryContext(2, 12)))  # type: ignore[arg-type]
    await store_function.store(events, Context(None))  # type: ignore[arg-type]
    assert seen == [Attempt(2, 12), Attempt(0, 0)]
    assert await dead_letters(settings) == []
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval(
            "SELECT count(*) FROM system_logs WHERE id = ANY($1)", [r["id"] for r in records]
        )
    finally:
        await conn.close()
    assert stored == 3
