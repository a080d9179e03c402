"""The store function's batches: bad records dead-lettered with their reasons while the rest is
stored, retries while PostgreSQL is away, dead letters on the last attempt, and exactly once
across a PostgreSQL restart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import asyncpg
import pytest

from shared import db, deadletter, migrate, sink, store
from shared.eventbatch import EventBatch
from shared.settings import Settings, get_settings, reset_settings
from shared.sink_policy import Attempt
from tests.conftest import free_port
from tests.store.conftest import OwnPostgres, body, dead_letters, record

MAX_RETRIES = 12


async def store_events(
    bodies: list[bytes], retry: int, max_retry: int, settings: Settings
) -> sink.StoreResult:
    """The store sink as the function calls it, on a batch of partition 0."""
    batch = EventBatch("logs", "0", bodies, list(range(len(bodies))))
    return await sink.store_events(settings, batch, Attempt(retry, max_retry))


async def _stored_ids(database_url: str, ids: list[str]) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT id FROM system_logs WHERE id = ANY($1)", ids)
    finally:
        await conn.close()
    return [r["id"] for r in rows]


async def test_bad_records_are_dead_lettered_with_reasons_and_the_rest_stored(
    settings: Settings, database_url: str
) -> None:
    good = [record() for _ in range(20)]
    nul = record(message="bad \u0000 byte")
    no_service = record(service=None)
    batch = [body(r) for r in good[:7]] + [body(nul), b"{not json"] + [body(r) for r in good[7:]]
    batch.insert(3, body(no_service))

    result = await store_events(batch, 0, MAX_RETRIES, settings)

    assert result == sink.StoreResult(received=23, stored=20, dead_lettered=3)
    assert sorted(await _stored_ids(database_url, [r["id"] for r in good])) == sorted(
        r["id"] for r in good
    )
    letters = await dead_letters(settings)
    assert all(d["sink"] == "postgres" and d["count"] == 1 for d in letters)
    reasons = {d["records"][0]["raw"]: d["reason"] for d in letters}
    assert set(reasons) == {body(nul).decode(), "{not json", body(no_service).decode()}
    assert "0x00" in reasons[body(nul).decode()]
    assert "not JSON" in reasons["{not json"]
    assert "service" in reasons[body(no_service).decode()]


async def test_a_redelivered_batch_stores_nothing_new(settings: Settings) -> None:
    batch = [body(record()) for _ in range(10)]
    first = await store_events(batch, 0, MAX_RETRIES, settings)
    again = await store_events(batch, 1, MAX_RETRIES, settings)
    assert (first.stored, again.stored, again.already_stored) == (10, 0, 10)
    assert await dead_letters(settings) == []


@pytest.fixture
async def unreachable(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/logs")
    reset_settings()
    await db.close()
    return get_settings()


async def test_postgres_unreachable_raises_so_the_batch_is_retried(unreachable: Settings) -> None:
    with pytest.raises(OSError):
        await store_events([body(record())], 3, MAX_RETRIES, unreachable)
    with pytest.raises(OSError):
        await store_events([body(record())], 5, -1, unreachable)
    assert await dead_letters(unreachable) == []


async def test_postgres_unreachable_on_the_last_attempt_dead_letters_the_batch(
    unreachable: Settings,
) -> None:
    batch = [body(record()) for _ in range(4)] + [b"[]"]
    result = await store_events(batch, MAX_RETRIES, MAX_RETRIES, unreachable)
    assert result == sink.StoreResult(received=5, stored=0, dead_lettered=5)
    (letter,) = await dead_letters(unreachable)
    assert letter["sink"] == "postgres" and letter["count"] == 5
    assert letter["reason"].startswith("postgres failed after 13 attempts")
    assert letter["attempts"] == MAX_RETRIES + 1
    assert [r["raw"] for r in letter["records"]] == [b.decode() for b in batch]
    assert letter["details"]["partition"] == "0" and letter["details"]["last_sequence"] == 4


@pytest.fixture
async def blob_down(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[int]]:
    """Blob Storage refusing every write; yields the number of dead letters tried."""
    tries: list[int] = []

    async def refuse(*args: object, **kwargs: object) -> str:
        tries.append(1)
        raise ConnectionError("blob storage down")

    monkeypatch.setattr(deadletter, "write", refuse)
    monkeypatch.setattr("shared.sink_policy.FIRST_DELAY_SECONDS", 0.05)
    yield tries


async def test_a_dead_letter_that_fails_raises_so_the_batch_is_retried(
    settings: Settings, blob_down: list[int]
) -> None:
    batch = [body(record()), b"{not json"]
    with pytest.raises(ConnectionError):
        await store_events(batch, 0, MAX_RETRIES, settings)
    assert len(blob_down) == 1


async def test_on_the_last_attempt_a_failing_dead_letter_is_tried_again_then_raises(
    unreachable: Settings, blob_down: list[int]
) -> None:
    patient = replace(unreachable, final_attempt_hold_seconds=0.3)
    with pytest.raises(ConnectionError):
        await store_events([body(record())], MAX_RETRIES, MAX_RETRIES, patient)
    assert len(blob_down) == 3  # after 0, 0.05 and 0.15 s; the next pause would pass 0.3 s


async def test_with_no_host_retries_a_refused_write_is_retried_in_the_invocation(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No retry policy on the function: the first "too many clients" is not the batch's last."""
    real = store.write
    calls: list[int] = []

    async def busy_once(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise asyncpg.TooManyConnectionsError("sorry, too many clients already")
        return await real(*args, **kwargs)

    monkeypatch.setattr(store, "write", busy_once)
    monkeypatch.setattr("shared.sink_policy.FIRST_DELAY_SECONDS", 0.05)
    good = [record() for _ in range(5)]
    patient = replace(settings, final_attempt_hold_seconds=10)
    result = await store_events([body(r) for r in good], 0, 0, patient)
    assert (result.stored, result.dead_lettered, len(calls)) == (5, 0, 2)
    assert len(await _stored_ids(database_url, [r["id"] for r in good])) == 5
    assert await dead_letters(settings) == []


async def _deliver(batch: list[bytes], settings: Settings) -> int:
    """Deliver one batch as the Functions runtime does: retry with backoff until it returns."""
    for attempt in range(MAX_RETRIES + 1):
        try:
            await store_events(batch, attempt, MAX_RETRIES, settings)
            return attempt
        except Exception:
            await asyncio.sleep(0.3)
    raise AssertionError("unreachable: the last attempt never raises")


@pytest.mark.slow
async def test_postgres_restart_mid_stream_stores_every_record_exactly_once(
    own_postgres: OwnPostgres, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await migrate.apply(own_postgres.url)
    monkeypatch.setenv("DATABASE_URL", own_postgres.url)
    reset_settings()
    await db.close()
    store.forget_partitions()
    restarted = get_settings()
    batches = [[body(record(service=f"svc-{n % 3}")) for _ in range(100)] for n in range(12)]
    ids = [uuid_of(b) for batch in batches for b in batch]

    async def outage() -> None:
        await asyncio.sleep(0.4)
        await asyncio.to_thread(own_postgres.stop)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(own_postgres.start)

    async def stream() -> list[int]:
        attempts = []
        for batch in batches:
            attempts.append(await _deliver(batch, restarted))
            await asyncio.sleep(0.1)
        return attempts

    attempts, _ = await asyncio.gather(stream(), outage())

    assert max(attempts) >= 1, "the outage should have made at least one batch retry"
    conn = await asyncpg.connect(own_postgres.url)
    try:
        stored = await conn.fetch("SELECT id FROM system_logs")
        counted = await conn.fetchval("SELECT sum(count) FROM log_counts_minute")
    finally:
        await conn.close()
    assert sorted(r["id"] for r in stored) == sorted(ids)
    assert counted == len(ids)
    assert await dead_letters(restarted) == []


def uuid_of(event_body: bytes) -> str:
    import orjson

    value: Any = orjson.loads(event_body)["id"]
    uuid.UUID(value)
    return str(value)
